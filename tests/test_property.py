"""Property tests: the compiled SQL on DuckDB and the reference evaluator (tests/reference.py) agree.

Hypothesis draws condition trees (depth <= 3) mixing attribute conditions and stream conditions, and
small data sets whose values are chosen to hit the edges of SPEC section 4: NULLs, mixed case, quotes,
SQL wildcards, backslashes and pattern metacharacters in values and literals, JSON properties that are
not numbers, timestamps exactly on window boundaries and after as_of, and stream rows that belong to
nobody. One project directory and one DuckDB connection serve every example; tables are replaced.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import reference
from segwarehouse.adapters.duckdb import DuckDBAdapter
from segwarehouse.materialize.runner import Runner
from segwarehouse.project.loader import load_project
from conftest import PROJECT_YML as BASE_PROJECT_YML
from test_conditions import Warehouse, create_table

PROJECT_YML = BASE_PROJECT_YML + "  page_view: {table: main.page_views, key: user_id, timestamp: viewed_at, name: url}\n"
STREAM_DEFS = {
    "event": reference.StreamDef("user_id", "occurred_at", "event_name", "properties"),
    "page_view": reference.StreamDef("user_id", "viewed_at", "url"),
}
PEOPLE_TYPES = {"user_id": "BIGINT", "name": "VARCHAR", "email": "VARCHAR", "code": "VARCHAR", "age": "BIGINT",
                "score": "DOUBLE", "created_at": "TIMESTAMP", "vip": "BOOLEAN", "big": "BIGINT"}
EVENT_TYPES = {"user_id": "BIGINT", "occurred_at": "TIMESTAMP", "event_name": "VARCHAR", "properties": "JSON",
               "channel": "VARCHAR", "qty": "BIGINT"}
PAGE_VIEW_TYPES = {"user_id": "BIGINT", "viewed_at": "TIMESTAMP", "url": "VARCHAR"}

AS_OFS = [dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 1, 12, 30, 0, 250000)]
DURATIONS = {"90m": dt.timedelta(minutes=90), "12h": dt.timedelta(hours=12), "1d": dt.timedelta(days=1),
             "7d": dt.timedelta(days=7), "1w": dt.timedelta(weeks=1), "30d": dt.timedelta(days=30)}
MICRO = dt.timedelta(microseconds=1)
# Offsets from as_of: every window boundary, a microsecond either side, as_of itself, the future.
OFFSETS = sorted({o for d in DURATIONS.values() for o in (-d, -d + MICRO, -d - MICRO, d, d + MICRO)}
                 | {dt.timedelta(0), MICRO, -MICRO, dt.timedelta(days=-3), dt.timedelta(days=-100)})
LITERAL_OFFSETS = [dt.timedelta(0), dt.timedelta(days=-1), dt.timedelta(days=-7), dt.timedelta(days=-7) + MICRO,
                   dt.timedelta(days=-30), dt.timedelta(days=1), dt.timedelta(hours=-12)]

# --- values ------------------------------------------------------------------------------------------
# Times are drawn as At(offset from as_of) and resolved once as_of is drawn, so every strategy below is
# built once (Hypothesis validates each strategy object on first use).

class At:
    def __init__(self, offset: dt.timedelta):
        self.offset = offset

    def __repr__(self) -> str:
        return f"At({self.offset!r})"


class AtText(At):
    """A time written as ISO-8601 text in a JSON property, in a zone `hours` east of UTC (0: "Z")."""

    def __init__(self, offset: dt.timedelta, hours: int):
        super().__init__(offset)
        self.hours = hours

    def __repr__(self) -> str:
        return f"AtText({self.offset!r}, {self.hours})"

    def text(self, as_of: dt.datetime) -> str:
        local = as_of + self.offset + dt.timedelta(hours=self.hours)
        return local.isoformat() + ("Z" if self.hours == 0 else f"{self.hours:+03d}:00")


def resolve(value, as_of: dt.datetime):
    if isinstance(value, AtText):
        return value.text(as_of)
    if isinstance(value, At):
        return as_of + value.offset
    if isinstance(value, dict):
        return {k: resolve(v, as_of) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, as_of) for v in value]
    return value


SPECIAL = "'\"%_\\|+*"
REGEX_SPECIAL = ".([^$?"  # harmless to a Customer.io pattern, fatal to a careless translation into regex
TEXT_ALPHABET = "aAbBwinterWSl " + SPECIAL + REGEX_SPECIAL
TEXT_VOCAB = ["Ann", "ann", "ANN", "winter sale", "Winter Sale", "the winner", "sale+winter", "a+b", "a|b", "a*b",
              "a\\b", "a\\d", "50%_off", "50 off", "O'Brien", 'say "hi"', "", "%", "_", "*", "|"]
EMAILS = ["ann@gmail.com", "Bob@Yahoo.com", "x_y%z@mail.com", "o'brien@mail.com", "pipe|plus+star*@x.io", None]
CODES = ["12", "12.5", "-3", "-0.4", "007", "n/a", "", "abc", "9007199254740993", None]
EVENT_NAMES = ["add_to_cart", "checkout_started", "purchase", "Purchase", "purchase_v2", "a+b", "a|b", "x*y",
               "back\\slash", "50%_off", "5_%off", "v1.2(beta)", "[x]^$?", None]
URLS = ["/shop/winter/coats", "/winter/", "/shop/winter", "/Winter/sale", "/shop/summer/coats", "/", None]
CATEGORIES = ["coats", "Coats", "boots", "winter 50%_off", "it's", 'a "b"', "a\\b", None]
AMOUNTS = [10, 20, 12.5, -3, 0, -0.4, "12.5", "0.4", "7", "n/a", "", True, False, None]
BIG = [2 ** 53 - 1, 2 ** 53, 2 ** 53 + 1, 5]  # 2**53 + 1 has no exact double
# Literals: small numbers on both sides of the data, and bounds beyond 2**53 (which must not round the
# fractional values compared with them).
NUMBERS = [-3, 0, 1, 7, 10, 12, 12.5, 13, 20, 30, 2 ** 53 + 1, -(2 ** 53 + 1)]
GIFTS = [True, False, None, 1, 0, "yes"]

TEXTS = st.one_of(st.sampled_from(TEXT_VOCAB), st.text(TEXT_ALPHABET, max_size=8))
NULLABLE_TEXTS = st.one_of(st.none(), TEXTS)
ROW_TIME = st.sampled_from(OFFSETS).map(At)
LITERAL_TIME = st.sampled_from(LITERAL_OFFSETS).map(At)
DURATION_TEXT = st.sampled_from(sorted(DURATIONS))


@st.composite
def people_rows(draw):
    size = draw(st.integers(1, 8))
    ids = draw(st.lists(st.integers(1, 8), unique=True, min_size=size, max_size=size))
    return [{
        "user_id": key,
        "name": draw(NULLABLE_TEXTS),
        "email": draw(st.sampled_from(EMAILS)),
        "code": draw(st.sampled_from(CODES)),
        "age": draw(st.one_of(st.none(), st.integers(-5, 60))),
        "score": draw(st.sampled_from([None, -2.5, -0.4, 0.0, 0.4, 1.5, 7.0, 12.5])),
        "created_at": draw(st.one_of(st.none(), ROW_TIME)),
        "vip": draw(st.sampled_from([None, True, False])),
        "big": draw(st.sampled_from([None] + BIG)),
    } for key in ids]


@st.composite
def properties(draw):
    if draw(st.integers(0, 9)) == 0:
        return None
    props = {}
    for key, values in (("amount", AMOUNTS), ("category", CATEGORIES), ("gift", GIFTS)):
        if draw(st.integers(0, 2)):
            props[key] = draw(st.sampled_from(values))
    if draw(st.booleans()):  # a time as text, in UTC or with an offset, or not a time at all
        props["when"] = draw(st.one_of(st.builds(AtText, st.sampled_from(OFFSETS), st.sampled_from([0, 1, -5])),
                                       st.just("soon")))
    return props


PROPERTIES = properties()
# Common names are drawn more often, so that name patterns select something.
ROW_EVENT_NAMES = st.one_of(st.sampled_from(["purchase", "add_to_cart"]), st.sampled_from(EVENT_NAMES))

EVENT_ROW = st.fixed_dictionaries({
    "user_id": st.integers(1, 10),  # 9 and 10 belong to nobody
    "occurred_at": ROW_TIME,
    "event_name": ROW_EVENT_NAMES,
    "properties": PROPERTIES,
    "channel": st.sampled_from(["web", "app", "Web", None]),
    "qty": st.sampled_from([None, 0, 1, 2, 5]),
})
PAGE_VIEW_ROW = st.fixed_dictionaries({
    "user_id": st.integers(1, 10),
    "viewed_at": ROW_TIME,
    "url": st.sampled_from(URLS),
})


def rows(row, most: int):
    """Lists of up to `most` rows, with sizes spread over the whole range (plain lists stay short)."""
    return st.integers(0, most).flatmap(lambda n: st.lists(row, min_size=n, max_size=n))


EVENT_ROWS = rows(EVENT_ROW, 25)
PAGE_VIEW_ROWS = rows(PAGE_VIEW_ROW, 8)


# --- patterns ----------------------------------------------------------------------------------------

CHUNKS = ["a", "b", "A", "win", "er", "Sale", "sale", "n", " ", "%", "_", "'", '"', "0", "_o", ".", "(", "[", "^",
          "$", "?"]
ESCAPES = ["\\|", "\\+", "\\*", "\\\\", "\\d", "\\a"]  # the last two: a literal backslash, then a letter
PART = st.lists(st.one_of(st.sampled_from(CHUNKS), st.just("*"), st.sampled_from(ESCAPES)),
                min_size=1, max_size=3).map("".join)
ALTERNATIVE = st.lists(PART, min_size=1, max_size=2).map("+".join)
CONTAINS_PATTERNS = st.lists(ALTERNATIVE, min_size=1, max_size=2).map("|".join)


def _escape_name(name: str, draw) -> str:
    out = []
    for c in name:
        if c in "|*\\":
            out.append("\\" + c)
        elif c == "+":
            out.append(draw(st.sampled_from(["+", "\\+"])))
        else:
            out.append(c)
    return "".join(out)


@st.composite
def name_globs(draw, names, common=()):
    """An anchored glob over some of `names` (often one of `common`): exact, prefix*, *suffix, pre*post,
    or *; escaped."""
    def alternative():
        name = draw(st.one_of(st.sampled_from([n for n in names if n] or ["x"]), *(
            [st.sampled_from(list(common))] if common else [])))
        shape = draw(st.sampled_from(["exact", "exact", "prefix", "suffix", "inner", "star"]))
        cut = draw(st.integers(1, max(1, len(name) - 1)))
        if shape == "star":
            return "*"
        if shape == "prefix":
            return _escape_name(name[:cut], draw) + "*"
        if shape == "suffix":
            return "*" + _escape_name(name[cut:], draw)
        if shape == "inner":
            return _escape_name(name[:cut], draw) + "*" + _escape_name(name[cut + 1:], draw)
        return _escape_name(name, draw)

    return "|".join(alternative() for _ in range(draw(st.integers(1, 2))))


EVENT_GLOBS = name_globs(EVENT_NAMES, common=("purchase", "add_to_cart"))
URL_GLOBS = name_globs(URLS)


# --- conditions --------------------------------------------------------------------------------------

EQUALITY = ["equals", "not_equals", "in", "not_in"]
ORDER = ["gt", "gte", "lt", "lte", "between"]
CASE_OPS = EQUALITY + ["contains", "not_contains", "starts_with", "ends_with"]
REGEXES = ["^a", "n$", "[A-Z]", "\\d+", "a.b", "win+er", "^$", "(Sale|sale)", "\\w\\s\\w", "^.{2,3}$"]


@st.composite
def text_ops(draw, values):
    """Operators on a text value (a people column, a stream column, a JSON string)."""
    ops = {}
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(CASE_OPS + ["exists", "matches"]))
        if op in ("equals", "not_equals"):
            ops[op] = draw(values)
        elif op in ("in", "not_in"):
            ops[op] = draw(st.lists(values, min_size=1, max_size=3))
        elif op in ("contains", "not_contains"):
            ops[op] = draw(CONTAINS_PATTERNS)
        elif op in ("starts_with", "ends_with"):
            ops[op] = draw(values.filter(bool))
        elif op == "matches":
            ops[op] = draw(st.sampled_from(REGEXES))
        else:
            ops[op] = draw(st.booleans())
    if any(op in ops for op in CASE_OPS) and draw(st.booleans()):
        ops["ignore_case"] = True
    return ops


@st.composite
def number_ops(draw, numbers, allow_exists=True):
    ops = {}
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(EQUALITY + ORDER + (["exists"] if allow_exists else [])))
        if op in ("in", "not_in"):
            ops[op] = draw(st.lists(numbers, min_size=1, max_size=3))
        elif op == "between":
            ops[op] = sorted(draw(st.lists(numbers, min_size=2, max_size=2)))
        elif op == "exists":
            ops[op] = draw(st.booleans())
        else:
            ops[op] = draw(numbers)
    return ops


@st.composite
def time_ops(draw, equality=True, allow_exists=True):
    ops = {}
    choices = ORDER + ["within", "older_than", "within_next"] + (["equals", "not_equals", "in"] if equality else []) \
        + (["exists"] if allow_exists else [])
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(choices))
        if op in ("within", "older_than", "within_next"):
            ops[op] = draw(DURATION_TEXT)
        elif op == "between":
            ops[op] = [At(o) for o in sorted(draw(st.lists(st.sampled_from(LITERAL_OFFSETS), min_size=2, max_size=2)))]
        elif op == "in":
            ops[op] = draw(st.lists(LITERAL_TIME, min_size=1, max_size=2))
        elif op == "exists":
            ops[op] = draw(st.booleans())
        else:
            ops[op] = draw(LITERAL_TIME)
    return ops


NUMBER = st.sampled_from(NUMBERS)
NUMBER_OPS = number_ops(NUMBER)
NUMBER_OPS_NO_EXISTS = number_ops(NUMBER, allow_exists=False)
COUNT_OPS = number_ops(st.integers(0, 3), allow_exists=False)
QTY_OPS = number_ops(st.sampled_from([0, 1, 2, 5]), allow_exists=False)
BIG_OPS = number_ops(st.sampled_from(BIG))
NAME_OPS = text_ops(TEXTS)
EMAIL_OPS = text_ops(st.sampled_from([e for e in EMAILS if e]))
CODE_OPS = st.one_of(NUMBER_OPS, text_ops(st.sampled_from([c for c in CODES if c is not None])))
TIME_OPS = time_ops()
AGGREGATE_TIME_OPS = time_ops(equality=False, allow_exists=False)


@st.composite
def attribute_conditions(draw):
    column = draw(st.sampled_from(["name", "email", "code", "age", "score", "created_at", "vip", "big"]))
    if column in ("name", "email"):
        if draw(st.integers(0, 5)) == 0:  # a text column against a number: unreadable values are NULL
            ops = draw(NUMBER_OPS)
        else:
            ops = draw(NAME_OPS if column == "name" else EMAIL_OPS)
    elif column == "code":
        ops = draw(CODE_OPS)
    elif column in ("age", "score"):
        ops = draw(NUMBER_OPS)
    elif column == "big":
        ops = draw(BIG_OPS)
    elif column == "created_at":
        ops = draw(TIME_OPS)
    else:
        op = draw(st.sampled_from(["equals", "not_equals", "in", "not_in", "exists"]))
        value = draw(st.booleans())
        ops = {op: [value] if op in ("in", "not_in") else value}
    return {"attribute": column, **ops}


CHANNELS = st.sampled_from(["web", "app", "Web", "WEB"])
CATEGORY_VALUES = st.sampled_from([c for c in CATEGORIES if c is not None] + ["COATS"])
FILTERS = {
    "channel": st.one_of(CHANNELS, st.lists(CHANNELS, min_size=1, max_size=2), text_ops(CHANNELS)),
    "properties.category": st.one_of(CATEGORY_VALUES, st.lists(CATEGORY_VALUES, min_size=1, max_size=2),
                                     text_ops(CATEGORY_VALUES)),
    "properties.amount": st.one_of(NUMBER, st.lists(NUMBER, min_size=1, max_size=2), NUMBER_OPS_NO_EXISTS),
    "properties.gift": st.one_of(st.booleans(), st.booleans().map(lambda b: {"not_equals": b}),
                                 st.sampled_from([0, 1]), st.sampled_from([0, 1]).map(lambda n: {"not_equals": n})),
    "properties.when": AGGREGATE_TIME_OPS,
    "qty": QTY_OPS,
}


@st.composite
def stream_conditions(draw):
    stream = draw(st.sampled_from(["event", "event", "event", "page_view"]))
    c = {stream: draw(st.one_of(st.none(), EVENT_GLOBS if stream == "event" else URL_GLOBS))}
    if stream == "event" and draw(st.booleans()):
        for path in draw(st.lists(st.sampled_from(sorted(FILTERS)), unique=True, min_size=1, max_size=2)):
            c.setdefault("where", {})[path] = draw(FILTERS[path])
    for key in draw(st.lists(st.sampled_from(["within", "older_than", "since", "until"]), unique=True, max_size=2)):
        c[key] = draw(DURATION_TEXT if key in ("within", "older_than") else LITERAL_TIME)
    of_paths = ["properties.amount", "properties.amount", "qty"] if stream == "event" else []
    aggregates = ["count", "performed", "first", "last"] + (["sum", "avg", "min", "max"] if of_paths else [])
    chosen = draw(st.lists(st.sampled_from(aggregates), unique=True, max_size=2))
    if "performed" in chosen and "count" in chosen:
        chosen.remove("count")
    for agg in chosen:
        if agg == "performed":
            c[agg] = draw(st.booleans())
        elif agg == "count":
            c[agg] = draw(COUNT_OPS)
        elif agg in ("first", "last"):
            c[agg] = draw(AGGREGATE_TIME_OPS)
        else:
            c[agg] = {"of": draw(st.sampled_from(of_paths)), **draw(NUMBER_OPS_NO_EXISTS)}
    return c


# --- the language's second edition ---------------------------------------------------------------------
# (`split` references need a second segment with splits: run_cases draws them.)
NEW_CONSTRUCTS = frozenset({"at_least", "sequence", "during", "after", "before", "nth", "distinct",
                            "distinct_days", "most_frequent", "split"})
PERIODS = st.fixed_dictionaries({"unit": st.sampled_from(["day", "week", "month", "quarter", "year"])},
                                optional={"offset": st.integers(-2, 0)})
ANCHORS = st.fixed_dictionaries({"attribute": st.just("created_at")}, optional={"within": DURATION_TEXT})
TEXT_FORM_PATHS = ["properties.category", "properties.amount", "channel"]


@st.composite
def second_edition_stream_conditions(draw, constructs):
    """A stream condition using the window keys and aggregates of `constructs` (at least one of them)."""
    keys = sorted(constructs & {"during", "after", "before", "nth", "distinct", "distinct_days", "most_frequent"})
    assume(keys)
    c = draw(stream_conditions())
    stream = next(iter(c))
    for key in draw(st.lists(st.sampled_from(keys), unique=True, min_size=1, max_size=2)):
        if key == "during":
            c[key] = draw(PERIODS)
        elif key in ("after", "before"):
            c[key] = draw(ANCHORS)
        elif key == "nth":
            c[key] = {"n": draw(st.integers(1, 3)), **draw(AGGREGATE_TIME_OPS)}
        elif key == "distinct_days":
            c[key] = draw(COUNT_OPS)
        elif stream == "event" and key == "distinct":
            c[key] = {"of": draw(st.sampled_from(TEXT_FORM_PATHS)), **draw(COUNT_OPS)}
        elif stream == "event" and key == "most_frequent":
            c[key] = {"of": draw(st.sampled_from(["properties.category", "channel"])),
                      **draw(text_ops(st.one_of(CATEGORY_VALUES, CHANNELS)).filter(
                          lambda ops: not {"matches", "exists"} & set(ops)))}
    return c


@st.composite
def sequences(draw):
    steps = []
    for i in range(draw(st.integers(2, 3))):
        stream = draw(st.sampled_from(["event", "event", "page_view"]))
        step = {stream: draw(st.one_of(st.none(), EVENT_GLOBS if stream == "event" else URL_GLOBS))}
        if draw(st.booleans()):  # a step selects rows as a stream condition does: any window key
            key = draw(st.sampled_from(["within", "older_than", "during", "after", "before"]))
            step[key] = draw({"during": PERIODS, "after": ANCHORS, "before": ANCHORS}.get(key, DURATION_TEXT))
        if i and draw(st.booleans()):
            step["within_after"] = draw(DURATION_TEXT)
        if i and stream == "event" and steps and "event" in steps[-1] and draw(st.booleans()):
            step["same"] = draw(st.sampled_from([["properties.category"], ["channel"], ["properties.amount"],
                                                 ["properties.category", "channel"]]))
        steps.append(step)
    if draw(st.booleans()):
        steps[-1]["performed"] = False
    return {"sequence": steps}


# Sequence data drawn as chains: each person's rows follow one another by gaps that sit exactly on
# the drawn `within_after` bounds, a microsecond either side of them, or at zero (ties), and the
# last row may end exactly where a negative step's wait ends (t + D = as_of), a microsecond before
# or after; `same` values include NULL, and 7 beside "7" (equal text forms).
CHAIN_NAMES = ["add_to_cart", "checkout_started", "purchase"]
CHAIN_WAITS = {"30m": dt.timedelta(minutes=30), "1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1)}
SKUS = ["A", "B", None, 7, "7"]


@st.composite
def chain_sequences(draw):
    steps = []
    for i in range(draw(st.integers(2, 3))):
        if draw(st.integers(0, 5)) == 0:
            step = {"page_view": "/cart"}
        else:
            step = {"event": draw(st.sampled_from(CHAIN_NAMES + ["add_to_cart|checkout_started"]))}
            if i and "event" in steps[-1] and draw(st.booleans()):
                step["same"] = ["properties.sku"]
        if i and draw(st.integers(0, 3)):
            step["within_after"] = draw(st.sampled_from(sorted(CHAIN_WAITS)))
        if draw(st.integers(0, 4)) == 0:
            step["within"] = draw(st.sampled_from(["1d", "7d"]))
        steps.append(step)
    if draw(st.booleans()):
        steps[-1]["performed"] = False
    return {"sequence": steps}


@st.composite
def chain_cases(draw):
    as_of = draw(st.sampled_from(AS_OFS))
    condition = draw(chain_sequences())
    waits = [CHAIN_WAITS[s["within_after"]] for s in condition["sequence"] if "within_after" in s] or [
        dt.timedelta(hours=1)]
    gaps = sorted({g for w in waits for g in (w, w - MICRO, w + MICRO)} | {dt.timedelta(0), MICRO,
                                                                            dt.timedelta(minutes=10)})
    # rows mostly carry the names the steps look for, so that chains form
    names = [n for s in condition["sequence"] for n in str(s.get("event", "")).split("|") if n] + CHAIN_NAMES
    people = [{**{c: None for c in PEOPLE_TYPES}, "user_id": i} for i in range(1, draw(st.integers(1, 6)) + 1)]
    events, page_views = [], []
    for person in people:
        # the last row of the chain ends at as_of - (a wait, a microsecond either side) or earlier
        end = as_of - draw(st.sampled_from(gaps + [dt.timedelta(days=2)]))
        times = [end]
        for _ in range(draw(st.integers(1, 6))):
            times.append(times[-1] - draw(st.sampled_from(gaps)))
        if draw(st.integers(0, 4)) == 0:
            times.append(as_of + draw(st.sampled_from([MICRO, dt.timedelta(minutes=10)])))  # after as_of
        for at in times:
            if draw(st.integers(0, 5)) == 0:
                page_views.append({"user_id": person["user_id"], "viewed_at": at, "url": "/cart"})
                continue
            sku = draw(st.sampled_from(SKUS))
            events.append({**{c: None for c in EVENT_TYPES}, "user_id": person["user_id"], "occurred_at": at,
                           "event_name": draw(st.sampled_from(names)),
                           "properties": None if sku is None and draw(st.booleans()) else {"sku": sku}})
    return as_of, condition, people, events, page_views


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=chain_cases())
def test_sequences_agree_with_reference(warehouse, case):
    """Ties, gaps exactly at within_after and a microsecond past it, negative steps on either side of
    their wait, `same` with NULLs, steps across streams."""
    as_of, condition, people, events, page_views = case
    actual, expected = engine_and_reference(warehouse, as_of, condition, people, events, page_views)
    assert actual == expected, (f"as_of {as_of}, condition {condition!r}: engine {sorted(actual)}, "
                                f"reference {sorted(expected)}")


@st.composite
def during_attributes(draw):
    return {"attribute": "created_at", "during": draw(PERIODS)}


def leaves(constructs):
    options = [attribute_conditions(), stream_conditions(), stream_conditions()]
    if constructs & {"during", "after", "before", "nth", "distinct", "distinct_days", "most_frequent"}:
        options += [second_edition_stream_conditions(constructs)] * 2
    if "during" in constructs:
        options.append(during_attributes())
    if "sequence" in constructs:
        options.append(sequences())
    return st.one_of(*options)


@st.composite
def at_least_groups(draw, inner):
    items = draw(st.lists(inner, min_size=1, max_size=3))
    k = draw(st.one_of(st.just(1), st.just(len(items)), st.integers(1, len(items))))  # the edges, often
    return {"at_least": k, "of": items}


def conditions(depth: int = 3, constructs=NEW_CONSTRUCTS):
    """Condition trees of depth <= `depth` (a leaf is depth 1)."""
    leaf = leaves(constructs)
    if depth <= 1:
        return leaf
    inner = conditions(depth - 1, constructs)
    groups = [st.builds(lambda kind, items: {kind: items}, st.sampled_from(["all", "any", "none"]),
                        st.lists(inner, min_size=1, max_size=3)),
              inner.map(lambda c: {"not": c})]
    if "at_least" in constructs:
        groups.append(at_least_groups(inner))
    return st.one_of(leaf, leaf, *groups)


LEAF = leaves(NEW_CONSTRUCTS)
CONDITIONS = conditions(3)


@st.composite
def cases(draw):
    as_of = draw(st.sampled_from(AS_OFS))
    condition, people, events, page_views = draw(st.tuples(CONDITIONS, people_rows(), EVENT_ROWS, PAGE_VIEW_ROWS))
    return as_of, resolve(condition, as_of), resolve(people, as_of), resolve(events, as_of), resolve(page_views, as_of)


# --- the comparison ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("property") / "proj", PROJECT_YML)
    yield wh
    wh.con.close()


def engine_and_reference(wh: Warehouse, as_of, condition, people, events, page_views):
    wh.table("main.users", people, PEOPLE_TYPES)
    wh.table("main.events", events, EVENT_TYPES)
    wh.table("main.page_views", page_views, PAGE_VIEW_TYPES)
    note("segment: " + yaml.safe_dump({"name": "s", "where": condition}, sort_keys=False))
    expected = reference.members(condition, people, {"event": events, "page_view": page_views}, as_of=as_of,
                                 stream_defs=STREAM_DEFS)
    actual = wh.members(condition, as_of)
    return actual, expected


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_engine_agrees_with_reference(warehouse, case):
    as_of, condition, people, events, page_views = case
    actual, expected = engine_and_reference(warehouse, as_of, condition, people, events, page_views)
    assert actual == expected, (f"as_of {as_of}, condition {condition!r}: engine {sorted(actual)}, "
                                f"reference {sorted(expected)}")


@st.composite
def pattern_cases(draw):
    """Many values, one contains/not_contains pattern or one stream-name glob."""
    values = draw(st.lists(NULLABLE_TEXTS, min_size=1, max_size=16))
    people = [{"user_id": i + 1, "name": v} for i, v in enumerate(values)]
    if draw(st.booleans()):
        op = draw(st.sampled_from(["contains", "not_contains"]))
        condition = {"attribute": "name", op: draw(CONTAINS_PATTERNS)}
        if draw(st.booleans()):
            condition["ignore_case"] = True
        return condition, people, []
    names = draw(st.lists(st.one_of(st.sampled_from(EVENT_NAMES), st.text(TEXT_ALPHABET, max_size=6)),
                          min_size=1, max_size=16))
    events = [{"user_id": i % 8 + 1, "occurred_at": AS_OFS[0], "event_name": n} for i, n in enumerate(names)]
    return {"event": draw(name_globs([n for n in names if n] or ["x"]))}, people[:8], events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=pattern_cases())
def test_patterns_agree_with_reference(warehouse, case):
    condition, people, events = case
    people = [{**{c: None for c in PEOPLE_TYPES}, **p} for p in people]
    events = [{**{c: None for c in EVENT_TYPES}, **e} for e in events]
    assume(people)
    actual, expected = engine_and_reference(warehouse, AS_OFS[0], condition, people, events, [])
    assert actual == expected, f"condition {condition!r}: engine {sorted(actual)}, reference {sorted(expected)}"


# --- the run path --------------------------------------------------------------------------------------
# `segwarehouse run` plans every selected segment together (shared scans, FILTER clauses, references
# inlined), so several random segments are run at once through the Runner and each one's members in
# segment_members must be what the reference selects.

@st.composite
def run_cases(draw):
    as_of = draw(st.sampled_from(AS_OFS))
    conditions_ = draw(st.lists(CONDITIONS, min_size=2, max_size=4))
    segments = {f"s{i}": c for i, c in enumerate(conditions_)}
    segments["ref"] = {"all": [{"segment": "s0"}, {"not": {"segment": "s1"}}]}
    if "split" in NEW_CONSTRUCTS:  # s0 has splits (RUN_SPLITS); a reference picks some of its groups
        segments["grp"] = {"segment": "s0", "split": draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1,
                                                                   max_size=3, unique=True))}
    people, events, page_views = draw(st.tuples(people_rows(), EVENT_ROWS, PAGE_VIEW_ROWS))
    return (as_of, resolve(segments, as_of), resolve(people, as_of), resolve(events, as_of),
            resolve(page_views, as_of))


RUN_SPLITS = {"s0": {"salt": "p", "groups": {"a": 30, "b": 70, "c": 0}}}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(case=run_cases())
def test_run_agrees_with_reference(warehouse, case):
    as_of, segments, people, events, page_views = case
    warehouse.write_segments([{"name": name, "where": c, **({"splits": RUN_SPLITS[name]} if name in RUN_SPLITS else {})}
                              for name, c in segments.items()])
    note("segments: " + yaml.safe_dump(segments, sort_keys=False))
    loaded = load_project(warehouse.root)
    adapter = DuckDBAdapter({"path": ":memory:"}).connect()
    try:
        create_table(adapter.con, "main.users", people, PEOPLE_TYPES)
        create_table(adapter.con, "main.events", events, EVENT_TYPES)
        create_table(adapter.con, "main.page_views", page_views, PAGE_VIEW_TYPES)
        result = Runner(loaded, adapter).run(list(loaded.segments), as_of)
        assert result.ok, [(r.segment, r.error) for r in result.results]
        actual = {name: set() for name in segments}
        for segment, person in adapter.con.execute(
                'SELECT segment, person_id FROM "segwarehouse"."segment_members"').fetchall():
            actual[segment].add(person)
    finally:
        adapter.close()
    evaluator = reference.Evaluator(people, {"event": events, "page_view": page_views}, as_of=as_of,
                                    stream_defs=STREAM_DEFS, segments=segments, splits=RUN_SPLITS)
    expected = {name: evaluator.members(c) for name, c in segments.items()}
    assert actual == expected


# --- numbers -----------------------------------------------------------------------------------------
# One numeric operator over many values at once: integers, fractions just either side of a bound,
# integers beyond 2**53 (no exact double), huge doubles, numeric text and text that is not a number,
# in a DOUBLE, a BIGINT, a VARCHAR column and a JSON property (also through min/max).

EDGE_NUMBERS = [-0.4, 0.4, 12.5, -2.5, 0.1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 1, -(2 ** 53 + 1), 1e300, -1e300]
ANY_NUMBER = st.one_of(st.integers(-20, 20), st.sampled_from(EDGE_NUMBERS),
                       st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 2)))


@st.composite
def number_cases(draw):
    where = draw(st.sampled_from(["score", "big", "code", "properties.amount", "max", "min"]))
    values = draw(st.lists(st.one_of(st.none(), ANY_NUMBER, st.just("n/a")), min_size=1, max_size=16))
    if where == "score":
        values = [float(v) if isinstance(v, (int, float)) and abs(v) < 2 ** 53 else None for v in values]
    elif where == "big":
        values = [v if isinstance(v, int) else None for v in values]
    elif where == "code":
        values = [None if v is None else str(v) for v in values]
    ops = draw(number_ops(st.one_of(ANY_NUMBER, st.sampled_from(values).filter(
        lambda v: isinstance(v, (int, float)))), allow_exists=False))
    people = [{**{c: None for c in PEOPLE_TYPES}, "user_id": i + 1} for i in range(len(values))]
    events = []
    if where in ("score", "big", "code"):
        for person, value in zip(people, values):
            person[where] = value
        return {"attribute": where, **ops}, people, events
    for i, value in enumerate(values):
        user = i % 8 + 1 if where in ("max", "min") else i + 1
        events.append({**{c: None for c in EVENT_TYPES}, "user_id": user, "occurred_at": AS_OFS[0],
                       "event_name": "p", "properties": {"amount": value}})
    if where == "properties.amount":
        return {"event": "p", "where": {"properties.amount": ops}}, people, events
    return {"event": "p", where: {"of": "properties.amount", **ops}}, people[:8], events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=number_cases())
def test_number_comparisons_agree_with_reference(warehouse, case):
    condition, people, events = case
    actual, expected = engine_and_reference(warehouse, AS_OFS[0], condition, people, events, [])
    assert actual == expected, (f"condition {condition!r} over {[p for p in people]} / {events}: "
                                f"engine {sorted(actual)}, reference {sorted(expected)}")


# --- calendar periods in time zones ---------------------------------------------------------------------
# as_of and row times near local midnight, DST changes and week/month/quarter/year boundaries of the
# drawn zone: Berlin (summer time from 2026-03-29 01:00 UTC), New York (winter time from 2026-11-01
# 06:00 UTC), Santiago (skips midnight on 2026-09-06, repeats 23:00 on 2026-04-04), Kolkata (+05:30).

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Asia/Kolkata"]
ZONED_AS_OFS = [dt.datetime(2026, 3, 29, 1, 30), dt.datetime(2026, 3, 30, 12), dt.datetime(2026, 11, 1, 6),
                dt.datetime(2026, 11, 2, 4, 59, 59, 999999), dt.datetime(2026, 9, 6, 4), dt.datetime(2026, 4, 5, 3),
                dt.datetime(2026, 1, 1), dt.datetime(2026, 4, 1, 0, 30), dt.datetime(2026, 7, 1, 12)]


class AtLocalMidnight(At):
    """A time near the local midnight that starts a period holding as_of (moved by `periods`), in the
    drawn zone: exact, or `offset` away (a microsecond, an hour)."""

    def __init__(self, unit: str, periods: int, offset: dt.timedelta):
        super().__init__(offset)
        self.unit, self.periods = unit, periods

    def __repr__(self) -> str:
        return f"AtLocalMidnight({self.unit!r}, {self.periods}, {self.offset!r})"

    def at(self, as_of: dt.datetime, zone: str) -> dt.datetime:
        start, _ = reference.period_of(reference.local(as_of, zone).date(), self.unit, self.periods)
        midnight = dt.datetime.combine(start, dt.time()).replace(tzinfo=ZoneInfo(zone))  # fold 0: the first
        return midnight.astimezone(dt.timezone.utc).replace(tzinfo=None) + self.offset


def resolve_zoned(value, as_of: dt.datetime, zone: str):
    if isinstance(value, AtLocalMidnight):
        return value.at(as_of, zone)
    if isinstance(value, dict):
        return {k: resolve_zoned(v, as_of, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_zoned(v, as_of, zone) for v in value]
    return resolve(value, as_of)


EDGE_DELTAS = [dt.timedelta(0), MICRO, -MICRO, dt.timedelta(hours=1), -dt.timedelta(hours=1)]
ZONED_TIME = st.one_of(ROW_TIME, st.builds(AtLocalMidnight,
                                           st.sampled_from(["day", "week", "month", "quarter", "year"]),
                                           st.integers(-2, 1), st.sampled_from(EDGE_DELTAS)))
ZONED_EVENT_ROWS = rows(st.fixed_dictionaries({
    "user_id": st.integers(1, 10), "occurred_at": ZONED_TIME,
    "event_name": st.sampled_from(["purchase", "add_to_cart"]),
    "properties": st.none(), "channel": st.none(), "qty": st.none()}), 12)


@st.composite
def zoned_people(draw):
    ids = draw(st.lists(st.integers(1, 8), unique=True, min_size=1, max_size=8))
    return [{**{c: None for c in PEOPLE_TYPES}, "user_id": key,
             "created_at": draw(st.one_of(st.none(), ZONED_TIME))} for key in ids]


@st.composite
def zoned_conditions(draw):
    period = draw(PERIODS)
    shape = draw(st.sampled_from(["attribute", "stream", "stream_after", "first"]))
    if shape == "attribute":
        return {"attribute": "created_at", "during": period}
    c = {"event": draw(st.sampled_from([None, "purchase"])), "during": period}
    if shape == "stream_after":
        c["after"] = draw(ANCHORS)
    if shape == "first":
        c["first"] = {"during": draw(PERIODS)}
    return c


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(zone=st.sampled_from(ZONES), as_of=st.sampled_from(ZONED_AS_OFS),
       conditions_=st.lists(zoned_conditions(), min_size=1, max_size=3), people=zoned_people(),
       events=ZONED_EVENT_ROWS)
def test_calendar_periods_agree_with_reference_in_zones(warehouse, zone, as_of, conditions_, people, events):
    condition = {"any": conditions_} if len(conditions_) > 1 else conditions_[0]
    people, events = resolve_zoned(people, as_of, zone), resolve_zoned(events, as_of, zone)
    (warehouse.root / "segwarehouse.yml").write_text(PROJECT_YML + f"time_zone: {zone}\n")
    try:
        warehouse.table("main.users", people, PEOPLE_TYPES)
        warehouse.table("main.events", events, EVENT_TYPES)
        warehouse.table("main.page_views", [], PAGE_VIEW_TYPES)
        note(f"zone {zone}, as_of {as_of}, segment: " + yaml.safe_dump({"where": condition}, sort_keys=False))
        expected = reference.members(condition, people, {"event": events}, as_of=as_of, stream_defs=STREAM_DEFS,
                                     time_zone=zone)
        assert warehouse.members(condition, as_of) == expected
    finally:
        (warehouse.root / "segwarehouse.yml").write_text(PROJECT_YML)
