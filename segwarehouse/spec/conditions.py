"""Parsing and validating conditions (SPEC section 4) from YAML into the model."""
from __future__ import annotations

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
RESERVED = GROUPS + ("attribute", "segment", "sql")

EQUALITY_OPS = ("equals", "not_equals", "in", "not_in")
ORDER_OPS = ("gt", "gte", "lt", "lte", "between")
TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with", "matches")
TIME_OPS = ("within", "older_than", "within_next")
ATTRIBUTE_OPS = EQUALITY_OPS + ORDER_OPS + TEXT_OPS + ("exists",) + TIME_OPS
CASE_OPS = ("equals", "not_equals", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with")
NUMERIC_AGGREGATE_OPS = EQUALITY_OPS + ORDER_OPS
AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last")
WINDOW_KEYS = ("within", "older_than", "since", "until")
STREAM_KEYS = ("where", *WINDOW_KEYS, *AGGREGATES, "performed")

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
    _extra_keys(raw, ("segment",), ctx, "a segment reference")
    line, name = line_of(raw, "segment"), raw["segment"]
    if not isinstance(name, str) or not name:
        ctx.error(line, "`segment` names another segment")
        return None
    ctx.references.append((name, line))
    return m.SegmentRef(name, line=line)


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
    return m.Window(**values) if ok else None


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
    else:  # first, last: times
        allowed = ("gt", "gte", "lt", "lte", "between", *TIME_OPS, "exists")
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
