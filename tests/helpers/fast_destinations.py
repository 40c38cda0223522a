"""Helpers for destination tests: changes to send, a running fake, a destination pointed at it, and
one whose retries are quick."""
from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any, Iterator, Optional

from fakes.server import FakeServer
from segwarehouse.sync.destinations import destination_for
from segwarehouse.sync.destinations.base import Destination
from segwarehouse.sync.http import Http, RateLimit
from segwarehouse.sync.records import Change, Subscription

AT = dt.datetime(2026, 11, 23, 3, 0, 0)


def change(identifier: Optional[str], kind: str = "entered", fields: Optional[dict[str, Any]] = None,
           run_id: str = "run-1", person_id: Any = None) -> Change:
    return Change(person_id if person_id is not None else identifier, identifier, kind, AT, run_id,
                  fields=dict(fields or {}))


def subscription(list_id: Optional[str], segment: str = "vip", destination: str = "dest") -> Subscription:
    return Subscription(segment, destination, list_id)


def serving(fake_module: ModuleType) -> Iterator[FakeServer]:
    """A running fake of a tests/fakes module, for a fixture: `yield from serving(fake_module)`."""
    with fake_module.make_fake() as server:
        yield server


def pointed_at(fake_module: ModuleType, fake: FakeServer, name: str, **overrides: Any) -> Destination:
    """A destination of the fake module's type with its test settings, sending to the running fake."""
    return destination_for(name, {**fake_module.settings(fake.base_url), "timeout": 2, **overrides})


def fast(destination: Destination, *, limit: Optional[RateLimit] = None, retry_scale: float = 0.05,
         max_attempts: int = 30) -> Destination:
    """Give the destination an Http client like its own (same base URL, headers, retry_after) but with
    millisecond backoff and the vendor's Retry-After scaled down, so retry paths run in test time."""
    original = destination.retry_after

    def scaled(response):
        wait = original(response)
        return None if wait is None else wait * retry_scale

    destination._clients[""] = Http(destination.base_url, headers=destination.headers(), auth=destination.auth(),
                                    timeout=float(destination.settings.get("timeout", 2)), limit=limit,
                                    retry_after=scaled, max_attempts=max_attempts, backoff=0.002,
                                    max_backoff=0.02)
    return destination
