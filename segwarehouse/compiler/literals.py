"""Typed literals and casts: every value reaches SQL through sqlglot, never through string gluing."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlglot import exp

from ..spec import model as m
from ..spec.values import is_number, printable

TEXT, NUMBER, TIMESTAMP, BOOLEAN = "TEXT", "DOUBLE", "TIMESTAMP", "BOOLEAN"
EXACT = "DECIMAL(38, 9)"  # integers a DOUBLE cannot hold exactly (2**53 up to 10**28)
NUMBERS = (NUMBER, EXACT)
_TYPES: dict[str, exp.DataType] = {}


def data_type(name: str) -> exp.DataType:
    """A fresh DataType node; parsing type names is slow enough to show in compile profiles, so cache."""
    if name not in _TYPES:
        _TYPES[name] = exp.DataType.build(name)
    return _TYPES[name].copy()


def kind_of(value: Any) -> str:
    """How a YAML literal compares: as a number, a timestamp, a boolean or text (SPEC section 4)."""
    if isinstance(value, bool):
        return BOOLEAN
    if is_number(value):
        return EXACT if isinstance(value, int) and 2 ** 53 <= abs(value) < 10 ** 28 else NUMBER
    if isinstance(value, (dt.datetime, dt.date)):
        return TIMESTAMP
    return TEXT


def common_kind(values: Any) -> str:
    """The kind two bounds compare as (`between`): exact when either bound needs it."""
    kinds = {kind_of(v) for v in values}
    return EXACT if kinds <= set(NUMBERS) and EXACT in kinds else kind_of(values[0])


def cast(expression: exp.Expression, to: str) -> exp.Expression:
    """CAST without sqlglot's builder, which parses the type name on every call."""
    return exp.Cast(this=expression, to=data_type(to))


def named(expression: exp.Expression, name: str) -> exp.Alias:
    """`expression AS "name"` without copying the expression (Expression.as_ copies it)."""
    return exp.Alias(this=expression, alias=exp.to_identifier(name, quoted=True))


def timestamp(value: dt.datetime) -> exp.Expression:
    text = value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    return exp.Cast(this=exp.Literal.string(text), to=data_type(TIMESTAMP))


# Durations in the unit every engine adds exactly to a timestamp (a DAY interval follows DST on a
# zoned timestamp in PostgreSQL; an HOUR never does).
INTERVAL_UNITS = {"m": ("MINUTE", 1), "h": ("HOUR", 1), "d": ("HOUR", 24), "w": ("HOUR", 168)}


def plus(stamp: exp.Expression, duration: m.Duration) -> exp.Expression:
    """stamp + duration, as an interval every dialect prints."""
    return exp.Add(this=stamp, expression=_interval(duration))


def minus(stamp: exp.Expression, duration: m.Duration) -> exp.Expression:
    """stamp - duration."""
    return exp.Sub(this=stamp, expression=_interval(duration))


def _interval(duration: m.Duration) -> exp.Interval:
    unit, factor = INTERVAL_UNITS[duration.unit]
    return exp.Interval(this=exp.Literal.string(str(duration.amount * factor)), unit=exp.Var(this=unit))


def literal(value: Any) -> exp.Expression:
    kind = kind_of(value)
    if kind == BOOLEAN:
        return exp.Boolean(this=value)
    if kind in NUMBERS:
        return exp.Literal.number(repr(float(value)) if isinstance(value, float) else str(value))
    if kind == TIMESTAMP:
        return timestamp(value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day))
    return exp.Literal.string(str(value))


def as_kind(expression: exp.Expression, kind: str) -> exp.Expression:
    """Read a value as `kind`; a value that can't be read becomes NULL instead of aborting the query."""
    if kind == TEXT:
        return exp.Cast(this=expression, to=data_type("VARCHAR"))
    if kind == TIMESTAMP:  # through TIMESTAMPTZ, so text with a UTC offset lands on the right instant
        return exp.TryCast(this=exp.TryCast(this=expression, to=data_type("TIMESTAMPTZ")), to=data_type(TIMESTAMP))
    return exp.TryCast(this=expression, to=data_type(kind))


def false_if_null(predicate: exp.Expression) -> exp.Expression:
    """Conditions are never NULL (SPEC section 4): a NULL comparison is FALSE."""
    return exp.func("COALESCE", exp.paren(predicate, copy=False), exp.false())


def conjunction(items: list[exp.Expression]) -> exp.Expression:
    return exp.and_(*items, copy=False) if items else exp.true()


def disjunction(items: list[exp.Expression]) -> exp.Expression:
    return exp.or_(*items, copy=False) if items else exp.false()


def sql_comment(text: str) -> str:
    """`-- text` as one line: a line break in text (a file name may hold one) would end the comment
    and run the rest as SQL."""
    return f"-- {printable(text)}\n"
