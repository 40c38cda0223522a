"""Conditions read aloud: a model node -> an English phrase a marketer understands.

"opened an email at least once in the last 30 days", "whose plan is pro", "added an item to the
cart in the last 7 days, then did not buy something with the same sku within 1 hour". Every
construct of SPEC section 4 has a reading, second edition included. The phrase continues
"people who ...": attribute conditions start with "whose", stream conditions with a verb.
Event names the phrasebook below knows read as verbs; others read as `did "signup_v2"`.
`sentence` reads one node (groups as their heading); `lines` reads a whole tree, one line per node.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterator, NamedTuple, Optional

from .spec import model as m
from .spec.graph import walk

# Event, activity and page names that read as verbs: (past tense, base form after "did not").
PHRASEBOOK: dict[str, tuple[str, str]] = {
    "purchase": ("bought something", "buy anything"),
    "order_completed": ("completed an order", "complete an order"),
    "add_to_cart": ("added an item to the cart", "add an item to the cart"),
    "checkout_started": ("started checkout", "start checkout"),
    "email_opened": ("opened an email", "open an email"),
    "email_clicked": ("clicked a link in an email", "click a link in an email"),
    "email_delivered": ("received an email", "receive an email"),
    "email_bounced": ("had an email bounce", "have an email bounce"),
    "unsubscribed": ("unsubscribed", "unsubscribe"),
    "subscribed": ("subscribed", "subscribe"),
    "signup": ("signed up", "sign up"),
    "signed_up": ("signed up", "sign up"),
    "login": ("logged in", "log in"),
    "logged_in": ("logged in", "log in"),
    "course_started": ("started a course", "start a course"),
    "course_completed": ("completed a course", "complete a course"),
    "page_view": ("viewed a page", "view a page"),
    "app_opened": ("opened the app", "open the app"),
}
# Streams whose rows read as an action on a named thing: (past, base, noun of the name value).
STREAM_VERBS: dict[str, tuple[str, str, str]] = {
    "page_view": ("viewed", "view", "page"),
    "device": ("used", "use", "device"),
}
UNITS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


class Line(NamedTuple):
    """One node of a tree read aloud: its depth, its phrase, and the segment it references, if any."""

    depth: int
    text: str
    segment: Optional[str]


# --- values ------------------------------------------------------------------------------------------
def words(name: str) -> str:
    """A column or path as words: `properties.amount` -> "amount", `last_login_at` -> "last login at"."""
    return name.rsplit(".", 1)[-1].replace("_", " ")


def path_words(path: m.Path) -> str:
    return words(path.keys[-1] if path.keys else path.column)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)):
        return f"{v:,}"
    return str(v)


def alternatives(values: Any, joiner: str = "or") -> str:
    items = [value(v) for v in (values if isinstance(values, tuple) else (values,))]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {joiner} " + items[-1]


def duration(d: m.Duration) -> str:
    unit = UNITS[d.unit]
    return f"{d.amount} {unit}{'' if d.amount == 1 else 's'}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def period(p: m.CalendarPeriod) -> str:
    """A calendar period: "this week (so far)", "last month", "3 quarters ago"."""
    if p.offset == 0:
        return "today (so far)" if p.unit == "day" else f"this {p.unit} (so far)"
    if p.offset == -1:
        return "yesterday" if p.unit == "day" else f"last {p.unit}"
    return f"{-p.offset} {p.unit}s ago"


def pattern(text: str) -> str:
    """A `contains` pattern: `|` alternatives, `+` parts that must all occur, `*` any run of characters."""
    parts = [[f'"{part}"' for part in _split(alt, "+")] for alt in _split(text, "|")]
    return " or ".join(" and ".join(p) for p in parts)


def _split(text: str, sep: str) -> list[str]:
    """Split on an unescaped separator; escapes stay as written inside the parts."""
    out, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current, escaped = current + "\\" + ch, False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            out.append(current)
            current = ""
        else:
            current += ch
    return out + [current + ("\\" if escaped else "")]


# --- comparisons -------------------------------------------------------------------------------------
def _is_time(v: Any) -> bool:
    return isinstance(v, (dt.date, dt.datetime)) or (isinstance(v, tuple) and any(map(_is_time, v)))


def time_phrase(op: m.Op) -> Optional[str]:
    """A time comparison without its verb ("in the last 30 days", "before 2026-01-01"); None otherwise."""
    v = op.value
    if op.name == "within":
        return f"in the last {duration(v)}"
    if op.name == "older_than":
        return f"more than {duration(v)} ago"
    if op.name == "within_next":
        return f"in the next {duration(v)}"
    if op.name == "during":
        return period(v)
    if _is_time(v):
        return {"gt": f"after {value(v)}", "gte": f"on or after {value(v)}", "lt": f"before {value(v)}",
                "lte": f"on or before {value(v)}", "equals": f"at {value(v)}", "not_equals": f"not at {value(v)}",
                }.get(op.name) if op.name != "between" else f"between {value(v[0])} and {value(v[1])}"
    return None


# Each operator as a verb phrase built from (verb, negative verb, value): "is pro", "was not 3".
PHRASES = {
    "equals": lambda verb, no, v: f"{verb} {value(v)}",
    "not_equals": lambda verb, no, v: f"{no} {value(v)}",
    "in": lambda verb, no, v: f"{verb} {alternatives(v)}",
    "not_in": lambda verb, no, v: f"{verb} neither {alternatives(v, 'nor')}" if len(v) > 1 else f"{no} {value(v[0])}",
    "gt": lambda verb, no, v: f"{verb} more than {value(v)}",
    "gte": lambda verb, no, v: f"{verb} at least {value(v)}",
    "lt": lambda verb, no, v: f"{verb} less than {value(v)}",
    "lte": lambda verb, no, v: f"{verb} at most {value(v)}",
    "between": lambda verb, no, v: f"{verb} between {value(v[0])} and {value(v[1])}",
    "contains": lambda verb, no, v: f"contains {pattern(v)}",
    "not_contains": lambda verb, no, v: f"does not contain {pattern(v)}",
    "starts_with": lambda verb, no, v: f'starts with "{v}"',
    "ends_with": lambda verb, no, v: f'ends with "{v}"',
    "matches": lambda verb, no, v: f"matches the pattern /{v}/",
    "exists": lambda verb, no, v: f"{verb} set" if v else f"{verb} not set",
}


def comparison(op: m.Op, verb: str = "is") -> str:
    """One operator as a verb phrase: "is pro", "is at least 50", "contains "gmail" or "yahoo"", "is set"."""
    when = time_phrase(op)
    if when is not None:
        return f"{verb} {when}"
    phrase = PHRASES.get(op.name)
    if phrase is None:
        return f"{op.name} {value(op.value)}"
    return phrase(verb, "is not" if verb == "is" else "was not", op.value)


def comparisons(ops: tuple[m.Op, ...], ignore_case: bool = False, verb: str = "is") -> str:
    text = " and ".join(comparison(op, verb) for op in ops)
    return text + (" (ignoring case)" if ignore_case else "")


def times(op: m.Op, unit: str = "times") -> str:
    """A count comparison as a frequency: "at least once", "exactly 3 times", "between 2 and 5 times";
    with unit="days": "at least 5 days"."""
    def n(k: Any) -> str:
        if unit == "times" and k in (1, 2) and not isinstance(k, bool):
            return "once" if k == 1 else "twice"
        return f"{value(k)} {unit[:-1] if k == 1 else unit}"

    v, name = op.value, op.name
    if name == "between":
        return f"between {value(v[0])} and {n(v[1])}"
    if name in ("in", "not_in"):
        return ("" if name == "in" else "any number of " + unit + " but ") + f"{alternatives(v)} {unit}"
    return {"equals": f"exactly {n(v)}", "not_equals": f"any number of {unit} but {n(v)}",
            "gt": f"more than {n(v)}", "gte": f"at least {n(v)}", "lt": f"fewer than {n(v)}",
            "lte": f"at most {n(v)}"}[name]


def _never(ops: tuple[m.Op, ...]) -> bool:
    """A count that holds only for zero rows: `performed: false`, `count: {equals: 0}`, `{lt: 1}`, ..."""
    return len(ops) == 1 and ((ops[0].name in ("equals", "lte") and ops[0].value == 0)
                              or (ops[0].name == "lt" and ops[0].value == 1))


# --- stream rows -------------------------------------------------------------------------------------
def action(match: m.StreamMatch) -> tuple[str, str]:
    """What a matching row means, (past tense, base form): ("opened an email", "open an email")."""
    if match.pattern is None:
        if match.stream in PHRASEBOOK:
            return PHRASEBOOK[match.stream]
        if match.stream in STREAM_VERBS:
            past, base, noun = STREAM_VERBS[match.stream]
            return f"{past} any {noun}", f"{base} any {noun}"
        return f"had any {words(match.stream)}", f"have any {words(match.stream)}"
    readings = [_one_name(match.stream, name) for name in _split(match.pattern, "|")]
    return " or ".join(p for p, _ in readings), " or ".join(b for _, b in readings)


def _one_name(stream: str, name: str) -> tuple[str, str]:
    if name in PHRASEBOOK:
        return PHRASEBOOK[name]
    shown = f'"{name}"'
    if stream in STREAM_VERBS:
        past, base, noun = STREAM_VERBS[stream]
        thing = f"a {noun} matching {shown}" if "*" in name else f"the {noun} {shown}"
        return f"{past} {thing}", f"{base} {thing}"
    if stream == "event":
        return (f"did {shown}" if "*" not in name else f"did an event matching {shown}",
                f"do {shown}" if "*" not in name else f"do an event matching {shown}")
    noun = words(stream)
    return (f"had a {noun} {shown}" if "*" not in name else f"had a {noun} matching {shown}",
            f"have a {noun} {shown}" if "*" not in name else f"have a {noun} matching {shown}")


def row_filters(filters: tuple[m.RowFilter, ...]) -> str:
    """`where` as one clause: "where the amount is at least 50 and the category is coats or boots"."""
    return " and ".join(f"the {path_words(f.path)} {comparisons(f.ops, f.ignore_case)}" for f in filters)


def window(w: m.Window) -> str:
    """When the rows happened: "in the last 30 days", "last month", "within 7 days after their created at"."""
    parts = []
    if w.within:
        parts.append(f"in the last {duration(w.within)}")
    if w.older_than:
        parts.append(f"more than {duration(w.older_than)} ago")
    if w.since:
        parts.append(f"since {value(w.since)}")
    if w.until:
        parts.append(f"before {value(w.until)}")
    if w.during:
        parts.append(period(w.during))
    for key, anchor in (("after", w.after), ("before", w.before)):
        if anchor is not None:
            parts.append((f"within {duration(anchor.within)} " if anchor.within else "") + f"{key} their "
                         + words(anchor.attribute))
    return ", ".join(parts)


def aggregate(a: m.Aggregate) -> str:
    """An aggregate other than count as a clause: "the total amount is at least 500"."""
    if a.kind in ("sum", "avg", "min", "max"):
        label = {"sum": "total", "avg": "average", "min": "smallest", "max": "largest"}[a.kind]
        return f"the {label} {path_words(a.of)} {comparisons(a.ops)}"
    if a.kind in ("first", "last"):
        return f"the {a.kind} time was " + " and ".join(time_phrase(op) or comparison(op) for op in a.ops)
    if a.kind == "nth":
        return f"the {ordinal(a.n)} time was " + " and ".join(time_phrase(op) or comparison(op) for op in a.ops)
    if a.kind == "distinct":
        return f"the number of different {path_words(a.of)} values {comparisons(a.ops)}"
    if a.kind == "distinct_days":
        return "on " + " and ".join(times(op, "days") for op in a.ops).replace(" day", " different day")
    if a.kind == "most_frequent":
        return f"the most frequent {path_words(a.of)} {comparisons(a.ops, a.ignore_case)}"
    raise AssertionError(a.kind)


def stream_condition(c: m.StreamCondition) -> str:
    match = c.match
    counts = [a for a in c.aggregates if a.kind == "count"]
    others = [a for a in c.aggregates if a.kind != "count"]
    past, base = action(match)
    where = row_filters(match.filters)
    when = window(match.window)
    never = len(counts) == 1 and _never(counts[0].ops)
    text = (f"did not {base}" if when else "never " + past.replace("something", "anything")) if never else past
    if where:
        text += f" where {where},"
    if counts and not never:
        text += " " + " and ".join(times(op) for a in counts for op in a.ops)
    if when:
        text += f" {when}"
    clauses = [aggregate(a) for a in others]
    text += "".join(f" {x}" for x in clauses if x.startswith("on "))  # distinct_days: "on 5 different days"
    rest = [x for x in clauses if not x.startswith("on ")]
    if rest:
        text += (" and " if where else ", where ") + " and ".join(rest)
    return text.rstrip(",")


def sequence(c: m.Sequence) -> str:
    """Steps in order: "added an item to the cart in the last 7 days, then did not buy something
    with the same sku within 1 hour"."""
    parts = []
    for i, step in enumerate(c.steps):
        past, base = action(step.match)
        text = past if step.performed else f"did not {base}"
        where = row_filters(step.match.filters)
        if where:
            text += f" where {where},"
        if step.same:
            text += " with the same " + ", ".join(path_words(p) for p in step.same)
        when = window(step.match.window)
        if step.within_after:
            text += f" within {duration(step.within_after)}"
            when = f"({when})" if when else ""
        if when:
            text += f" {when}"
        if not step.performed and step.within_after:
            text += " (once that time has passed)"
        text = text.rstrip(",")
        parts.append(text if i == 0 else f"then {text}")
    return ", ".join(parts)


