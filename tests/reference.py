"""A small, pure-Python reference evaluator of SPEC section 4 (Conditions).

Written from the SPEC, not from the engine: it takes a condition as parsed YAML (plain dicts and
lists), people rows and stream rows (dicts), and one as_of, and returns the set of member keys.

    members({"attribute": "plan", "equals": "pro"}, people=[{"user_id": 1, "plan": "pro"}],
            as_of=datetime(2026, 11, 1))  ->  {1}

Decisions the SPEC leaves open, taken as the engine takes them:
  * a backslash before a character other than | + * \\ is a literal backslash;
  * gt/gte/lt/lte/between compare numbers or dates/times (an ISO string literal is a date/time);
  * a value that cannot be read as the literal's type compares as NULL, so equals/in/contains are
    false for it and not_equals/not_in/not_contains are true;
  * ignore_case lower-cases both sides;
  * a JSON property compared with a number: a JSON number or a numeric string ("12.5") is read as a
    number, anything else ("n/a", true, an object) is not; compared with a boolean: JSON true/false;
  * numbers compare exactly, as Python compares int and float (integers beyond 2**53 included);
  * text that is not JSON at all, in a properties column kept as text, has no readable property.

Second edition (SPEC section 4, extended): decisions where the SPEC leaves room.
  * the default `count: {gte: 1}` applies only when a stream condition has no aggregate key at all:
    SPEC rule 4 lists the first edition's keys, and nth, distinct, distinct_days and most_frequent
    are aggregate keys too (so `distinct: {equals: 0}` includes people with no rows);
  * a calendar period is taken on local wall-clock time: a time is converted to time_zone and lies
    in the period when its local date is in [first local date, first date of the next period); so
    on a DST day a "day" is 23 or 25 hours, and an hour repeated by a fall-back stays in its date;
  * `during` omits `offset`: 0 (the current period); it is also an operator of `where` filters and
    of first/last/nth (a time compared with a period);
  * the text form of a value (distinct, most_frequent, same): a string is itself; an integer its
    decimal digits; a float Python's shortest repr when that has no exponent (12.5, 0.4); JSON
    true/false "true"/"false"; so "7" and 7 are one distinct value;
  * after/before read the people column as a time (a timestamp, or ISO-8601 text); a value that is
    not a time is NULL, and a person whose value is NULL has no matching rows;
  * a sequence step without `within_after` has no upper bound; a negative last step without
    `within_after` holds while no later row of that step exists up to as_of;
  * `split:` on a reference holds for members of the segment whose split group is listed; groups
    come from SPEC section 6's bucket formula over str(key);
  * most_frequent ties go to the smallest text in UTF-8 byte order (= code point order).

What the reference does not define (it raises Undefined): reading a non-string value (a number,
a date, a JSON object) as text, the text form of a date, a JSON object or list or a float written
with an exponent, and `sql:` conditions without a Python twin passed in `sql=`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo
from typing import Any, Callable, Iterable, Mapping, Optional

GROUPS = ("all", "any", "none", "not")
WINDOW_KEYS = ("within", "older_than", "since", "until", "during", "after", "before")
AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "nth", "distinct", "distinct_days",
              "most_frequent")
STEP_ONLY_KEYS = ("within_after", "same", "performed")
DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
NUMERIC_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INTEGER_TEXT = re.compile(r"^[+-]?\d+$")


class Undefined(Exception):
    """The reference does not define this case; generators must not produce it."""


@dataclass(frozen=True)
class StreamDef:
    table_key: str            # the stream's `key` column
    timestamp: str
    name: Optional[str] = None
    properties: Optional[str] = None


DEFAULT_STREAMS = {"event": StreamDef("user_id", "occurred_at", "event_name", "properties")}


# --- values -----------------------------------------------------------------------------------------

def duration(text: str) -> dt.timedelta:
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return dt.timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def timestamp(value: Any) -> Optional[dt.datetime]:
    """A date/time as a naive UTC datetime (a bare date is midnight); None when it is not one."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return timestamp(dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def kind_of(literal: Any) -> str:
    """The type a comparison literal keeps from YAML."""
    if isinstance(literal, bool):
        return "bool"
    if is_number(literal):
        return "number"
    if isinstance(literal, (dt.date, dt.datetime)):
        return "time"
    if isinstance(literal, str):
        return "text"
    raise Undefined(f"literal {literal!r}")


