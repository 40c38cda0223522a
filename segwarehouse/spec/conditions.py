"""Parsing and validating conditions (SPEC section 4) from YAML into the model."""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..errors import Problems, check_keys, did_you_mean
from ..yamlfile import line_of
from . import graph
from . import model as m
from .values import TIME_EXPECTED, is_finite, is_number, is_scalar, parse_duration, to_utc

GROUPS = ("all", "any", "none", "not")
RESERVED = GROUPS + ("at_least", "sequence", "attribute", "segment", "sql")

EQUALITY_OPS = ("equals", "not_equals", "in", "not_in")
ORDER_OPS = ("gt", "gte", "lt", "lte", "between")
TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with", "matches")
TIME_OPS = ("within", "older_than", "within_next", "during")
ATTRIBUTE_OPS = EQUALITY_OPS + ORDER_OPS + TEXT_OPS + ("exists",) + TIME_OPS
CASE_OPS = ("equals", "not_equals", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with")
NUMERIC_AGGREGATE_OPS = EQUALITY_OPS + ORDER_OPS
AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "nth", "distinct", "distinct_days",
              "most_frequent")
WINDOW_KEYS = ("within", "older_than", "since", "until")
CALENDAR_WINDOW_KEYS = ("during", "after", "before")  # second edition (SPEC 4, Stream conditions)
STREAM_KEYS = ("where", *WINDOW_KEYS, *CALENDAR_WINDOW_KEYS, *AGGREGATES, "performed")
STEP_KEYS = ("where", *WINDOW_KEYS, *CALENDAR_WINDOW_KEYS, "within_after", "same", "performed")
# Keys a stream must not be named after: it would be read as that key, not as the stream.
RESERVED_NAMES = frozenset((*RESERVED, *STREAM_KEYS, *STEP_KEYS, "of", "split"))
MAX_SEQUENCE_STEPS = 8

# Groups nest to at most this depth (a condition inside counts one level): deeper trees are generated,
# not written, and each level adds parentheses to the compiled SQL, which sqlglot (ours, and any
# tool reading target/compiled) parses recursively; with `sql:` at its limit too, it still parses.
MAX_DEPTH = 20
MAX_IN_VALUES = 10_000
# RE2 (DuckDB's regex engine) refuses a repetition count above 1000.
MAX_REPEAT = 1000
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")

# Constructs beyond the portable regex subset of SPEC section 4, which engines disagree on.
_UNPORTABLE_REGEX = re.compile(r"\(\?|\\[1-9pPbBAZzk]|[*+?}]\+|\{,")


@dataclass
class Context:
    """What condition parsing needs to know, and where it reports problems."""

    problems: Problems
    file: str
    streams: dict
    source_dialect: str = "duckdb"
    references: list = field(default_factory=list)  # (segment name, line)
    root: Optional[Path] = None  # the project directory, to check files that segments name
    time_zone: str = "UTC"  # the project's, which calendar periods are taken in

    def error(self, line: Optional[int], message: str) -> None:
        self.problems.add(self.file, line, message)


def parse_condition(raw: Any, ctx: Context, line: Optional[int], depth: int = 1) -> Optional[m.Condition]:
    """One condition mapping into the model; None (with problems recorded) when invalid."""
    if depth > MAX_DEPTH:
        ctx.error(line_of(raw) or line, f"conditions nest more than {MAX_DEPTH} levels deep here; flatten them "
                                        "(`all:` of `all:` is one `all:`), or move a part into its own segment")
        return None
    if not isinstance(raw, dict) or not raw:
        ctx.error(line, f"a condition must be a mapping with one kind key ({', '.join(RESERVED)} "
                        f"or a stream: {', '.join(ctx.streams) or 'none declared'}), got {_show(raw)}")
        return None
    line = line_of(raw) or line
    kinds = [k for k in raw if k in RESERVED or k in ctx.streams]
    if len(kinds) > 1:
        ctx.error(line, f"a condition has exactly one kind key, found {', '.join(map(str, kinds))}: "
                        f"wrap them in `all:` to combine")
        return None
    if not kinds:
        key = next(iter(raw))
        ctx.error(line_of(raw, key), f"unknown condition key '{key}'"
                  f"{did_you_mean(key, [*RESERVED, *ctx.streams])}; a condition starts with one of "
                  f"{', '.join([*RESERVED, *ctx.streams])}")
        return None
    kind = kinds[0]
    if kind in GROUPS:
        return _group(kind, raw, ctx, depth)
    if kind == "at_least":
        return _at_least(raw, ctx, depth)
    if kind == "sequence":
        return _sequence(raw, ctx)
    if kind == "attribute":
        return _attribute(raw, ctx)
    if kind == "segment":
        return _segment_ref(raw, ctx)
    if kind == "sql":
        return _sql(raw, ctx)
    return _stream(kind, raw, ctx)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _extra_keys(raw: dict, allowed: tuple, ctx: Context, what: str) -> None:
    check_keys(raw, allowed, f"in {what}", ctx.problems, ctx.file)