# --- nodes -------------------------------------------------------------------------------------------
def sentence(c: m.Condition) -> str:
    """One node read aloud; groups read as their heading ("all of these hold:")."""
    if isinstance(c, m.All):
        return "all of these:"
    if isinstance(c, m.AnyOf):
        return "any of these:"
    if isinstance(c, m.NoneOf):
        return "none of these:"
    if isinstance(c, m.Not):
        return "not this:"
    if isinstance(c, m.AtLeast):
        return f"at least {c.k} of these {len(c.items)}:"
    if isinstance(c, m.Attribute):
        return f"whose {words(c.column)} {comparisons(c.ops, c.ignore_case)}"
    if isinstance(c, m.StreamCondition):
        return stream_condition(c)
    if isinstance(c, m.Sequence):
        return sequence(c)
    if isinstance(c, m.SegmentRef):
        if c.split:
            groups = alternatives(c.split)
            return f"in the {groups} group{'s' if len(c.split) > 1 else ''} of segment {c.name}"
        return f"in segment {c.name}"
    if isinstance(c, m.Sql):
        return f"for whom this SQL holds: {c.text}"
    if isinstance(c, m.InStatic):
        how = "" if c.match_column == "key" else f" (matched by {words(c.match_column)})"
        return f"on the uploaded list of {c.segment}{how}"
    raise AssertionError(type(c))


def lines(condition: m.Condition) -> list[Line]:
    """The tree read aloud, one line per node, depth first; references stay references."""
    return [Line(node.depth, sentence(node.condition),
                 node.condition.name if isinstance(node.condition, m.SegmentRef) else None)
            for node in walk(condition)]


def text(condition: m.Condition) -> Iterator[str]:
    """Every sentence of a tree, for search."""
    return (line.text for line in lines(condition))
