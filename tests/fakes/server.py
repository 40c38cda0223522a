"""The base of every fake vendor server: a real HTTP server on loopback that keeps its own state,
enforces auth, batch size and rate limit the way its vendor documents them, and injects faults on
demand (429, 500, timeouts, dropped connections). It answers at loopback speed (TCP_NODELAY: the
handler writes headers and body separately, and with Nagle's algorithm the body would wait ~40 ms for
the client's delayed ACK; a 0.02 s shutdown poll instead of 0.5 s), and journals every request before
its answer leaves, so a test reading `log` right after a call sees that call. Subclasses declare routes:

    class FakeThing(FakeServer):
        @route("POST", r"/lists/(?P<list_id>[^/]+)/members")
        def add(self, request, list_id):
            return Response(200, {"ok": True})
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    target: str = ""  # the request target exactly as received (path and query, undecoded)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Faults:
    """Fractions of requests answered with a fault instead of normally (drawn per request)."""

    too_many: float = 0.0   # 429 with the vendor's rate-limit response
    server_error: float = 0.0  # 500
    timeout: float = 0.0    # processed, then answered after the client has given up (resend must be harmless)
    drop: float = 0.0       # connection closed before processing, no response
    timeout_seconds: float = 2.0
    seed: int = 0


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a timeout, a killed sync) is part of the tests, not an error to print."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def route(method: str, pattern: str) -> Callable:
    def mark(fn: Callable) -> Callable:
        fn.route = (method, re.compile(pattern + r"/?$"))
        return fn
    return mark


def vars_of(cls: type) -> dict[str, Any]:
    """Class attributes along the MRO, subclasses winning (without triggering properties)."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        found.update(vars(klass))
    return found


class FakeServer:
    rate: Optional[tuple[int, float]] = None  # (requests, per seconds), fixed windows like the vendors
    # vendors whose endpoint families have limits of their own (e.g. 10/s and 150/min): family ->
    # fixed windows that must all allow a request; family_of() says which family a request is in
    family_rates: dict[str, tuple[tuple[int, float], ...]] = {}

    def __init__(self, faults: Optional[Faults] = None):
        self.faults = faults or Faults()
        self.random = random.Random(self.faults.seed)
        self.lock = threading.RLock()  # handlers mutate state under this lock
        # (method, path, status, or None when the connection was dropped) of every request, journaled
        # before the answer is written
        self.log: list[tuple[str, str, Optional[int]]] = []
        self.window_start, self.window_count = time.monotonic(), 0
        self.windows: dict[tuple[str, int], list[float]] = {}  # (family, window) -> [start, count]
        self.routes = [(fn.route[0], fn.route[1], getattr(self, name))
                       for name, fn in vars_of(type(self)).items() if hasattr(fn, "route")]
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    # --- to override ---------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return True

    def unauthorized(self) -> Response:
        return Response(401, {"error": "unauthorized"})

    def rate_limited(self, reset_in: float) -> Response:
        return Response(429, {"error": "rate limited"}, {"Retry-After": str(max(1, round(reset_in)))})

    def rate_headers(self, remaining: int, reset_in: float) -> dict[str, str]:
        """Headers the vendor puts on every response (none by default)."""
        return {}

    def family_of(self, request: Request) -> Optional[str]:
        """The endpoint family of a request with limits in `family_rates` (None: the server's `rate`)."""
        return None

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def without_window(self):
        """This server without its rate window, for end-to-end sync tests (tests that want one set
        `rate`); injected 429s still come through `faults`."""
        self.rate = None
        self.family_rates = {}
        return self

    def requests_to(self, method: str, pattern: str) -> list[tuple[str, str, Optional[int]]]:
        with self.lock:
            return [entry for entry in self.log if entry[0] == method and re.search(pattern, entry[1])]

    def statuses(self) -> list[Optional[int]]:
        with self.lock:
            return [status for _, _, status in self.log]

    # --- dispatch ------------------------------------------------------------------------------
    def _family_rate(self, family: str) -> tuple[bool, int, float]:
        """Like _rate, over every window of the family: refused when any is full."""
        now = time.monotonic()
        states = []
        for index, (limit, per) in enumerate(self.family_rates[family]):
            state = self.windows.setdefault((family, index), [now, 0])
            if now - state[0] >= per:
                state[0], state[1] = now, 0
            states.append((state, limit, per - (now - state[0])))
        full = [reset for state, limit, reset in states if state[1] >= limit]
        if full:
            return False, 0, max(full)
        for state, _, _ in states:
            state[1] += 1
        remaining, reset_in = min((limit - state[1], reset) for state, limit, reset in states)
        return True, remaining, reset_in

    def _rate(self) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds to reset) in the current fixed window."""
        if not self.rate:
            return True, 1_000_000, 0.0
        limit, per = self.rate
        now = time.monotonic()
        if now - self.window_start >= per:
            self.window_start, self.window_count = now, 0
        reset_in = per - (now - self.window_start)
        if self.window_count >= limit:
            return False, 0, reset_in
        self.window_count += 1
        return True, limit - self.window_count, reset_in

    def dispatch(self, request: Request) -> Optional[Response]:
        """The response to send, or None to drop the connection; journaled before it is sent."""
        response = self._answer(request)
        with self.lock:
            self.log.append((request.method, request.path, response.status if response else None))
        return response

    def _answer(self, request: Request) -> Optional[Response]:
        with self.lock:
            draw = self.random.random()
            f = self.faults
            if draw < f.drop:
                return None
            draw -= f.drop
            family = self.family_of(request)
            if family is not None and family in self.family_rates:
                allowed, remaining, reset_in = self._family_rate(family)
            else:
                allowed, remaining, reset_in = self._rate()
            if not allowed or draw < f.too_many:
                return self.rate_limited(reset_in if not allowed else 1.0)
            draw -= f.too_many
            if draw < f.server_error:
                return Response(500, {"error": "internal error (injected)"})
            draw -= f.server_error
            slow = draw < f.timeout
            if not self.authorized(request):
                response = self.unauthorized()
            else:
                response = self._route(request)
            response.headers = {**self.rate_headers(remaining, reset_in), **response.headers}
        if slow:
            time.sleep(f.timeout_seconds)
        return response

    def _route(self, request: Request) -> Response:
        for method, pattern, fn in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                try:
                    return fn(request, **match.groupdict())
                except (ValueError, KeyError, TypeError) as error:  # malformed body: the vendor's 400
                    return Response(400, {"error": f"bad request: {error}"})
        return Response(404, {"error": f"no route {request.method} {request.path}"})

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, url.path, parse_qs(url.query),
                                  {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length),
                                  self.path)
                response = server.dispatch(request)
                if response is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                body = response.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                    response.headers.setdefault("Content-Type", "application/json")
                body = body.encode() if isinstance(body, str) else (body or b"")
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler
