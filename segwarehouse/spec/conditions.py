"""Parsing and validating conditions (SPEC section 4) from YAML into the model."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import sqlglot
from sqlglot.errors import ParseError

from ..errors import Problems, check_keys, did_you_mean
from ..yamlfile import line_of
from . import graph
from . import model as m
from .values import is_number, is_scalar, parse_duration, to_utc

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


def parse_condition(raw: Any, ctx: Context, line: Optional[int]) -> Optional[m.Condition]:
    """One condition mapping into the model; None (with problems recorded) when invalid."""
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
        return _group(kind, raw, ctx)
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


def _group(kind: str, raw: dict, ctx: Context) -> Optional[m.Condition]:
    _extra_keys(raw, (kind,), ctx, f"a `{kind}` group")
    value, line = raw[kind], line_of(raw, kind)
    if kind == "not":
        inner = parse_condition(value, ctx, line)
        return m.Not(inner, line=line) if inner else None
    if not isinstance(value, list) or not value:
        ctx.error(line, f"`{kind}` takes a non-empty list of conditions")
        return None
    items = [parse_condition(item, ctx, line_of(value, i) or line) for i, item in enumerate(value)]
    if any(item is None for item in items):
        return None
    cls = {"all": m.All, "any": m.AnyOf, "none": m.NoneOf}[kind]
    return cls(tuple(items), line=line)


def _attribute(raw: dict, ctx: Context) -> Optional[m.Condition]:
    line = line_of(raw, "attribute")
    column = raw["attribute"]
    if not isinstance(column, str) or not column:
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


def _op(name: str, value: Any, ctx: Context, line: Optional[int]) -> Optional[m.Op]:
    def bad(expected: str) -> None:
        ctx.error(line, f"`{name}` takes {expected}, got {_show(value)}")

    if name in ("equals", "not_equals"):
        if not is_scalar(value):
            return bad("a string, number, boolean or date")
        return m.Op(name, _comparable(value))
    if name in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(is_scalar(v) for v in value):
            return bad("a non-empty list of strings, numbers, booleans or dates")
        return m.Op(name, tuple(_comparable(v) for v in value))
    if name in ("gt", "gte", "lt", "lte"):
        ordered = _ordered(value)
        return m.Op(name, ordered) if ordered is not None else bad("a number or an ISO-8601 date/time")
    if name == "between":
        if not isinstance(value, list) or len(value) != 2:
            return bad("a list of two values [low, high]")
        lo, hi = _ordered(value[0]), _ordered(value[1])
        if lo is None or hi is None or is_number(lo) != is_number(hi):
            return bad("two numbers or two ISO-8601 dates/times")
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
    except re.error as e:
        ctx.error(line, f"invalid regular expression {pattern!r}: {e}")
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


def _sql(raw: dict, ctx: Context) -> Optional[m.Condition]:
    _extra_keys(raw, ("sql",), ctx, "an `sql` condition")
    line, text = line_of(raw, "sql"), raw["sql"]
    if not isinstance(text, str) or not text.strip():
        ctx.error(line, "`sql` takes a boolean SQL expression as a string")
        return None
    try:
        statements = [s for s in sqlglot.parse(text, read=ctx.source_dialect) if s is not None]
    except (ParseError, sqlglot.errors.TokenError) as e:
        ctx.error(line, f"invalid SQL in `sql:` ({ctx.source_dialect}): {_first_line(e)}")
        return None
    parsed = statements[0] if len(statements) == 1 else None
    if parsed is None or isinstance(parsed, (sqlglot.exp.Query, sqlglot.exp.DDL, sqlglot.exp.DML)) \
            or parsed.find(sqlglot.exp.Command):
        ctx.error(line, "`sql` takes one boolean expression over the people table's columns, not a statement")
        return None
    return m.Sql(text, line=line)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _path(text: Any, stream: m.Stream) -> m.Path:
    column, *keys = str(text).split(".")
    return m.Path(column, tuple(keys))


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
            expected = "an ISO-8601 date or date/time"
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
