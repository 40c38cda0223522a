"""Planning: which scans compute which features, and the queries that select each segment's members.

A run plans all selected segments together. Every distinct feature (an aggregate over the rows one
StreamMatch selects) is computed once, and features over the same stream share a scan. A scan
pushes down what every one of its features needs: rows up to as_of, after the earliest lower
window bound, and with the listed names, so DuckDB's zone maps skip old row groups. Features with
no lower bound (all history) get a scan of their own, so they never widen the recent ones."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlglot import exp

from ..spec import model as m
from . import patterns
from .conditions import ConditionCompiler, Feature, compare, read_path
from .literals import EXACT, NUMBER, TEXT, cast, conjunction, named, timestamp
from .splits import split_expression

KEY = "_sw_key"
EVALUATION = "_sw_people"  # one row per person: people columns and features
ROW = "s"
PEOPLE = "p"


def table(name: str) -> exp.Table:
    """`[db.]schema.table` as a table expression with quoted parts."""
    parts = name.split(".")
    return exp.table_(parts[-1], db=parts[-2] if len(parts) > 1 else None,
                      catalog=parts[-3] if len(parts) > 2 else None, quoted=True)


def lower_bound(window: m.Window, as_of: dt.datetime) -> Optional[dt.datetime]:
    """The earliest timestamp a window admits (exclusive for `within`), or None for all history."""
    bounds = []
    if window.within:
        bounds.append(as_of - window.within.delta)
    if window.since:
        bounds.append(window.since - dt.timedelta(microseconds=1))
    return max(bounds) if bounds else None


def match_predicate(match: m.StreamMatch, stream: m.Stream, as_of: dt.datetime) -> exp.Expression:
    """Which rows of `stream` (alias s) a StreamMatch selects; future rows never match."""
    ts = exp.column(stream.timestamp, table=ROW, quoted=True)
    checks = [exp.LTE(this=ts.copy(), expression=timestamp(as_of))]
    if match.pattern is not None:
        checks.append(patterns.glob(exp.column(stream.name_column, table=ROW, quoted=True), match.pattern))
    for f in match.filters:
        def read(_value, kind, path=f.path):
            return read_path(path, ROW, kind)
        raw = read_path(f.path, ROW, TEXT)
        checks.extend(compare(raw, op, as_of, f.ignore_case, read=read) for op in f.ops)
    w = match.window
    if w.within:
        checks.append(exp.GT(this=ts.copy(), expression=timestamp(as_of - w.within.delta)))
    if w.older_than:
        checks.append(exp.LTE(this=ts.copy(), expression=timestamp(as_of - w.older_than.delta)))
    if w.since:
        checks.append(exp.GTE(this=ts.copy(), expression=timestamp(w.since)))
    if w.until:
        checks.append(exp.LT(this=ts.copy(), expression=timestamp(w.until)))
    return conjunction(checks)


def _aggregate(feature: Feature, stream: m.Stream) -> exp.Expression:
    if feature.kind == "count":
        return exp.Count(this=exp.Star())
    if feature.kind in ("first", "last"):
        ts = exp.column(stream.timestamp, table=ROW, quoted=True)
        return exp.Min(this=ts) if feature.kind == "first" else exp.Max(this=ts)
    kind, _, exact = feature.kind.partition("_")
    # Sums and averages add in DECIMAL(38, 9): 120.50 + 79.50 is 200 whatever order the engine adds
    # rows in; in floating point it is sometimes 199.99999999999997.
    value = read_path(feature.of, ROW, EXACT if exact or kind in ("sum", "avg") else NUMBER)
    return {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}[kind](this=value)


@dataclass
class Scan:
    """One pass over a stream table computing several features, grouped by person."""

    stream: m.Stream
    features: list[Feature] = field(default_factory=list)
    name: str = ""

    def query(self, as_of: dt.datetime) -> exp.Select:
        s = self.stream
        matches = list(dict.fromkeys(f.match for f in self.features))
        predicates = {match: match_predicate(match, s, as_of) for match in matches}
        shared = len(matches) == 1
        columns = [named(exp.column(s.key, table=ROW, quoted=True), KEY)]
        for f in self.features:
            agg = _aggregate(f, s)
            if not shared:
                agg = exp.Filter(this=agg, expression=exp.Where(this=predicates[f.match].copy()))
            columns.append(named(agg, f.column))
        if shared:
            where = predicates[matches[0]]
        else:
            where = conjunction(self._pushdown(matches, as_of))
        return (exp.select(*columns).from_(table(s.table).as_(ROW, quoted=True), copy=False)
                .where(where, copy=False).group_by(exp.column(s.key, table=ROW, quoted=True), copy=False))

    def _pushdown(self, matches: list[m.StreamMatch], as_of: dt.datetime) -> list[exp.Expression]:
        """What every feature of the scan needs: zone-map friendly bounds and a name list."""
        ts = exp.column(self.stream.timestamp, table=ROW, quoted=True)
        checks: list[exp.Expression] = [exp.LTE(this=ts, expression=timestamp(as_of))]
        bounds = [lower_bound(match.window, as_of) for match in matches]
        if all(b is not None for b in bounds):
            checks.append(exp.GT(this=ts.copy(), expression=timestamp(min(bounds))))
        names = [patterns.literal_names(match.pattern) for match in matches]
        if all(n is not None for n in names):
            flat = sorted({n for group in names for n in group})
            column = exp.column(self.stream.name_column, table=ROW, quoted=True)
            checks.append(column.isin(*(exp.Literal.string(n) for n in flat)))
        return checks


def window_class(window: m.Window, as_of: dt.datetime) -> str:
    """Features whose windows reach back about as far share a scan: one class per power of two
    of the window's length in hours ('all' for all history). A 3-day feature then never makes
    a scan read 90 days of rows, and a scan evaluates only the filters of similar windows."""
    bound = lower_bound(window, as_of)
    if bound is None:
        return "all"
    hours = max((as_of - bound).total_seconds() / 3600, 1.0)
    return f"{4 ** math.ceil(math.log(hours, 4))}h"


def plan_scans(features: list[Feature], streams: dict[str, m.Stream], as_of: dt.datetime) -> list[Scan]:
    """Group features into scans: per stream and window class."""
    scans: dict[tuple[str, str], Scan] = {}
    for feature in features:
        key = (feature.match.stream, window_class(feature.match.window, as_of))
        if key not in scans:
            scans[key] = Scan(streams[key[0]], name=f"_sw_scan_{key[0]}_{key[1]}")
        scans[key].features.append(feature)
    return list(scans.values())


def evaluation_query(config: m.ProjectConfig, scans: list[Scan], scan_table: Callable[[Scan], exp.Expression],
                     columns: Optional[list[str]] = None) -> exp.Select:
    """One row per person: the people columns (all, or only `columns`) and every feature the
    segments read."""
    people = config.people
    if columns is None:
        query = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(PEOPLE, quoted=True)))
    else:
        query = exp.select(*(exp.column(c, table=PEOPLE, quoted=True) for c in dict.fromkeys([people.key, *columns])))
    query = query.from_(table(people.table).as_(PEOPLE, quoted=True), copy=False)
    for scan in scans:
        alias = exp.to_identifier(scan.name, quoted=True)
        for f in scan.features:
            query = query.select(exp.column(f.column, table=scan.name, quoted=True), copy=False)
        on = exp.column(people.key, table=PEOPLE, quoted=True).eq(exp.column(KEY, table=scan.name, quoted=True))
        # An exp.Join node rather than Select.join(): that one parses its join_type string each call.
        query.append("joins", exp.Join(this=exp.alias_(scan_table(scan), alias, table=True), on=on, side="LEFT"))
    return query


def member_columns(segment: m.Segment, key: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """The split group and the fields object a member carries (NULLs when the segment has none)."""
    split = split_expression(segment.splits, key.copy()) if segment.splits else cast(exp.null(), "VARCHAR")
    if segment.fields:
        fields = exp.JSONObject(expressions=[
            exp.JSONKeyValue(this=exp.Literal.string(f), expression=exp.column(f, quoted=True))
            for f in segment.fields])
    else:
        fields = cast(exp.null(), "JSON")
    return split, fields


def members_query(segment: m.Segment, people: m.People, predicate: exp.Expression,
                  source: exp.Expression) -> exp.Select:
    """person_id, split and fields of every person the predicate selects."""
    key = exp.column(people.key, quoted=True)
    split, fields = member_columns(segment, key)
    return (exp.select(named(key, "person_id"), named(split, "split"), named(fields, "fields"))
            .from_(source, copy=False).where(predicate, copy=False))


def static_table(segment: str) -> exp.Table:
    """The temporary table holding a static segment's CSV values while a query runs."""
    return exp.table_(f"_sw_static_{segment}", quoted=True)


def with_evaluation(query: exp.Select, config: m.ProjectConfig, compiler: ConditionCompiler,
                    as_of: dt.datetime) -> exp.Select:
    """`query` reads the evaluation relation `_sw_people`; add it, and the scans the compiler's
    features need, as CTEs."""
    scans = plan_scans(list(compiler.features.values()), config.streams, as_of)
    for scan in scans:
        query = query.with_(exp.to_identifier(scan.name, quoted=True), as_=scan.query(as_of), copy=False)
    evaluation = evaluation_query(config, scans, lambda scan: exp.table_(scan.name, quoted=True))
    return query.with_(exp.to_identifier(EVALUATION, quoted=True), as_=evaluation, copy=False)


def standalone_query(config: m.ProjectConfig, segments: dict[str, m.Segment], name: str,
                     as_of: dt.datetime) -> exp.Select:
    """A self-contained SELECT of one segment's members at as_of (what `compile` writes)."""
    compiler = ConditionCompiler(config, segments, as_of, static_table)
    predicate = compiler.segment(name)
    query = members_query(segments[name], config.people, predicate, exp.table_(EVALUATION, quoted=True))
    return with_evaluation(query, config, compiler, as_of)
