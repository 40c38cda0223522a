"""Make a FakeServer answer at loopback speed (a workaround kept out of the shared server.py):

- its handler writes the status line and headers, then the body, in separate small writes; with Nagle's
  algorithm on, the body waits for the client's delayed ACK, ~40 ms per request. TCP_NODELAY fixes it.
- serve_forever polls for shutdown every 0.5 s, so every test paid half a second on teardown.

Not a fake itself: it defines no TYPE, so modules that look for fakes skip it."""
from __future__ import annotations

import threading

from .server import FakeServer


def quicken(fake: FakeServer) -> None:
    fake.httpd.RequestHandlerClass.disable_nagle_algorithm = True
    fake.thread = threading.Thread(target=fake.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
