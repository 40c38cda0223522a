"""The values the sync engine hands to destinations. Plain data; no I/O here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

# What a destination is asked to do with a batch of changes.
ADD = "add"          # put the people in the list (entered, or updated: fields ride along)
REMOVE = "remove"    # take them out of the list (exited)
EVENT = "event"      # send an "Entered segment" / "Exited segment" event that starts flows


@dataclass(frozen=True)
class Change:
    """A person's net change for one segment since the destination's cursor (the latest change wins)."""

    person_id: Any
    identifier: Optional[str]  # the value the destination knows the person by (key or e.g. email)
    change: str                # 'entered' | 'exited' | 'updated'
    changed_at: dt.datetime
    run_id: str
    split: Optional[str] = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscription:
    """One `sync:` entry of a segment, resolved against its destination."""

    segment: str
    destination: str
    list: Optional[str]
    on_enter: str = "add"     # add | event
    on_exit: str = "remove"   # remove | event | ignore
    splits: Optional[tuple[str, ...]] = None    # only members in these split groups count as members
    min_removals: Optional[int] = None          # the mass-removal guard's settings for this entry
    max_removal_ratio: Optional[float] = None


@dataclass
class Outcome:
    """What the destination acknowledged for one batch: everything except the rejected indexes."""

    rejected: dict[int, str] = field(default_factory=dict)  # index in the batch -> the vendor's reason


class Rejected(Exception):
    """The destination refused the whole batch (a 4xx that is not a rate limit): split it to find
    the bad records, or record the single record as rejected."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
