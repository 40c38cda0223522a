"""One HTTP request to a destination: at no more than its documented rate, retried with exponential
backoff and jitter on timeouts, dropped connections, 408, 429 and 5xx, honouring Retry-After (or the
vendor's reset header, read by the destination). Everything else is returned to the destination,
which knows what its vendor's 200s and 4xx mean. Secrets live in headers and are never put in errors."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..errors import SegwarehouseError

if TYPE_CHECKING:
    import httpx

RETRYABLE_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


class GaveUp(SegwarehouseError):
    """A request still failed after every retry: the batch is not acknowledged, the cursor stays."""


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per_seconds: float = 1.0


class TokenBucket:
    """Allows `requests` per `per_seconds` on average, with bursts up to `requests`."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = limit.requests / limit.per_seconds
        self.capacity = float(limit.requests)
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self.paused_until = 0.0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        with self.lock:
            while True:
                now = self.clock()
                if now < self.paused_until:
                    self.sleep(self.paused_until - now)
                    continue
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1 - 1e-9:  # tolerance: float refills land a hair below 1
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                self.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """The server said 'slow down': nobody sends until then, and the burst starts empty."""
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            self.tokens = 0.0


@dataclass
class Stats:
    requests: int = 0
    retried: int = 0


class Http:
    """A keep-alive client bound to one destination's base URL, credentials and rate limit."""

    def __init__(self, base_url: str, *, headers: Optional[dict[str, str]] = None,
                 auth: Optional[tuple[str, str]] = None, timeout: float = 30.0,
                 limit: Optional[RateLimit] = None,
                 retry_after: Callable[[httpx.Response], Optional[float]] = lambda r: None,
                 max_attempts: int = 8, backoff: float = 0.5, max_backoff: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep):
        try:
            import httpx  # imported when a destination first sends: loading a project stays fast
        except ImportError:
            raise SegwarehouseError("HTTP destinations need httpx (a dependency of segwarehouse): "
                                    "pip install 'httpx>=0.27'") from None

        self.client = httpx.Client(base_url=base_url, headers=headers, auth=auth, timeout=timeout)
        self.bucket = TokenBucket(limit, sleep=sleep) if limit else None
        self.retry_after = retry_after
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.sleep = sleep
        self.stats = Stats()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The first response that is not worth retrying; GaveUp after max_attempts."""
        import httpx

        problem = ""
        for attempt in range(self.max_attempts):
            if self.bucket:
                self.bucket.acquire()
            self.stats.requests += 1
            wait: Optional[float] = None
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.TransportError as error:
                problem = f"connection failed ({type(error).__name__})"
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                problem = f"HTTP {response.status_code}"
                wait = self.retry_after(response)
                if response.status_code == 429 and wait is not None and self.bucket:
                    self.bucket.pause(wait)
            if attempt + 1 == self.max_attempts:
                break
            self.stats.retried += 1
            self.sleep(wait if wait is not None else self._backoff(attempt))
        raise GaveUp(f"{method} {self.client.base_url.path.rstrip('/')}{path}: {problem} "
                     f"after {self.max_attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so many clients do not retry in lockstep."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt))

    def close(self) -> None:
        self.client.close()


def retry_after_header(response: httpx.Response) -> Optional[float]:
    """Seconds from a Retry-After header given in seconds (the form these vendors use)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