def _group(kind: str, raw: dict, ctx: Context, depth: int) -> Optional[m.Condition]:
    _extra_keys(raw, (kind,), ctx, f"a `{kind}` group")
    value, line = raw[kind], line_of(raw, kind)
    if kind == "not":
        inner = parse_condition(value, ctx, line, depth + 1)
        return m.Not(inner, line=line) if inner else None
    if not isinstance(value, list) or not value:
        ctx.error(line, f"`{kind}` takes a non-empty list of conditions")
        return None
    items = [parse_condition(item, ctx, line_of(value, i) or line, depth + 1) for i, item in enumerate(value)]
    if any(item is None for item in items):
        return None
    cls = {"all": m.All, "any": m.AnyOf, "none": m.NoneOf}[kind]
    return cls(tuple(items), line=line)


def _attribute(raw: dict, ctx: Context) -> Optional[m.Condition]:
    line = line_of(raw, "attribute")
    column = raw["attribute"]
    if not isinstance(column, str) or not column.strip() or _BAD_PATH_CHAR.search(column):
        ctx.error(line, "`attribute` names a column of the people table")
        return None
    ops, ignore_case = _required_ops({k: v for k, v in raw.items() if k != "attribute"}, raw, ctx,
                                     ATTRIBUTE_OPS, f"attribute '{column}'", line)
    if ops is None:
        return None
    return m.Attribute(column, ops, ignore_case, line=line)


def _ops(items: dict, container: dict, ctx: Context, allowed: tuple, what: str):
    """Operators of an attribute, filter or aggregate; returns (ops, ignore_case) or (None, _)."""
    ok, ops, ignore_case = True, [], False
    for name, value in items.items():
        line = line_of(container, name)
        if name == "ignore_case":
            if not isinstance(value, bool):
                ctx.error(line, "`ignore_case` is true or false")
                ok = False
            ignore_case = value is True
            continue
        if name not in allowed:
            ctx.error(line, f"unknown operator '{name}' for {what}{did_you_mean(name, allowed)}; "
                            f"allowed: {', '.join(allowed)}")
            ok = False
            continue
        op = _op(name, value, ctx, line)
        if op is None:
            ok = False
        else:
            ops.append(op)
    if ignore_case and not any(op.name in CASE_OPS for op in ops):
        ctx.error(line_of(container, "ignore_case"),
                  f"`ignore_case` applies to {', '.join(CASE_OPS)}; {what} has none of them")
        ok = False
    return (tuple(ops) if ok else None), ignore_case


def _required_ops(items: dict, container: dict, ctx: Context, allowed: tuple, what: str, line: Optional[int]):
    """_ops, with at least one operator required; (None, _) when invalid or empty."""
    ops, ignore_case = _ops(items, container, ctx, allowed, what)
    if ops == ():
        ctx.error(line, f"{what} needs an operator: {', '.join(allowed)}")
        return None, ignore_case
    return ops, ignore_case


def _comparable(value: Any) -> Any:
    """A comparison literal with its YAML type kept; dates become naive UTC datetimes."""
    stamp = to_utc(value) if not isinstance(value, str) else None
    return stamp if stamp is not None else value


def _literal_problem(value: Any) -> Optional[str]:
    """Why a comparison literal has no faithful SQL literal, or None."""
    if not is_finite(value):
        return (f"{value} is not a number every engine can compare with: write a finite number "
                "(or `exists:` to test for a value)")
    if isinstance(value, (dt.date, dt.datetime)) and to_utc(value) is None:
        return f"{value} is outside the calendar segwarehouse compares in: give {TIME_EXPECTED}"
    if isinstance(value, str) and "\x00" in value:
        return "text with a NUL character (\\x00) can't be compared on PostgreSQL or Snowflake; remove it"
    return None


