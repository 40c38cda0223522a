"""Two local workarounds for the shared FakeServer base (reported, not changed here):

- its handler writes headers and body in separate sends, so without TCP_NODELAY every answer waits
  ~40 ms for a delayed ACK (Nagle): a sync of 1000 requests took 40 s instead of 1 s;
- serve_forever polls for shutdown every 0.5 s, so every test paid 0.5 s in teardown."""
from __future__ import annotations

import threading

from .server import FakeServer


def quicken(server: FakeServer) -> None:
    """Call at the end of a fake's __init__, before it is started."""
    server.httpd.RequestHandlerClass.disable_nagle_algorithm = True
    server.thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                     daemon=True)
