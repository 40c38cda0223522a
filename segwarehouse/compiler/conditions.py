"""Conditions as boolean sqlglot expressions over one row per person.

Attribute conditions read people columns; stream conditions read *features*: per-person aggregates
(counts, sums, first/last times) that the planner computes once per run however many segments use
them. Every expression built here is TRUE or FALSE, never NULL."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Callable, Optional

import sqlglot
from sqlglot import exp

from ..spec import model as m
from . import calendar, groups, patterns
from .literals import (BOOLEAN, EXACT, NUMBER, TEXT, TIMESTAMP, as_kind, common_kind, conjunction, disjunction, false_if_null,
                       kind_of, literal, timestamp)

NEGATED = {"not_equals": "equals", "not_in": "in", "not_contains": "contains"}


@dataclass(frozen=True)
class Feature:
    """One per-person aggregate over the rows of a stream that a StreamMatch selects."""

    match: m.StreamMatch
    kind: str  # count, sum, avg, min, max, first, last, nth, distinct, distinct_days, most_frequent
    of: Optional[m.Path] = None
    exact: bool = False  # min/max also computed in DECIMAL(38, 9), for literals of 2**53 or more
    n: Optional[int] = None  # nth: which row in time order
    zone: Optional[str] = None  # distinct_days: the time zone whose calendar dates are counted

    @property
    def column(self) -> str:
        kind = self.kind + ("_exact" if self.exact else "")  # the name compiled SQL has always used
        extra = tuple(v for v in (self.n, self.zone) if v is not None)  # none for the first edition's kinds
        digest = hashlib.sha1(repr((self.match, kind, self.of, *extra)).encode()).hexdigest()[:10]
        return f"_sw_{self.match.stream}_{kind}_{digest}"

    @property
    def count_column(self) -> str:
        """most_frequent: the number of rows that hold the most frequent value (explain shows it)."""
        return self.column + "_rows"

    @property
    def ranked(self) -> bool:
        """Computed by ranking a person's rows (planner: a Ranking), not by one aggregate of a scan."""
        return self.kind in RANKED


RANKED = ("nth", "most_frequent")
# Aggregates that count rows or values: 0, never NULL, for a person without matching rows (SPEC 4, rules 2, 3, 8).
COUNTS = ("count", "sum", "distinct", "distinct_days")


@dataclass(frozen=True)
class SequenceFeature:
    """Whether a sequence holds for a person: TRUE, or NULL when it does not (compiler/sequences.py)."""

    steps: tuple[m.Step, ...]

    @property
    def column(self) -> str:
        # Steps compare without their line; the name must not depend on it either.
        shape = tuple((s.match, s.within_after, s.same, s.performed) for s in self.steps)
        return f"_sw_seq_{hashlib.sha1(repr(shape).encode()).hexdigest()[:10]}"


def compare(value: exp.Expression, op: m.Op, as_of: dt.datetime, ignore_case: bool = False,
            read: Callable[[exp.Expression, str], exp.Expression] = as_kind) -> exp.Expression:
    """One operator applied to a value, typed by its literal; NULL rules of SPEC section 4."""
    name = op.name
    if name in NEGATED:
        return exp.not_(compare(value, m.Op(NEGATED[name], op.value), as_of, ignore_case, read), copy=False)
    if name == "exists":
        check = exp.Is(this=value, expression=exp.null())
        return exp.not_(check, copy=False) if op.value else check
    return false_if_null(_positive(value, op, as_of, ignore_case, read))


def _positive(value, op: m.Op, as_of, ignore_case, read) -> exp.Expression:
    """The comparison itself; with a huge integer literal, exactly where the value fits a
    DECIMAL(38, 9), and in double precision where it does not (1e300)."""
    if op.name in ("equals", "in", "gt", "gte", "lt", "lte", "between") and _needs_exact(op):
        def read_double(v, kind):
            return read(v, NUMBER if kind == EXACT else kind)
        exact = _comparison(value, op, as_of, ignore_case, read)
        return exp.func("COALESCE", exact, _comparison(value.copy(), op, as_of, ignore_case, read_double))
    return _comparison(value, op, as_of, ignore_case, read)


def _needs_exact(op: m.Op) -> bool:
    values = op.value if isinstance(op.value, tuple) else (op.value,)
    return any(kind_of(v) == EXACT for v in values)


