"""Calendar periods (`during: {unit, offset}`, SPEC section 4 "Calendar windows") as UTC instants.

as_of is a constant when a plan is built, so each period is resolved here, in Python, into the UTC
instants [start, end) of its first and last local dates: the SQL then compares a timestamp with two
UTC literals, the same on every engine and right across DST changes, and a stream window's bound is
pushed into scans like `since`/`until`. A time lies in the period when its local date (time_zone)
lies in the period's dates, so a DST day is 23 or 25 hours long and a repeated hour stays in its date.

A date begins at the first instant whose local date is that date: local midnight, the earlier one
when midnight is repeated, the end of the gap when a DST change skips it. Local dates go back in
time in no zone of the database from 1970 to 2037 but one (Antarctica/Casey, 2010-03-05, a 3-hour
step back over midnight), so the instants of a run of dates are one interval."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlglot import exp

from ..spec import model as m
from .literals import timestamp

UTC = dt.timezone.utc
MONTHS = {"month": 1, "quarter": 3, "year": 12}
SEARCH = dt.timedelta(days=2)  # a date begins within two days of its midnight read at any UTC offset


def local(instant: dt.datetime, zone: str) -> dt.datetime:
    """A naive UTC time as the naive wall-clock time of `zone`."""
    return instant.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def period_start(day: dt.date, unit: str, offset: int) -> dt.date:
    """The first date of the `unit` period holding `day`, moved by `offset` periods (weeks run
    Monday to Sunday); the period ends where the one at offset + 1 starts. OverflowError beyond
    the calendar's years 1-9999."""
    if unit == "day":
        return day + dt.timedelta(days=offset)
    if unit == "week":
        return day - dt.timedelta(days=day.weekday()) + dt.timedelta(weeks=offset)
    months = MONTHS[unit]
    index = (day.year * 12 + day.month - 1) // months + offset  # periods since January of year 0
    year, month = divmod(index * months, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise OverflowError(f"year {year}")
    return dt.date(year, month + 1, 1)


def day_start(day: dt.date, zone: str) -> dt.datetime:
    """The first instant (naive UTC) whose local date in `zone` is `day` or later."""
    midnight = dt.datetime.combine(day, dt.time())
    if zone == "UTC":
        return midnight
    low, high = midnight - SEARCH, midnight + SEARCH  # local(low) < day <= local(high)
    # Bisection over microseconds: exact for any offset and any transition, at most 38 steps.
    while high - low > dt.timedelta(microseconds=1):
        middle = low + (high - low) // 2
        if local(middle, zone).date() >= day:
            high = middle
        else:
            low = middle
    return high


@lru_cache(maxsize=256)
def bounds(period: m.CalendarPeriod, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the period in naive UTC. A period beyond the calendar's years 1-9999 is
    clamped to its edge: one wholly before year 1 is empty."""
    zone = period.time_zone
    edge_low, edge_high = dt.datetime.min + SEARCH, dt.datetime.max - SEARCH

    def start_of(day: dt.date) -> dt.datetime:
        try:
            return max(edge_low, min(edge_high, day_start(day, zone)))
        except OverflowError:  # within two days of the calendar's first or last date
            return edge_low if day.year == dt.MINYEAR else edge_high
    day = local(as_of, zone).date()
    try:
        first = start_of(period_start(day, period.unit, period.offset))
    except OverflowError:  # before year 1 (offsets are <= 0): nothing lies in it
        return edge_low, edge_low
    try:
        end = start_of(period_start(day, period.unit, period.offset + 1))
    except OverflowError:  # the period holding as_of in year 9999
        end = edge_high
    return first, end


def local_bounds(period: m.CalendarPeriod, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The period's [start, end) as the zone's wall-clock times (explain shows these)."""
    start, end = bounds(period, as_of)
    return local(start, period.time_zone), local(end, period.time_zone)


def in_period(stamp: exp.Expression, period: m.CalendarPeriod, as_of: dt.datetime) -> exp.Expression:
    """start <= stamp < end and stamp <= as_of (times after as_of never match: `offset: 0` is "so
    far in this period"), with UTC literals; NULL when stamp is NULL."""
    start, end = bounds(period, as_of)
    upper = (exp.LT(this=stamp.copy(), expression=timestamp(end)) if end <= as_of
             else exp.LTE(this=stamp.copy(), expression=timestamp(as_of)))
    return exp.and_(exp.GTE(this=stamp, expression=timestamp(start)), upper, copy=False)