def read(value: Any, kind: str) -> Any:
    """`value` read as `kind`; None when it is NULL or can't be read as that type."""
    if value is None:
        return None
    if kind == "number":
        if is_number(value):
            return value
        if isinstance(value, str) and NUMERIC_TEXT.match(value):
            return int(value) if INTEGER_TEXT.match(value) else float(value)  # exact for large integers
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "time":
        return timestamp(value) if isinstance(value, (str, dt.date, dt.datetime)) else None
    if kind == "text":
        if isinstance(value, str):
            return value
        raise Undefined(f"{value!r} read as text")
    raise AssertionError(kind)


def ordered_literal(literal: Any) -> tuple[str, Any]:
    """gt/gte/lt/lte/between literals: a number, or an ISO date/time (even when written as a string)."""
    if is_number(literal):
        return "number", literal
    stamp = timestamp(literal)
    if stamp is None:
        raise Undefined(f"order literal {literal!r}")
    return "time", stamp


# --- patterns ---------------------------------------------------------------------------------------

STAR = object()


def parse_pattern(text: str, plus_joins: bool) -> list[list[list]]:
    """Alternatives (split on |) of parts (split on +, when plus_joins) of tokens (chars and STAR)."""
    alternatives: list[list[list]] = [[[]]]
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "|+*\\":
            alternatives[-1][-1].append(text[i + 1])
            i += 2
            continue
        if c == "|":
            alternatives.append([[]])
        elif c == "+" and plus_joins:
            alternatives[-1].append([])
        elif c == "*":
            alternatives[-1][-1].append(STAR)
        else:
            alternatives[-1][-1].append(c)
        i += 1
    return alternatives


def _regex(tokens: list) -> str:
    return "".join(".*" if t is STAR else re.escape(t) for t in tokens)


def contains(value: str, pattern: str) -> bool:
    """Customer.io `contains`: some alternative whose parts all occur somewhere in value."""
    return any(all(re.search(_regex(part), value, re.DOTALL) for part in alternative)
               for alternative in parse_pattern(pattern, plus_joins=True))


def glob(value: str, pattern: str) -> bool:
    """Stream names: some alternative matches the whole value; `+` is an ordinary character."""
    return any(re.fullmatch(_regex(alternative[0]), value, re.DOTALL)
               for alternative in parse_pattern(pattern, plus_joins=False))


# --- operators --------------------------------------------------------------------------------------

def _equal(value: Any, literal: Any, ignore_case: bool) -> Optional[bool]:
    kind = kind_of(literal)
    if kind == "time":
        literal = timestamp(literal)
    v = read(value, kind)
    if v is None:
        return None
    if kind == "text" and ignore_case:
        return v.lower() == literal.lower()
    return v == literal


def _text(value: Any, ignore_case: bool) -> Optional[str]:
    v = read(value, "text")
    return v.lower() if v is not None and ignore_case else v


def holds(op: str, literal: Any, value: Any, as_of: dt.datetime, ignore_case: bool = False,
          time_zone: str = "UTC") -> bool:
    """One operator of the attribute table on a value (None is NULL), with its NULL rule."""
    if op == "during":
        t = read(value, "time")
        return t is not None and t <= as_of and in_period(t, literal, as_of, time_zone)
    if op == "exists":
        return (value is not None) == literal
    if op in ("equals", "in"):
        return any(_equal(value, x, ignore_case) is True for x in (literal if op == "in" else [literal]))
    if op in ("not_equals", "not_in"):
        return not any(_equal(value, x, ignore_case) is True for x in (literal if op == "not_in" else [literal]))
    if op in ("gt", "gte", "lt", "lte", "between"):
        bounds = [ordered_literal(x) for x in (literal if op == "between" else [literal])]
        v = read(value, bounds[0][0])
        if v is None:
            return False
        if op == "between":
            return bounds[0][1] <= v <= bounds[1][1]
        x = bounds[0][1]
        return {"gt": v > x, "gte": v >= x, "lt": v < x, "lte": v <= x}[op]
    if op in ("within", "older_than", "within_next"):
        t = read(value, "time")
        if t is None:
            return False
        d = duration(literal)
        if op == "within":
            return as_of - d < t <= as_of
        if op == "older_than":
            return t <= as_of - d
        return as_of < t <= as_of + d
    if op in ("contains", "not_contains"):
        v = _text(value, ignore_case)
        if v is None:
            return op == "not_contains"
        found = contains(v, literal.lower() if ignore_case else literal)
        return found if op == "contains" else not found
    if op in ("starts_with", "ends_with"):
        v = _text(value, ignore_case)
        if v is None:
            return False
        s = literal.lower() if ignore_case else literal
        return v.startswith(s) if op == "starts_with" else v.endswith(s)
    if op == "matches":
        v = read(value, "text")
        return v is not None and re.search(literal, v) is not None
    raise Undefined(f"operator {op!r}")


