"""Literal values of the condition language: durations, timestamps, patterns' escapes."""
from __future__ import annotations

import datetime as dt
import re

from .model import Duration

MAX_DURATION = dt.timedelta(days=365 * 200)  # beyond this, as_of - D leaves the calendar
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_duration(value) -> Duration | None:
    """`30d` -> Duration(30, 'd'); None when it is not a duration."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if not m:
        return None
    duration = Duration(int(m.group(1)), m.group(2))
    return duration if duration.delta <= MAX_DURATION else None


def to_utc(value) -> dt.datetime | None:
    """A YAML date/datetime or ISO-8601 string as a naive UTC datetime (a bare date is midnight UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and _ISO.match(value.strip()):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return to_utc(parsed)
    return None


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_scalar(value) -> bool:
    return value is not None and (isinstance(value, (str, int, float, bool, dt.date)))