def _comparison(value, op: m.Op, as_of, ignore_case, read) -> exp.Expression:
    name = op.name
    if name == "equals":
        return _equals(value, op.value, ignore_case, read)
    if name == "in":
        by_kind: dict[str, list] = {}
        for item in op.value:
            by_kind.setdefault(kind_of(item), []).append(item)
        checks = []
        for kind, items in by_kind.items():
            left = _cased(read(value, kind), kind, ignore_case)
            checks.append(left.isin(*(_cased(literal(v), kind, ignore_case) for v in items)))
        return disjunction(checks)
    if name in ("gt", "gte", "lt", "lte"):
        kind = kind_of(op.value)
        cls = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[name]
        return cls(this=read(value, kind), expression=literal(op.value))
    if name == "between":
        lo, hi = op.value
        return exp.Between(this=read(value, common_kind(op.value)), low=literal(lo), high=literal(hi))
    text = read(value, TEXT) if name in ("contains", "starts_with", "ends_with", "matches") else None
    if name == "contains":
        return patterns.contains(text, op.value, lower=ignore_case)
    if name == "starts_with":
        return patterns.affix(text, op.value, "start", lower=ignore_case)
    if name == "ends_with":
        return patterns.affix(text, op.value, "end", lower=ignore_case)
    if name == "matches":
        return exp.RegexpLike(this=text, expression=exp.Literal.string(op.value))
    if name == "during":  # a calendar period, resolved to UTC instants at as_of (compiler/calendar.py)
        return calendar.in_period(read(value, TIMESTAMP), op.value, as_of)
    if name in ("within", "older_than", "within_next"):
        stamp = read(value, TIMESTAMP)
        return time_window(stamp, name, op.value.delta, as_of)
    raise AssertionError(f"operator {name}")


def time_window(stamp: exp.Expression, name: str, delta: dt.timedelta, as_of: dt.datetime) -> exp.Expression:
    if name == "within":  # as_of - D < v <= as_of
        return exp.and_(exp.GT(this=stamp, expression=timestamp(as_of - delta)),
                        exp.LTE(this=stamp.copy(), expression=timestamp(as_of)), copy=False)
    if name == "older_than":  # v <= as_of - D
        return exp.LTE(this=stamp, expression=timestamp(as_of - delta))
    # within_next: as_of < v <= as_of + D
    return exp.and_(exp.GT(this=stamp, expression=timestamp(as_of)),
                    exp.LTE(this=stamp.copy(), expression=timestamp(as_of + delta)), copy=False)


def _cased(expression: exp.Expression, kind: str, ignore_case: bool) -> exp.Expression:
    return exp.Lower(this=expression) if ignore_case and kind == TEXT else expression


def _equals(value, literal_value, ignore_case, read) -> exp.Expression:
    kind = kind_of(literal_value)
    return _cased(read(value, kind), kind, ignore_case).eq(_cased(literal(literal_value), kind, ignore_case))