def all_ops_hold(ops: Mapping[str, Any], value: Any, as_of: dt.datetime, time_zone: str = "UTC") -> bool:
    """Several operators in one mapping must all hold; `ignore_case` modifies them."""
    ignore_case = ops.get("ignore_case") is True
    return all(holds(op, literal, value, as_of, ignore_case, time_zone)
               for op, literal in ops.items() if op != "ignore_case")


def aggregate_holds(ops: Mapping[str, Any], value: Any, as_of: dt.datetime, time_zone: str = "UTC") -> bool:
    """An aggregate of no rows (NULL) fails every comparison (SPEC 4, stream rule 3)."""
    if value is None:
        return all(op == "exists" and literal is False for op, literal in ops.items())
    return all_ops_hold(ops, value, as_of, time_zone)


# --- second edition: calendar periods, text forms, split groups ---------------------------------------

def local(t: dt.datetime, time_zone: str) -> dt.datetime:
    """A naive UTC time as the wall-clock time of `time_zone` (naive)."""
    return t.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def period_of(day: dt.date, unit: str, offset: int) -> tuple[dt.date, dt.date]:
    """[first date, first date after) of the `unit` period holding `day`, moved by `offset` periods."""
    if unit == "day":
        start = day + dt.timedelta(days=offset)
        return start, start + dt.timedelta(days=1)
    if unit == "week":  # Monday to Sunday
        start = day - dt.timedelta(days=day.weekday()) + dt.timedelta(weeks=offset)
        return start, start + dt.timedelta(weeks=1)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = (day.year * 12 + day.month - 1) // months + offset  # periods since year 0

    def first(i: int) -> dt.date:
        return dt.date((i * months) // 12, (i * months) % 12 + 1, 1)
    return first(index), first(index + 1)


def in_period(t: dt.datetime, period: Mapping[str, Any], as_of: dt.datetime, time_zone: str) -> bool:
    """`during: {unit, offset}`: t's local date lies in the period (the one holding as_of, moved by offset)."""
    offset = period.get("offset", 0)
    if offset > 0:
        raise Undefined(f"offset {offset}")
    start, end = period_of(local(as_of, time_zone).date(), period["unit"], offset)
    return start <= local(t, time_zone).date() < end


def text_form(value: Any) -> Optional[str]:
    """The text form of a value (distinct, most_frequent, same); None for NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and "e" not in repr(value) and value == value and abs(value) != float("inf"):
        return repr(value)
    raise Undefined(f"text form of {value!r}")


def split_group(splits: Mapping[str, Any], salt: str, key: Any) -> Optional[str]:
    """SPEC section 6: bucket = int(md5_hex(salt + ":" + str(key))[0:8], 16) % 100; groups take buckets
    in the order listed."""
    bucket = int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[0:8], 16) % 100
    upper = 0
    for group, percent in splits["groups"].items():
        upper += percent
        if bucket < upper:
            return group
    return None


# --- the evaluator ----------------------------------------------------------------------------------

def path_value(row: Mapping[str, Any], path: str) -> Any:
    """`column` or `column.a.b` (a JSON path; the column holds a dict or JSON text). JSON null, a missing
    key and text that is not JSON at all are NULL."""
    column, *keys = path.split(".")
    value = row.get(column)
    if keys and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class Evaluator:
    def __init__(self, people: list[dict], streams: Optional[Mapping[str, list[dict]]] = None, *,
                 as_of: dt.datetime, key: str = "user_id",
                 stream_defs: Optional[Mapping[str, StreamDef]] = None,
                 segments: Optional[Mapping[str, dict]] = None,
                 sql: Optional[Mapping[str, Callable[[dict], Optional[bool]]]] = None,
                 time_zone: str = "UTC", splits: Optional[Mapping[str, dict]] = None):
        """segments: name -> condition; splits: name -> {"salt" (default: the name), "groups": {g: %}}."""
        self.people = people
        self.streams = streams or {}
        self.as_of = timestamp(as_of)
        self.key = key
        self.stream_defs = dict(DEFAULT_STREAMS if stream_defs is None else stream_defs)
        self.segments = segments or {}
        self.sql = sql or {}
        self.time_zone = time_zone
        self.splits = splits or {}

    def members(self, condition: dict) -> set:
        return {person[self.key] for person in self.people if self.holds(condition, person)}

    def holds(self, c: dict, person: dict) -> bool:
        if not isinstance(c, dict) or not c:
            raise Undefined(f"condition {c!r}")
        if "all" in c:
            return all(self.holds(x, person) for x in c["all"])
        if "any" in c:
            return any(self.holds(x, person) for x in c["any"])
        if "none" in c:
            return not any(self.holds(x, person) for x in c["none"])
        if "not" in c:
            return not self.holds(c["not"], person)
        if "at_least" in c:
            return sum(self.holds(x, person) for x in c["of"]) >= c["at_least"]
        if "sequence" in c:
            return self.sequence_holds(c["sequence"], person)
        if "attribute" in c:
            ops = {k: v for k, v in c.items() if k != "attribute"}
            return all_ops_hold(ops, person.get(c["attribute"]), self.as_of, self.time_zone)
        if "segment" in c:
            name = c["segment"]
            if "split" in c:
                splits = self.splits[name]
                group = split_group(splits, str(splits.get("salt", name)), person[self.key])
                if group not in c["split"]:
                    return False
            return self.holds(self.segments[name], person)
        if "sql" in c:
            if c["sql"] not in self.sql:
                raise Undefined(f"sql {c['sql']!r}")
            return self.sql[c["sql"]](person) is True
        streams = [k for k in c if k in self.stream_defs]
        if len(streams) != 1:
            raise Undefined(f"condition {c!r}")
        return self.stream_holds(streams[0], c, person)

    def matching_rows(self, stream: str, c: dict, person: dict) -> list[dict]:
        sd = self.stream_defs[stream]
        pattern = c[stream]
        key = person[self.key]
        window = {k: c[k] for k in WINDOW_KEYS if k in c}
        anchors = {k: read(person.get(window[k]["attribute"]), "time") for k in ("after", "before") if k in window}
        if any(v is None for v in anchors.values()):  # a NULL anchor: no matching rows (SPEC 4)
            return []
        rows = []
        for row in self.streams.get(stream, []):
            if key is None or row.get(sd.table_key) is None or row.get(sd.table_key) != key:
                continue
            t = timestamp(row.get(sd.timestamp))
            if t is None or t > self.as_of:
                continue
            if pattern is not None:
                name = row.get(sd.name)
                if name is None or not glob(name, str(pattern)):
                    continue
            if not all(self.filter_holds(spec, path_value(row, path)) for path, spec in (c.get("where") or {}).items()):
                continue
            if "during" in window and not in_period(t, window["during"], self.as_of, self.time_zone):
                continue
            if "after" in anchors and not (anchors["after"] < t and (
                    "within" not in window["after"] or t <= anchors["after"] + duration(window["after"]["within"]))):
                continue
            if "before" in anchors and not (t < anchors["before"] and (
                    "within" not in window["before"] or anchors["before"] - duration(window["before"]["within"]) <= t)):
                continue
            if "within" in window and not self.as_of - duration(window["within"]) < t:
                continue
            if "older_than" in window and not t <= self.as_of - duration(window["older_than"]):
                continue
            if "since" in window and not t >= timestamp(window["since"]):
                continue
            if "until" in window and not t < timestamp(window["until"]):
                continue
            rows.append(row)
        return rows

    def filter_holds(self, spec: Any, value: Any) -> bool:
        if isinstance(spec, dict):
            return all_ops_hold(spec, value, self.as_of, self.time_zone)
        if isinstance(spec, list):
            return holds("in", spec, value, self.as_of)
        return holds("equals", spec, value, self.as_of)

    def stream_holds(self, stream: str, c: dict, person: dict) -> bool:
        sd = self.stream_defs[stream]
        rows = self.matching_rows(stream, c, person)
        checks: list[tuple[dict, Any]] = []
        for name in AGGREGATES:
            if name not in c:
                continue
            ops = dict(c[name])
            if name == "count":
                value = len(rows)
            elif name in ("first", "last"):
                times = [timestamp(r[sd.timestamp]) for r in rows]
                value = (min(times) if name == "first" else max(times)) if times else None
            elif name == "nth":  # the n-th smallest timestamp; NULL when there are fewer rows (rule 9)
                n = ops.pop("n")
                times = sorted(timestamp(r[sd.timestamp]) for r in rows)
                value = times[n - 1] if len(times) >= n else None
            elif name == "distinct":  # distinct text forms of the non-NULL values (rule 8)
                of = ops.pop("of")
                value = len({text_form(path_value(r, of)) for r in rows} - {None})
            elif name == "distinct_days":  # distinct local dates in time_zone (rule 8)
                value = len({local(timestamp(r[sd.timestamp]), self.time_zone).date() for r in rows})
            elif name == "most_frequent":  # most rows; a tie: the smallest text, byte order (rule 10)
                of = ops.pop("of")
                seen = Counter(t for t in (text_form(path_value(r, of)) for r in rows) if t is not None)
                value = min(seen, key=lambda t: (-seen[t], t.encode())) if seen else None
            else:
                of = ops.pop("of")
                numbers = [n for n in (read(path_value(r, of), "number") for r in rows) if n is not None]
                if name == "sum":
                    value = sum(numbers)
                elif not numbers:
                    value = None
                else:
                    value = {"avg": sum(numbers) / len(numbers), "min": min(numbers), "max": max(numbers)}[name]
            checks.append((ops, value))
        if "performed" in c:
            checks.append(({"gte": 1} if c["performed"] else {"equals": 0}, len(rows)))
        if not checks:
            checks.append(({"gte": 1}, len(rows)))
        return all(aggregate_holds(ops, value, self.as_of, self.time_zone) for ops, value in checks)

    def sequence_holds(self, steps: list[dict], person: dict) -> bool:
        """SPEC 4, Sequences: rows r1..rn, each strictly later than the one before, within_after and
        `same` relating each to the previous row; a negative last step: no such row, wait over."""
        selected = []
        for step in steps:
            stream = next(k for k in step if k in self.stream_defs)
            rows = self.matching_rows(stream, {k: v for k, v in step.items() if k not in STEP_ONLY_KEYS}, person)
            selected.append([(timestamp(row[self.stream_defs[stream].timestamp]), row) for row in rows])
        negative = steps[-1].get("performed", True) is False
        # reachable: the rows of step i that end some chain r1..ri
        reachable = selected[0]
        for i in range(1, len(steps) - 1 if negative else len(steps)):
            reachable = [r for r in selected[i] if any(self.follows(steps[i], p, r) for p in reachable)]
        if not negative:
            return bool(reachable)
        last = steps[-1]
        wait = duration(last["within_after"]) if "within_after" in last else None
        return any((wait is None or t + wait <= self.as_of)
                   and not any(self.follows(last, (t, row), r) for r in selected[-1])
                   for t, row in reachable)

    @staticmethod
    def follows(step: dict, previous: tuple, current: tuple) -> bool:
        """`current` (t, row) may follow `previous` as this step's row: strictly later, within_after
        (inclusive), and every `same` path non-NULL in both rows with equal text forms."""
        (t0, row0), (t1, row1) = previous, current
        if not t0 < t1:
            return False
        if "within_after" in step and not t1 <= t0 + duration(step["within_after"]):
            return False
        for path in step.get("same", []):
            a, b = text_form(path_value(row0, path)), text_form(path_value(row1, path))
            if a is None or b is None or a != b:
                return False
        return True


def members(condition: dict, people: list[dict], streams: Optional[Mapping[str, list[dict]]] = None, *,
            as_of: dt.datetime, **kwargs) -> set:
    """The keys of the people for whom `condition` holds at `as_of`."""
    return Evaluator(people, streams, as_of=as_of, **kwargs).members(condition)


def keys(rows: Iterable[dict], key: str = "user_id") -> set:
    return {row[key] for row in rows}