def _op(name: str, value: Any, ctx: Context, line: Optional[int]) -> Optional[m.Op]:
    def bad(expected: str) -> None:
        ctx.error(line, f"`{name}` takes {expected}, got {_show(value)}")

    for item in (value if isinstance(value, list) else [value]):
        problem = _literal_problem(item)
        if problem:
            ctx.error(line, f"`{name}`: {problem}")
            return None

    if name in ("equals", "not_equals"):
        if not is_scalar(value):
            return bad("a string, number, boolean or date")
        return m.Op(name, _comparable(value))
    if name in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(is_scalar(v) for v in value):
            return bad("a non-empty list of strings, numbers, booleans or dates")
        if len(value) > MAX_IN_VALUES:
            ctx.error(line, f"`{name}` lists {len(value):,} values; at most {MAX_IN_VALUES:,} (compiling a longer "
                            "list takes seconds per segment): use a static segment's CSV for long lists")
            return None
        return m.Op(name, tuple(_comparable(v) for v in value))
    if name in ("gt", "gte", "lt", "lte"):
        ordered = _ordered(value)
        return m.Op(name, ordered) if ordered is not None else bad(f"a number or {TIME_EXPECTED}")
    if name == "between":
        if not isinstance(value, list) or len(value) != 2:
            return bad("a list of two values [low, high]")
        lo, hi = _ordered(value[0]), _ordered(value[1])
        if lo is None or hi is None or is_number(lo) != is_number(hi):
            return bad(f"two numbers or two of {TIME_EXPECTED}")
        return m.Op(name, (lo, hi))
    if name in TEXT_OPS:
        if not isinstance(value, str) or value == "":
            return bad("a non-empty string")
        if name == "matches" and not _valid_regex(value, ctx, line):
            return None
        return m.Op(name, value)
    if name == "exists":
        return m.Op(name, value) if isinstance(value, bool) else bad("true or false")
    if name == "during":
        period = _calendar_period(value, ctx, line)
        return m.Op(name, period) if period else None
    if name in TIME_OPS:
        duration = parse_duration(value)
        return m.Op(name, duration) if duration else bad("a duration such as 15m, 12h, 30d or 2w (at most 200 years)")
    raise AssertionError(name)


def _ordered(value: Any) -> Any:
    if is_number(value):
        return value
    return to_utc(value)


def _valid_regex(pattern: str, ctx: Context, line: Optional[int]) -> bool:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as e:
        ctx.error(line, f"invalid regular expression {_show(pattern)}: {e}")
        return False
    if any(int(n) > MAX_REPEAT for found in _REPEAT.finditer(pattern) for n in found.groups() if n):
        ctx.error(line, f"regular expression {_show(pattern)} repeats more than {MAX_REPEAT} times ({{m,n}}), "
                        "beyond what DuckDB's and Snowflake's engines accept")
        return False
    if _UNPORTABLE_REGEX.search(pattern):
        ctx.error(line, f"regular expression {pattern!r} uses syntax outside the portable subset "
                        r"(. * + ? [] () | ^ $ \d \w \s {m,n}); engines disagree on it")
        return False
    return True


def _segment_ref(raw: dict, ctx: Context) -> Optional[m.Condition]:
    _extra_keys(raw, ("segment", "split"), ctx, "a segment reference")
    line, name = line_of(raw, "segment"), raw["segment"]
    if not isinstance(name, str) or not name:
        ctx.error(line, "`segment` names another segment")
        return None
    split = _split_groups(raw, ctx) if "split" in raw else ()
    if split is None:
        return None
    ctx.references.append((name, line))
    return m.SegmentRef(name, split, line=line)


# What `sql:` may not contain: it is one boolean expression over the people row (SPEC section 4), so
# nothing that reads tables, aggregates rows, binds parameters or names its result.
# A subquery over literal values (EXISTS (SELECT 1 FROM UNNEST([...]) ...)) is an expression of the row
# and stays allowed, aggregates and aliases inside it included; one that reads a table is not.
_NOT_IN_SQL = {exp.Table: "a table (a subquery reading a table)",
               exp.AggFunc: "an aggregate function", exp.Window: "a window function", exp.Star: "*",
               exp.Placeholder: "a parameter placeholder", exp.Parameter: "a parameter",
               exp.PositionalColumn: "a positional column", exp.Alias: "an alias (AS)",
               exp.PropertyEQ: "an assignment (:=)"}
