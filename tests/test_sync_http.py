"""The HTTP layer every destination shares, against a real fake server on loopback."""
import time

import pytest

from fakes.server import FakeServer, Faults, Response, route
from segwarehouse.sync.http import GaveUp, Http, RateLimit, TokenBucket


class Echo(FakeServer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.received = []

    @route("POST", r"/items")
    def post(self, request):
        self.received.append(request.json()["n"])
        return Response(200, {"ok": True})


def test_retries_injected_faults_until_every_request_lands():
    with Echo(faults=Faults(too_many=0.15, server_error=0.15, drop=0.1, timeout=0.05,
                            timeout_seconds=0.3, seed=3)) as fake:
        http = Http(fake.base_url, timeout=0.2, backoff=0.01, max_backoff=0.05, max_attempts=20,
                    retry_after=lambda r: 0.01)
        for n in range(60):
            assert http.request("POST", "/items", json={"n": n}).status_code == 200
        assert http.stats.retried > 0
        # a timed-out request may have been processed and sent again: resends are allowed, losses are not
        assert set(fake.received) == set(range(60))


def test_gives_up_after_max_attempts_without_leaking_credentials():
    with Echo(faults=Faults(server_error=1.0)) as fake:
        http = Http(fake.base_url, headers={"Authorization": "Bearer s3cret"}, backoff=0.001, max_attempts=3)
        with pytest.raises(GaveUp) as raised:
            http.request("POST", "/items", json={"n": 1})
        assert "HTTP 500 after 3 attempts" in str(raised.value)
        assert "s3cret" not in str(raised.value)
        assert len(fake.log) == 3


def test_token_bucket_holds_the_documented_rate():
    clock = [0.0]
    bucket = TokenBucket(RateLimit(10, 1.0), clock=lambda: clock[0],
                         sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    for _ in range(110):
        bucket.acquire()
    # 10 at once (the burst), then 100 more at 10/s
    assert clock[0] == pytest.approx(10.0, abs=0.01)


def test_server_rate_limit_is_honoured_through_retry_after():
    class Limited(Echo):
        rate = (5, 0.5)

    with Limited() as fake:
        http = Http(fake.base_url, retry_after=lambda r: float(r.headers["Retry-After"]) / 10)
        start = time.monotonic()
        for n in range(12):
            assert http.request("POST", "/items", json={"n": n}).status_code == 200
        assert sorted(fake.received) == list(range(12))
        assert any(status == 429 for _, _, status in fake.log)
        assert time.monotonic() - start >= 0.5  # at least one window had to pass
