"""Literal values of the condition language: durations, timestamps, patterns' escapes."""
from __future__ import annotations

import datetime as dt
import math
import re

from .model import Duration

MAX_DURATION = dt.timedelta(days=365 * 200)  # beyond this, as_of - D leaves the calendar
# Dates and times outside these years are refused: windows reach 200 years either side of a date
# (MAX_DURATION), and Python's calendar, like Snowflake's, ends at year 1 and year 9999.
MIN_TIME, MAX_TIME = dt.datetime(1000, 1, 1), dt.datetime(9000, 1, 1)
TIME_EXPECTED = "an ISO-8601 date or date/time between 1000-01-01 and 8999-12-31"
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
    """A YAML date/datetime or ISO-8601 string as a naive UTC datetime (a bare date is midnight UTC);
    None when it is not one, or lies outside [MIN_TIME, MAX_TIME)."""
    if isinstance(value, str):
        if not _ISO.match(value.strip()):
            return None
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            if not MIN_TIME.year < value.year < MAX_TIME.year:  # the shift to UTC could leave the calendar
                return None
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    elif isinstance(value, dt.date):
        value = dt.datetime(value.year, value.month, value.day)
    else:
        return None
    return value if MIN_TIME <= value < MAX_TIME else None


def utc_text(moment: dt.datetime) -> str:
    """A naive UTC datetime (how as_of is kept) as ISO-8601 with its zone said: 2026-11-01T00:00:00Z."""
    return moment.isoformat() + "Z"


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite(value) -> bool:
    """False for .inf, -.inf and .nan: no SQL literal means them on every engine, and sqlglot would
    print them as the bare words inf and nan, which read as column names."""
    return not isinstance(value, float) or math.isfinite(value)


def is_scalar(value) -> bool:
    return value is not None and (isinstance(value, (str, int, float, bool, dt.date)))


def printable(text: str) -> str:
    """Text safe to show on one line or in an SQL comment: control characters, line breaks and bytes
    that are not UTF-8 (a file name's surrogate escapes) become backslash escapes."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)
