"""A FakeServer base for vendor fakes that fixes three things of the shared server.py locally:

- its handler writes the status line and headers, then the body, in separate small writes; with Nagle's
  algorithm on, the body waits for the client's delayed ACK, ~40 ms per request. TCP_NODELAY fixes it.
- serve_forever polls for shutdown every 0.5 s, so every test paid half a second on teardown.
- `log` is appended after the response is written, so a test reading it right after a call can miss
  that call. `requests_to` here reads a journal written before the response leaves.

Not a fake itself: it defines no TYPE, so code that looks for fake modules skips it."""
from __future__ import annotations

import re
import threading
from typing import Optional

from .server import FakeServer, Faults, Request, Response


class LoopbackFake(FakeServer):
    def __init__(self, faults: Optional[Faults] = None):
        super().__init__(faults)
        self.journal: list[tuple[str, str, Optional[int]]] = []  # (method, path, status or None if dropped)
        self.httpd.RequestHandlerClass.disable_nagle_algorithm = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def dispatch(self, request: Request) -> Optional[Response]:
        response = super().dispatch(request)
        with self.lock:
            self.journal.append((request.method, request.path, response.status if response else None))
        return response

    def requests_to(self, method: str, pattern: str) -> list[tuple[str, str, int]]:
        with self.lock:
            return [e for e in self.journal if e[0] == method and re.search(pattern, e[1])]  # type: ignore[misc]

    def statuses(self) -> list[Optional[int]]:
        with self.lock:
            return [status for _, _, status in self.journal]
