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

What the reference does not define (it raises Undefined): reading a non-string value (a number,
a date, a JSON object) as text, and `sql:` conditions without a Python twin passed in `sql=`.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

GROUPS = ("all", "any", "none", "not")
WINDOW_KEYS = ("within", "older_than", "since", "until")
AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last")
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


def holds(op: str, literal: Any, value: Any, as_of: dt.datetime, ignore_case: bool = False) -> bool:
    """One operator of the attribute table on a value (None is NULL), with its NULL rule."""
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


def all_ops_hold(ops: Mapping[str, Any], value: Any, as_of: dt.datetime) -> bool:
    """Several operators in one mapping must all hold; `ignore_case` modifies them."""
    ignore_case = ops.get("ignore_case") is True
    return all(holds(op, literal, value, as_of, ignore_case) for op, literal in ops.items() if op != "ignore_case")


def aggregate_holds(ops: Mapping[str, Any], value: Any, as_of: dt.datetime) -> bool:
    """An aggregate of no rows (NULL) fails every comparison (SPEC 4, stream rule 3)."""
    if value is None:
        return all(op == "exists" and literal is False for op, literal in ops.items())
    return all_ops_hold(ops, value, as_of)


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
                 sql: Optional[Mapping[str, Callable[[dict], Optional[bool]]]] = None):
        self.people = people
        self.streams = streams or {}
        self.as_of = timestamp(as_of)
        self.key = key
        self.stream_defs = dict(DEFAULT_STREAMS if stream_defs is None else stream_defs)
        self.segments = segments or {}
        self.sql = sql or {}

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
        if "attribute" in c:
            ops = {k: v for k, v in c.items() if k != "attribute"}
            return all_ops_hold(ops, person.get(c["attribute"]), self.as_of)
        if "segment" in c:
            return self.holds(self.segments[c["segment"]], person)
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
            return all_ops_hold(spec, value, self.as_of)
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
        return all(aggregate_holds(ops, value, self.as_of) for ops, value in checks)


def members(condition: dict, people: list[dict], streams: Optional[Mapping[str, list[dict]]] = None, *,
            as_of: dt.datetime, **kwargs) -> set:
    """The keys of the people for whom `condition` holds at `as_of`."""
    return Evaluator(people, streams, as_of=as_of, **kwargs).members(condition)


def keys(rows: Iterable[dict], key: str = "user_id") -> set:
    return {row[key] for row in rows}