_ANYWHERE = (exp.Table, exp.Placeholder, exp.Parameter)
# Values that are certainly not booleans: `sql: "age + 1"` would fail on the engine, not here.
_NOT_BOOLEAN = (exp.Subquery, exp.Literal, exp.Null, exp.Array, exp.Struct, exp.Interval, exp.Add, exp.Sub, exp.Mul, exp.Div,
                exp.IntDiv, exp.Mod, exp.DPipe, exp.Neg, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor)
# Nesting of the expression tree (parentheses, NOT, function calls, the column itself): it shares
# the parsing budget of MAX_DEPTH. A chain of one operator (a OR b OR c ...) counts once.
MAX_SQL_DEPTH = 10


def _sql(raw: dict, ctx: Context) -> Optional[m.Condition]:
    _extra_keys(raw, ("sql",), ctx, "an `sql` condition")
    line, text = line_of(raw, "sql"), raw["sql"]
    if not isinstance(text, str) or not text.strip():
        ctx.error(line, "`sql` takes a boolean SQL expression as a string")
        return None
    try:
        statements = sqlglot.parse(text, read=ctx.source_dialect)
    except (ParseError, sqlglot.errors.TokenError) as e:
        ctx.error(line, f"invalid SQL in `sql:` ({ctx.source_dialect}): {_first_line(e)}")
        return None
    except RecursionError:
        statements = None
    problem = _sql_problem(statements)
    if problem:
        ctx.error(line, f"`sql` takes one boolean expression over the people table's columns; {problem}")
        return None
    return m.Sql(text, line=line)


def _sql_problem(statements: Optional[list]) -> Optional[str]:
    """Why parsed `sql:` text is not one boolean expression over the people row, or None."""
    if statements is None:
        return f"this one nests more than {MAX_SQL_DEPTH} levels deep"
    if len(statements) != 1 or statements[0] is None:
        return "found several statements or an empty one (a `;`)"
    parsed = statements[0]
    if not isinstance(parsed, (exp.Condition, exp.Alias, exp.Star, exp.Subquery)):
        return f"found a statement ({type(parsed).__name__.upper()}), not an expression"
    outside_subqueries = set(map(id, parsed.walk(prune=lambda n: isinstance(n, exp.Query))))
    for node in parsed.walk():
        for kind, what in _NOT_IN_SQL.items():
            if isinstance(node, kind) and (id(node) in outside_subqueries or kind in _ANYWHERE):
                return f"found {what}, which it can't hold (reference another segment, or use a stream condition)"
    if isinstance(parsed.unnest(), _NOT_BOOLEAN):
        return "this one is a value (a number, text, arithmetic or a scalar subquery), not a condition: compare " \
               "it, e.g. age + 1 > 3, or use EXISTS (...)"
    if _depth(parsed) > MAX_SQL_DEPTH:
        return f"this one nests more than {MAX_SQL_DEPTH} levels deep"
    return None