class ConditionCompiler:
    """Compiles conditions of one project at one as_of; records the features they read."""

    def __init__(self, config: m.ProjectConfig, segments: dict[str, m.Segment], as_of: dt.datetime,
                 static_table: Callable[[str], exp.Table], people_types: Optional[dict[str, str]] = None):
        """people_types ({column: engine type}), when known, spares casts of columns that already
        have the type a comparison reads (a cast per row is most of a simple condition's cost)."""
        self.config = config
        self.people_types = {k.lower(): v.upper() for k, v in (people_types or {}).items()}
        self.segments = segments
        self.as_of = as_of
        self.static_table = static_table
        self.features: dict[str, Feature] = {}

    def segment(self, name: str) -> exp.Expression:
        """The membership predicate of a segment, references inlined (evaluated at the same as_of).
        Built afresh for each use, never copied from a memo: the cost is the size of the inlined
        tree, linear in a chain of references (copying memoised predicates made it quadratic)."""
        return self.condition(self.segments[name].condition)

    def _terms(self, c: m.Condition, group: type) -> list[exp.Expression]:
        """The operands of an `all` (or `any`), with nested groups of the same kind, references to
        them included, spliced in: AND and OR are associative, and a flat list keeps the tree
        shallow (a chain of 200 references nests no parentheses that renderers must recurse into)."""
        terms, stack = [], [c]  # iterative: a long chain must not exhaust Python's recursion limit
        while stack:
            node = stack.pop()
            while isinstance(node, m.SegmentRef) and not node.split:  # a split reference is no plain splice
                node = self.segments[node.name].condition
            if type(node) is group:
                stack.extend(reversed(node.items))
                continue
            terms.append(self.condition(node))
        return terms

    def condition(self, c: m.Condition) -> exp.Expression:
        if isinstance(c, m.All):
            return exp.paren(conjunction(self._terms(c, m.All)), copy=False)
        if isinstance(c, m.AnyOf):
            return exp.paren(disjunction(self._terms(c, m.AnyOf)), copy=False)
        if isinstance(c, m.NoneOf):
            return exp.not_(exp.paren(disjunction([self.condition(i) for i in c.items]), copy=False), copy=False)
        if isinstance(c, m.Not):
            return exp.not_(exp.paren(self.condition(c.item), copy=False), copy=False)
        if isinstance(c, m.AtLeast):
            return groups.at_least(c.k, [self.condition(i) for i in c.items])
        if isinstance(c, m.Attribute):
            column = exp.column(c.column, quoted=True)
            read = typed_reader(self.people_types.get(c.column.lower()))
            return exp.paren(conjunction([compare(column.copy(), op, self.as_of, c.ignore_case, read=read)
                                          for op in c.ops]), copy=False)
        if isinstance(c, m.StreamCondition):
            return exp.paren(conjunction([self._aggregate(c.match, agg) for agg in c.aggregates]), copy=False)
        if isinstance(c, m.SegmentRef) and c.split:
            return groups.in_split_groups(exp.paren(self.segment(c.name), copy=False), self.segments[c.name].splits,
                                          c.split, exp.column(self.config.people.key, quoted=True))
        if isinstance(c, m.Sequence):
            return self._sequence(c)
        if isinstance(c, m.SegmentRef):
            return exp.paren(self.segment(c.name), copy=False)
        if isinstance(c, m.Sql):
            parsed = sqlglot.parse_one(c.text, read=self.config.source_dialect)
            return false_if_null(parsed)
        if isinstance(c, m.InStatic):
            value = as_kind(exp.column(c.match_column, quoted=True), TEXT)
            subquery = exp.select(exp.column("value", quoted=True)).from_(self.static_table(c.segment))
            return false_if_null(value.isin(query=subquery))
        raise AssertionError(type(c))

    def feature_of(self, match: m.StreamMatch, agg: m.Aggregate, exact: bool = False) -> Feature:
        """The per-person aggregate that an aggregate key of a stream condition compares."""
        return Feature(match, agg.kind, agg.of, exact, n=agg.n,
                       zone=self.config.time_zone if agg.kind == "distinct_days" else None)

    def _sequence(self, c: m.Sequence) -> exp.Expression:
        feature = SequenceFeature(c.steps)
        self.features[feature.column] = feature
        return exp.func("COALESCE", exp.column(feature.column, quoted=True), exp.false())

    def _feature(self, match: m.StreamMatch, agg: m.Aggregate, exact: bool = False) -> exp.Column:
        feature = self.feature_of(match, agg, exact)
        self.features[feature.column] = feature
        return exp.column(feature.column, quoted=True)

    def _aggregate(self, match: m.StreamMatch, agg: m.Aggregate) -> exp.Expression:
        value = self._feature(match, agg)
        if agg.kind in COUNTS:  # no rows: a count or sum of 0, never NULL (SPEC 4, rules 2, 3, 8)
            value = exp.func("COALESCE", value, exp.Literal.number(0))
        # min/max against an integer of 2**53 or more: also computed exactly, in DECIMAL(38, 9), and
        # that result decides unless the extreme value lies beyond what the decimal holds (1e300).
        exact = (self._feature(match, agg, exact=True)
                 if agg.kind in ("min", "max") and any(_needs_exact(op) for op in agg.ops) else None)
        checks = []
        for op in agg.ops:
            # most_frequent is text already; ignore_case lower-cases both sides (SPEC 4, rule 10)
            check = compare(value.copy(), op, self.as_of, agg.ignore_case, read=_already_typed)
            if exact is not None and _needs_exact(op):
                in_range = exp.LT(this=exp.Abs(this=value.copy()), expression=exp.Literal.number("1e28"))
                check = exp.func("COALESCE", exp.Case().when(in_range, compare(exact.copy(), op, self.as_of,
                                                                               read=_already_typed)), check)
            if op.name in NEGATED:  # an aggregate of no rows is NULL and every comparison with it false (3, 10)
                check = exp.and_(exp.not_(exp.Is(this=value.copy(), expression=exp.null()), copy=False), check,
                                 copy=False)
            checks.append(check)
        return conjunction(checks)


# Engine types that already read as a comparison kind, so the value needs no cast.
NATIVE = {TEXT: {"VARCHAR", "TEXT", "STRING"}, TIMESTAMP: {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
          NUMBER: {"DOUBLE", "FLOAT", "REAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"},
          BOOLEAN: {"BOOLEAN"}}


def typed_reader(engine_type: Optional[str]) -> Callable[[exp.Expression, str], exp.Expression]:
    """as_kind, except for a column whose engine type already is the kind."""
    def read(value: exp.Expression, kind: str) -> exp.Expression:
        return value if engine_type in NATIVE.get(kind, ()) else as_kind(value, kind)
    return read


def _already_typed(value: exp.Expression, kind: str) -> exp.Expression:
    """Aggregates are numbers, timestamps or (most_frequent) text already: compare them as they are."""
    return value


def read_path(path: m.Path, alias: str, kind: str) -> exp.Expression:
    """A stream column or JSON path of row `alias`, read as `kind` (unreadable -> NULL)."""
    column = exp.column(path.column, table=alias, quoted=True)
    if not path.keys:
        return as_kind(column, kind)
    json_path = exp.JSONPath(expressions=[exp.JSONPathRoot(), *(exp.JSONPathKey(this=k) for k in path.keys)])
    # TRY: text that is not JSON has no readable property; it never aborts the run (SPEC 4, rule 5)
    text = exp.Try(this=exp.JSONExtractScalar(this=column, expression=json_path))
    if kind == BOOLEAN:  # only JSON true/false read as booleans; 1, 0 or "yes" do not (SPEC 4, rule 5)
        return (exp.Case().when(text.eq(exp.Literal.string("true")), exp.true())
                .when(text.copy().eq(exp.Literal.string("false")), exp.false()))
    return text if kind == TEXT else as_kind(text, kind)