def _depth(tree: exp.Expression) -> int:
    """Nesting depth of an expression tree, a run of one binary operator counted once (iterative)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.iter_expressions():
            same_chain = isinstance(child, exp.Binary) and type(child) is type(node)
            stack.append((child, depth if same_chain else depth + 1))
    return deepest


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _path(text: Any, stream: m.Stream) -> m.Path:
    column, *keys = str(text).split(".")
    return m.Path(column, tuple(keys))


# JSON path keys are written into a quoted JSON path string ($."key"): a quote, a backslash or a
# control character would end it or be read differently by each engine.
_BAD_PATH_CHAR = re.compile(r'["\\\x00-\x1f\x7f]')


def _path_problem(text: Any) -> Optional[str]:
    """Why `text` is not a column or column.json.path, or None."""
    if not isinstance(text, str) or not text.strip():
        return f"names a column or column.json.path (e.g. properties.amount), got {_show(text)}"
    parts = text.split(".")
    if any(not part.strip() for part in parts):
        return f"{_show(text)} has an empty part; write column or column.key.key"
    if any(_BAD_PATH_CHAR.search(part) for part in parts):
        return f"{_show(text)} contains a quote, backslash or control character, which a column or JSON key " \
               "can't hold here"
    return None


def _stream(kind: str, raw: dict, ctx: Context) -> Optional[m.Condition]:
    stream: m.Stream = ctx.streams[kind]
    line = line_of(raw, kind)
    _extra_keys(raw, (kind, *STREAM_KEYS), ctx, f"a `{kind}` condition")
    ok = True
    pattern = raw[kind]
    if pattern is not None and not isinstance(pattern, (str, int)) or isinstance(pattern, bool):
        ctx.error(line, f"`{kind}` takes a name pattern such as \"add_to_cart|checkout_started\", or null")
        ok = False
    elif pattern is not None and stream.name_column is None:
        ctx.error(line, f"stream '{kind}' declares no `name` column, so its condition takes no pattern: "
                        f"write `{kind}: null`")
        ok = False
    filters = []
    where = raw.get("where")
    if where is not None:
        if not isinstance(where, dict) or not where:
            ctx.error(line_of(raw, "where"), "`where` takes a mapping of column (or column.json.path) to a value, "
                                             "a list, or operators")
            ok = False
        else:
            for key, value in where.items():
                f = _filter(key, value, where, stream, ctx)
                ok = ok and f is not None
                filters.append(f)
    window = _window(raw, ctx)
    ok = ok and window is not None
    aggregates = []
    for name in AGGREGATES:
        if name in raw:
            agg = _aggregate(name, raw[name], raw, stream, ctx)
            ok = ok and agg is not None
            aggregates.append(agg)
    if "performed" in raw:
        performed = raw["performed"]
        if not isinstance(performed, bool):
            ctx.error(line_of(raw, "performed"), "`performed` is true or false")
            ok = False
        elif "count" in raw:
            ctx.error(line_of(raw, "performed"), "give either `performed` or `count`, not both")
            ok = False
        else:
            aggregates.append(m.Aggregate("count", (m.Op("equals", 0),) if not performed else (m.Op("gte", 1),)))
    if not ok:
        return None
    if not aggregates:
        aggregates = [m.Aggregate("count", (m.Op("gte", 1),))]
    match = m.StreamMatch(kind, None if pattern is None else str(pattern), tuple(filters), window)
    return m.StreamCondition(match, tuple(aggregates), line=line)


def _filter(key: Any, value: Any, where: dict, stream: m.Stream, ctx: Context) -> Optional[m.RowFilter]:
    line = line_of(where, key)
    problem = _path_problem(key)
    if problem:
        ctx.error(line, f"a `where` key {problem}")
        return None
    path = _path(key, stream)
    if isinstance(value, dict):
        ops, ignore_case = _required_ops(value, value, ctx, ATTRIBUTE_OPS, f"filter '{key}'", line)
        if ops is None:
            return None
        return m.RowFilter(path, ops, ignore_case)
    if isinstance(value, list):
        op = _op("in", value, ctx, line)
    else:
        op = _op("equals", value, ctx, line)
    return m.RowFilter(path, (op,)) if op else None


def _window(raw: dict, ctx: Context) -> Optional[m.Window]:
    values, ok = {}, True
    for key in WINDOW_KEYS:
        if key not in raw:
            continue
        line = line_of(raw, key)
        if key in ("within", "older_than"):
            values[key] = parse_duration(raw[key])
            expected = "a duration such as 15m, 12h, 30d or 2w (at most 200 years)"
        else:
            values[key] = to_utc(raw[key])
            expected = TIME_EXPECTED
        if values[key] is None:
            ctx.error(line, f"`{key}` takes {expected}, got {_show(raw[key])}")
            ok = False
    calendar = _calendar_window(raw, ctx)
    if calendar is None:
        return None
    return m.Window(**values, **calendar) if ok else None


def _aggregate(name: str, value: Any, raw: dict, stream: m.Stream, ctx: Context) -> Optional[m.Aggregate]:
    line = line_of(raw, name)
    if not isinstance(value, dict) or not value:
        ctx.error(line, f"`{name}` takes a mapping of operators, e.g. {{gte: 3}}")
        return None
    of = None
    items = dict(value)
    if name in ("sum", "avg", "min", "max"):
        if not isinstance(items.get("of"), str):
            ctx.error(line, f"`{name}` needs `of:` naming a column or column.json.path, e.g. of: properties.amount")
            return None
        problem = _path_problem(items["of"])
        if problem:
            ctx.error(line_of(value, "of"), f"`{name}.of` {problem}")
            return None
        of = _path(items.pop("of"), stream)
        allowed = NUMERIC_AGGREGATE_OPS
    elif name == "count":
        allowed = NUMERIC_AGGREGATE_OPS
    else:  # first, last (nth, distinct, distinct_days, most_frequent: below): times
        allowed = ("gt", "gte", "lt", "lte", "between", *TIME_OPS, "exists")
    if name in SECOND_EDITION_AGGREGATES:
        return _second_edition_aggregate(name, value, raw, stream, ctx)
    ops, _ = _required_ops(items, value, ctx, allowed, f"`{name}`", line)
    if ops is None:
        return None
    if name in ("count", "sum", "avg", "min", "max"):
        for op in ops:
            values = op.value if op.name in ("in", "not_in", "between") else (op.value,)
            if not all(is_number(v) for v in values):
                ctx.error(line_of(value, op.name), f"`{name}` compares numbers; `{op.name}` got {_show(op.value)}")
                return None
    if name in ("first", "last"):
        for op in ops:
            if op.name in ORDER_OPS and (is_number(op.value) or (op.name == "between" and is_number(op.value[0]))):
                ctx.error(line_of(value, op.name), f"`{name}` is a time: compare it with a date/time or a duration")
                return None
    return m.Aggregate(name, ops, of)


def walk(condition: m.Condition, visit: Callable[[m.Condition], None]) -> None:
    """Call `visit` on every node of a condition tree (spec.graph.walk also gives each node's path)."""
    for node in graph.walk(condition):
        visit(node.condition)


# --- second edition of the language (SPEC section 4): at_least, sequence, calendar windows, ----------
# --- after/before, nth/distinct/distinct_days/most_frequent, split-aware references -----------------

SECOND_EDITION_AGGREGATES = ("nth", "distinct", "distinct_days", "most_frequent")
MOST_FREQUENT_OPS = ("equals", "not_equals", "in", "not_in", "contains", "not_contains", "starts_with",
                     "ends_with")
NTH_OPS = ("gt", "gte", "lt", "lte", "between", *TIME_OPS, "exists")
CALENDAR_KEYS = ("unit", "offset")
ANCHOR_KEYS = ("attribute", "within")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _at_least(raw: dict, ctx: Context, depth: int) -> Optional[m.Condition]:
    """`at_least: K` with `of: [c, ...]`: 1 <= K <= len(of)."""
    _extra_keys(raw, ("at_least", "of"), ctx, "an `at_least` group")
    line, k = line_of(raw, "at_least"), raw["at_least"]
    if "of" not in raw:
        ctx.error(line, "`at_least: K` needs `of:`, the list of conditions to count, e.g. "
                        "{at_least: 2, of: [c1, c2, c3]}")
        return None
    items_raw, of_line = raw["of"], line_of(raw, "of")
    if not isinstance(items_raw, list) or not items_raw:
        ctx.error(of_line, "`of` takes a non-empty list of conditions")
        return None
    items = [parse_condition(item, ctx, line_of(items_raw, i) or of_line, depth + 1) for i, item in enumerate(items_raw)]
    if not _is_int(k) or not 1 <= k <= len(items_raw):
        ctx.error(line, f"`at_least` takes a whole number from 1 to {len(items_raw)} (the length of `of`), "
                        f"got {_show(k)}")
        return None
    if any(item is None for item in items):
        return None
    return m.AtLeast(k, tuple(items), line=line)


def _calendar_period(value: Any, ctx: Context, line: Optional[int]) -> Optional[m.CalendarPeriod]:
    """`{unit: day|week|month|quarter|year, offset: N}` with N <= 0 (0, the default: the current one)."""
    units = m.CalendarPeriod.UNITS
    if not isinstance(value, dict) or "unit" not in value:
        ctx.error(line, f"`during` takes {{unit: {'|'.join(units)}, offset: N}} (N <= 0), got {_show(value)}")
        return None
    _extra_keys(value, CALENDAR_KEYS, ctx, "`during`")
    unit, offset = value["unit"], value.get("offset", 0)
    ok = all(k in CALENDAR_KEYS for k in value)
    if unit not in units:
        ctx.error(line_of(value, "unit"), f"unknown calendar unit {_show(unit)}"
                  f"{did_you_mean(unit, units) if isinstance(unit, str) else ''}; `unit` is one of {', '.join(units)}")
        ok = False
    if not _is_int(offset) or offset > 0:
        ctx.error(line_of(value, "offset"), f"`offset` is 0 (the {unit if unit in units else 'period'} that "
                  f"holds as_of) or negative (-1: the one before), got {_show(offset)}; periods after as_of "
                  "never match")
        ok = False
    return m.CalendarPeriod(unit, offset, ctx.time_zone) if ok else None


def _anchor(key: str, value: Any, ctx: Context, line: Optional[int]) -> Optional[m.Anchor]:
    """`after`/`before: {attribute: COL, within: D}`. COL is checked against the people table's
    columns by the catalog check (`validate --catalog`, run): offline they are unknown."""
    if not isinstance(value, dict) or "attribute" not in value:
        ctx.error(line, f"`{key}` takes {{attribute: PEOPLE_COLUMN, within: DURATION (optional)}}, got "
                        f"{_show(value)}")
        return None
    _extra_keys(value, ANCHOR_KEYS, ctx, f"`{key}`")
    ok = all(k in ANCHOR_KEYS for k in value)
    column = value["attribute"]
    if not isinstance(column, str) or not column.strip():
        ctx.error(line_of(value, "attribute"), f"`{key}.attribute` names a column of the people table, got "
                                               f"{_show(column)}")
        ok = False
    within = None
    if "within" in value:
        within = parse_duration(value["within"])
        if within is None:
            ctx.error(line_of(value, "within"), f"`{key}.within` takes a duration such as 15m, 12h, 30d or 2w "
                                                f"(at most 200 years), got {_show(value['within'])}")
            ok = False
    return m.Anchor(column, within) if ok else None


def _calendar_window(raw: dict, ctx: Context) -> Optional[dict]:
    """The window keys `during`, `after`, `before` of a stream condition or step; None when invalid."""
    values, ok = {}, True
    if "during" in raw:
        values["during"] = _calendar_period(raw["during"], ctx, line_of(raw, "during"))
        ok = values["during"] is not None
    for key in ("after", "before"):
        if key in raw:
            values[key] = _anchor(key, raw[key], ctx, line_of(raw, key))
            ok = ok and values[key] is not None
    return values if ok else None


def _second_edition_aggregate(name: str, value: dict, raw: dict, stream: m.Stream,
                              ctx: Context) -> Optional[m.Aggregate]:
    """nth: {n: K, time ops}; distinct: {of: PATH, number ops}; distinct_days: {number ops};
    most_frequent: {of: PATH, text ops, ignore_case}."""
    line = line_of(raw, name)
    items, of, n = dict(value), None, None
    if name in ("distinct", "most_frequent"):
        of_text = items.pop("of", None)
        if not isinstance(of_text, str) or not of_text.strip():
            ctx.error(line, f"`{name}` needs `of:` naming a column or column.json.path, e.g. of: properties.sku")
            return None
        of = _path(of_text, stream)
    if name == "nth":
        n = items.pop("n", None)
        if not _is_int(n) or n < 1:
            ctx.error(line_of(value, "n") if "n" in value else line,
                      f"`nth` needs `n:`, a whole number >= 1 (n: 1 is the first row), got {_show(n)}")
            return None
        allowed = NTH_OPS
    elif name == "most_frequent":
        allowed = MOST_FREQUENT_OPS
        for op_name in items:
            if op_name != "ignore_case" and op_name not in allowed and op_name in ATTRIBUTE_OPS:
                ctx.error(line_of(value, op_name), f"`most_frequent` is a text value: `{op_name}` does not apply; "
                                                   f"it takes {', '.join(allowed)}, ignore_case")
                return None
    else:
        allowed = NUMERIC_AGGREGATE_OPS
    ops, ignore_case = _required_ops(items, value, ctx, allowed, f"`{name}`", line)
    if ops is None:
        return None
    for op in ops:
        values = op.value if op.name in ("in", "not_in", "between") else (op.value,)
        if name in ("distinct", "distinct_days") and not all(is_number(v) for v in values):
            ctx.error(line_of(value, op.name), f"`{name}` compares numbers; `{op.name}` got {_show(op.value)}")
            return None
        if name == "most_frequent" and not all(isinstance(v, str) for v in values):
            ctx.error(line_of(value, op.name), f"`most_frequent` is text: `{op.name}` takes text, got "
                                               f"{_show(op.value)}; quote it, e.g. '5'")
            return None
        if name == "nth" and op.name in ORDER_OPS and any(is_number(v) for v in values):
            ctx.error(line_of(value, op.name), "`nth` is a time: compare it with a date/time or a duration")
            return None
    return m.Aggregate(name, ops, of, n=n, ignore_case=ignore_case)


def _split_groups(raw: dict, ctx: Context) -> Optional[tuple[str, ...]]:
    """`split: [GROUP, ...]` of a segment reference; the groups are checked against the referenced
    segment's `splits` once every segment is parsed (project.loader)."""
    value, line = raw["split"], line_of(raw, "split")
    if not isinstance(value, list) or not value or not all(isinstance(g, (str, int)) and not isinstance(g, bool)
                                                          for g in value):
        ctx.error(line, f"`split` takes a non-empty list of split group names, e.g. [control], got {_show(value)}")
        return None
    return tuple(dict.fromkeys(str(g) for g in value))


def _sequence(raw: dict, ctx: Context) -> Optional[m.Condition]:
    """`sequence: [step, ...]`: 2 to 8 steps, each a stream condition without aggregate keys."""
    _extra_keys(raw, ("sequence",), ctx, "a `sequence`")
    line, steps_raw = line_of(raw, "sequence"), raw["sequence"]
    if not isinstance(steps_raw, list) or not 2 <= len(steps_raw) <= MAX_SEQUENCE_STEPS:
        count = f"{len(steps_raw)} step(s)" if isinstance(steps_raw, list) else _show(steps_raw)
        ctx.error(line, f"`sequence` takes a list of 2 to {MAX_SEQUENCE_STEPS} steps, got {count}")
        return None
    steps = [_step(step, i, len(steps_raw), ctx, line_of(steps_raw, i) or line) for i, step in enumerate(steps_raw)]
    if any(step is None for step in steps):
        return None
    return m.Sequence(tuple(steps), line=line)


def _step(raw: Any, index: int, count: int, ctx: Context, line: Optional[int]) -> Optional[m.Step]:
    streams = ", ".join(ctx.streams) or "none declared"
    if not isinstance(raw, dict) or not raw:
        ctx.error(line, f"a sequence step is a stream condition ({streams}), got {_show(raw)}")
        return None
    line = line_of(raw) or line
    kinds = [k for k in raw if k in ctx.streams]
    others = [k for k in raw if k in RESERVED]
    if others or len(kinds) != 1:
        if others:
            problem = f"a sequence step is a stream condition ({streams}), not `{others[0]}`"
        elif kinds:
            problem = f"a sequence step names one stream, found {', '.join(kinds)}"
        else:
            key = next(iter(raw))
            problem = (f"unknown key '{key}' in a sequence step{did_you_mean(key, list(ctx.streams))}; "
                       f"a step starts with a stream: {streams}")
        ctx.error(line_of(raw, others[0]) if others else line, problem)
        return None
    kind, ok = kinds[0], True
    for key in raw:
        if key in AGGREGATES:
            ctx.error(line_of(raw, key), f"`{key}` is an aggregate key: a sequence step selects rows, it takes "
                                         f"no aggregates (allowed: {', '.join(STEP_KEYS)})")
            ok = False
        elif key != kind and key not in STEP_KEYS:
            ctx.error(line_of(raw, key), f"unknown key '{key}' in a sequence step{did_you_mean(key, STEP_KEYS)}; "
                                         f"allowed: {', '.join(STEP_KEYS)}")
            ok = False
    first, last = index == 0, index == count - 1
    for key in ("within_after", "same"):
        if first and key in raw:
            ctx.error(line_of(raw, key), f"`{key}` relates a step to the step before it: the first step has none")
            ok = False
    performed = raw.get("performed", True)
    if "performed" in raw and not last:
        ctx.error(line_of(raw, "performed"), f"only the last step of a sequence may have `performed` "
                                             f"(this is step {index + 1} of {count})")
        ok = False
    elif not isinstance(performed, bool):
        ctx.error(line_of(raw, "performed"), "`performed` is true or false")
        ok = False
    within_after = None
    if "within_after" in raw and not first:
        within_after = parse_duration(raw["within_after"])
        if within_after is None:
            ctx.error(line_of(raw, "within_after"), "`within_after` takes a duration such as 15m, 12h, 30d or 2w "
                                                    f"(at most 200 years), got {_show(raw['within_after'])}")
            ok = False
    same: tuple = ()
    if "same" in raw and not first:
        value = raw["same"]
        if not isinstance(value, list) or not value or not all(isinstance(p, str) and p.strip() for p in value):
            ctx.error(line_of(raw, "same"), f"`same` takes a list of columns or column.json.paths, e.g. "
                                            f"[properties.sku], got {_show(value)}")
            ok = False
        else:
            same = tuple(_path(p, ctx.streams[kind]) for p in value)
    if not ok:
        return None
    # The rows a step selects are those of a stream condition with the same keys (SPEC Sequences rule 1).
    selection = copy.copy(raw)
    for key in ("within_after", "same", "performed"):
        selection.pop(key, None)
    condition = _stream(kind, selection, ctx)
    if condition is None:
        return None
    return m.Step(condition.match, within_after, same, performed, line=line)
