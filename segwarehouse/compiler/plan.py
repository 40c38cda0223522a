"""Planning: which scans compute which features, and the queries that select each segment's members.

A run plans all selected segments together. Every distinct feature (an aggregate over the rows one
StreamMatch selects) is computed once, and features over the same stream share a scan. A scan
pushes down what every one of its features needs: rows up to as_of, after the earliest lower
window bound, and with the listed names, so DuckDB's zone maps skip old row groups. Features with
no lower bound (all history) get a scan of their own, so they never widen the recent ones."""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from sqlglot import exp

from ..errors import Problem
from ..spec import model as m
from ..spec.graph import closure
from . import anchors, calendar, patterns
from .catalog import Catalog, check, people_reads
from .conditions import ConditionCompiler, Feature, SequenceFeature, compare, read_path
from .names import table_of as table
from .literals import EXACT, NUMBER, TEXT, cast, conjunction, named, timestamp
from .splits import split_expression
from .timezones import local_date

KEY = "_sw_key"
EVALUATION = "_sw_people"  # one row per person: people columns and features
ROW = "s"
PEOPLE = "p"


def lower_bound(window: m.Window, as_of: dt.datetime) -> Optional[dt.datetime]:
    """The earliest timestamp a window admits (exclusive for `within`), or None for all history."""
    bounds = []
    if window.within:
        bounds.append(as_of - window.within.delta)
    if window.since:
        bounds.append(window.since - dt.timedelta(microseconds=1))
    if window.during:
        bounds.append(calendar.bounds(window.during, as_of)[0] - dt.timedelta(microseconds=1))
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
    if w.during:
        checks.append(calendar.in_period(ts.copy(), w.during, as_of))
    checks.extend(anchors.row_checks(w, ts, PEOPLE))  # after/before: the scan joins the people table
    return conjunction(checks)


def _aggregate(feature: Feature, stream: m.Stream) -> exp.Expression:
    if feature.kind == "count":
        return exp.Count(this=exp.Star())
    if feature.kind in ("first", "last"):
        ts = exp.column(stream.timestamp, table=ROW, quoted=True)
        return exp.Min(this=ts) if feature.kind == "first" else exp.Max(this=ts)
    if feature.kind == "distinct":  # distinct text forms; COUNT skips NULLs (SPEC 4, rule 8)
        return exp.Count(this=exp.Distinct(expressions=[read_path(feature.of, ROW, TEXT)]))
    if feature.kind == "distinct_days":  # distinct calendar dates in the project's time_zone
        ts = exp.column(stream.timestamp, table=ROW, quoted=True)
        return exp.Count(this=exp.Distinct(expressions=[local_date(ts, feature.zone)]))
    kind, exact = feature.kind, feature.exact
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
    people: Optional[m.People] = None  # joined (as PEOPLE) when a feature's window is after/before a people column

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
        query = exp.select(*columns).from_(table(s.table).as_(ROW, quoted=True), copy=False)
        if any(anchors.anchored(match.window) for match in matches):
            query = anchors.join_people(query, s, ROW, self.people, PEOPLE, [match.window for match in matches])
        return query.where(where, copy=False).group_by(exp.column(s.key, table=ROW, quoted=True), copy=False)

    @property
    def columns(self) -> list[str]:
        """The feature columns the scan adds to the evaluation relation."""
        return [f.column for f in self.features]

    def parts(self) -> list["Scan"]:
        """One scan per feature (the runner's way to find the feature that fails)."""
        return [Scan(self.stream, [feature], f"{self.name}_{i}", self.people) for i, feature in enumerate(self.features)]

    @property
    def source(self) -> str:
        """What the scan reads, for error messages."""
        return f"stream '{self.stream.name}' ({self.stream.table})"

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


RANK, TIME, VALUE, ROWS = "_sw_rank", "_sw_time", "_sw_value", "_sw_rows"


def _ref(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def byte_order(text: exp.Expression) -> exp.Expression:
    """Text sorted by its UTF-8 bytes: COLLATE "C" where the default collation is linguistic
    (PostgreSQL) or may be changed (DuckDB's default_collation); dialects.RULES removes it where
    text compares by bytes anyway (Snowflake, ClickHouse, Spark, ...)."""
    collation = exp.to_identifier("C", quoted=True)
    collation.meta["case_sensitive"] = True  # a collation name, not a column: never folded to "c"
    return exp.Collate(this=text, expression=collation)


def _row_number(person: exp.Expression, order: list[exp.Ordered]) -> exp.Window:
    return exp.Window(this=exp.RowNumber(), partition_by=[person], order=exp.Order(expressions=order))


@dataclass
class Ranking:
    """A person's matching rows ranked, for the features no single aggregate computes: the n-th
    timestamp in time order (`nth`, several n at once), or the text form most rows hold with the
    number of those rows (`most_frequent`, ties to the smallest text in byte order). One per
    StreamMatch (and `of` path): its WHERE is the match's own predicate, so it reads only rows up
    to as_of, within the window and with the listed names, as a scan does."""

    stream: m.Stream
    features: list[Feature]
    name: str
    people: Optional[m.People] = None  # joined (as PEOPLE) when the match is after/before a people column

    @property
    def columns(self) -> list[str]:
        if self.features[0].kind == "most_frequent":
            return [self.features[0].column, self.features[0].count_column]
        return [f.column for f in self.features]

    @property
    def source(self) -> str:
        return f"stream '{self.stream.name}' ({self.stream.table})"

    def parts(self) -> list["Ranking"]:
        return [Ranking(self.stream, [feature], f"{self.name}_{i}", self.people)
                for i, feature in enumerate(self.features)]

    def query(self, as_of: dt.datetime) -> exp.Select:
        s, first = self.stream, self.features[0]
        rows = (exp.select(named(exp.column(s.key, table=ROW, quoted=True), KEY))
                .from_(table(s.table).as_(ROW, quoted=True), copy=False))
        if anchors.anchored(first.match.window):
            rows = anchors.join_people(rows, s, ROW, self.people, PEOPLE, [first.match.window])
        rows = rows.where(match_predicate(first.match, s, as_of), copy=False)
        if first.kind == "nth":
            return self._nth(rows, exp.column(s.key, table=ROW, quoted=True),
                             exp.column(s.timestamp, table=ROW, quoted=True))
        return self._most_frequent(rows, read_path(first.of, ROW, TEXT))

    def _nth(self, rows: exp.Select, person: exp.Expression, ts: exp.Expression) -> exp.Select:
        """The n-th smallest timestamp: ROW_NUMBER in time order (equal times take consecutive
        numbers, and share the time), n-th row's time; NULL when the person has fewer rows."""
        ranked = rows.select(named(ts, TIME), named(_row_number(person, [exp.Ordered(this=ts.copy())]), RANK), copy=False)
        columns = [named(exp.Min(this=exp.Case().when(_ref(RANK).eq(exp.Literal.number(f.n)), _ref(TIME))), f.column)
                   for f in self.features]
        most = max(f.n for f in self.features)
        return (exp.select(_ref(KEY), *columns).from_(ranked.subquery("_sw_ranked", copy=False), copy=False)
                .where(exp.LTE(this=_ref(RANK), expression=exp.Literal.number(most)), copy=False)
                .group_by(_ref(KEY), copy=False))

    def _most_frequent(self, rows: exp.Select, text: exp.Expression) -> exp.Select:
        """Rows per (person, text form of `of`), NULLs left out; the first by count, then by bytes."""
        values = rows.select(named(text, VALUE), copy=False)
        counts = (exp.select(_ref(KEY), _ref(VALUE), named(exp.Count(this=exp.Star()), ROWS))
                  .from_(values.subquery("_sw_values", copy=False), copy=False)
                  .where(exp.not_(exp.Is(this=_ref(VALUE), expression=exp.null())), copy=False)
                  .group_by(_ref(KEY), _ref(VALUE), copy=False))
        order = [exp.Ordered(this=_ref(ROWS), desc=True), exp.Ordered(this=byte_order(_ref(VALUE)))]
        ranked = (exp.select(_ref(KEY), _ref(VALUE), _ref(ROWS), named(_row_number(_ref(KEY), order), RANK))
                  .from_(counts.subquery("_sw_counts", copy=False), copy=False))
        feature = self.features[0]
        return (exp.select(_ref(KEY), named(_ref(VALUE), feature.column), named(_ref(ROWS), feature.count_column))
                .from_(ranked.subquery("_sw_ranked", copy=False), copy=False)
                .where(_ref(RANK).eq(exp.Literal.number(1)), copy=False))


def plan_rankings(features: list[Feature], streams: dict[str, m.Stream], people: m.People) -> list[Ranking]:
    """nth features of one StreamMatch share a ranking; each most_frequent (match, of) has one."""
    rankings: dict[tuple, Ranking] = {}
    for feature in features:
        key = (feature.match, feature.kind, feature.of if feature.kind == "most_frequent" else None)
        if key not in rankings:
            digest = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
            rankings[key] = Ranking(streams[feature.match.stream], [],
                                    f"_sw_{feature.kind}_{feature.match.stream}_{digest}", people)
        rankings[key].features.append(feature)
    return list(rankings.values())


class Relation(Protocol):
    """What the evaluation relation LEFT JOINs on the person: one row per person (a Scan, a Ranking,
    a sequences.SequenceScan)."""

    name: str
    features: list

    @property
    def columns(self) -> list[str]:
        """The feature columns it adds to the evaluation relation."""

    @property
    def source(self) -> str:
        """What it reads, for error messages."""

    def parts(self) -> list["Relation"]:
        """One relation per feature (the runner's way to find the feature that fails)."""

    def query(self, as_of: dt.datetime) -> exp.Select: ...


def window_class(window: m.Window, as_of: dt.datetime) -> str:
    """Features whose windows reach back about as far share a scan: one class per power of two
    of the window's length in hours ('all' for all history). A 3-day feature then never makes
    a scan read 90 days of rows, and a scan evaluates only the filters of similar windows."""
    bound = lower_bound(window, as_of)
    joined = "anchored_" if anchors.anchored(window) else ""  # scans joining people never slow the others
    if bound is None:
        return joined + "all"
    hours = max((as_of - bound).total_seconds() / 3600, 1.0)
    return f"{joined}{4 ** math.ceil(math.log(hours, 4))}h"


def plan_scans(features: list[Feature], streams: dict[str, m.Stream], as_of: dt.datetime,
               people: m.People) -> list[Relation]:
    """Group features into scans, per stream and window class; ranked features into rankings; each
    sequence into a relation of its own."""
    from .sequences import SequenceScan  # sequences builds on this module's row predicates

    scans: dict[tuple[str, str], Scan] = {}
    sequences = [SequenceScan(f, streams, people=people) for f in features if isinstance(f, SequenceFeature)]
    for feature in features:
        if isinstance(feature, SequenceFeature) or feature.ranked:
            continue
        key = (feature.match.stream, window_class(feature.match.window, as_of))
        if key not in scans:
            scans[key] = Scan(streams[key[0]], name=f"_sw_scan_{key[0]}_{key[1]}", people=people)
        scans[key].features.append(feature)
    ranked = [f for f in features if not isinstance(f, SequenceFeature) and f.ranked]
    return [*scans.values(), *plan_rankings(ranked, streams, people), *sequences]


def evaluation_query(config: m.ProjectConfig, scans: list[Relation], scan_table: Callable[[Relation], exp.Expression],
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
        for column in scan.columns:
            query = query.select(exp.column(column, table=scan.name, quoted=True), copy=False)
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


@dataclass
class Plan:
    """Everything a command needs to evaluate the selected segments at one as_of, built once:
    run, compile, preview, explain, test and diff all render their SQL from it.

    predicates: per segment of the closure, references inlined; features: every aggregate they
    read; scans: the passes over stream tables computing them; people_columns: what the
    evaluation relation carries; static: static segments whose value tables must be loaded."""

    config: m.ProjectConfig
    segments: dict[str, m.Segment]
    selected: list[str]
    as_of: dt.datetime
    compiler: ConditionCompiler
    predicates: dict[str, exp.Expression]
    features: dict[str, Feature]
    scans: list[Relation]
    people_columns: list[str]
    static: list[str]
    problems: dict[str, list[Problem]]  # catalog misses per segment (own definition)
    catalog: Optional[Catalog] = None
    _features_of: dict[str, set[str]] = field(default_factory=dict)

    # --- per segment --------------------------------------------------------------------------------
    def closure(self, name: str) -> list[str]:
        return closure(self.segments, [name])

    def features_of(self, name: str) -> set[str]:
        """The feature columns a segment's predicate reads (its references' included)."""
        if name not in self._features_of:
            self._features_of[name] = ({c.name for c in self._predicate(name).find_all(exp.Column)}
                                       & self.features.keys())
        return self._features_of[name]

    def predicate(self, name: str) -> exp.Expression:
        """The segment's membership predicate (a copy: each query owns its tree)."""
        return self._predicate(name).copy()

    def _predicate(self, name: str) -> exp.Expression:
        if name not in self.predicates:
            self.predicates[name] = self.compiler.segment(name)
        return self.predicates[name]

    def problems_of(self, name: str) -> list[Problem]:
        """Catalog misses of the segment and of every segment it references."""
        return [p for ref in self.closure(name) for p in self.problems.get(ref, [])]

    def static_of(self, name: str) -> list[str]:
        return [n for n in self.closure(name) if self.segments[n].static]

    def people_columns_of(self, names: list[str]) -> list[str]:
        """The key and the people columns the segments (with their references) read, spelled as
        the catalog spells them when it is known."""
        people = self.config.people
        wanted = [people.key]
        for name in closure(self.segments, names):
            wanted.extend(read.column for read in people_reads(self.segments[name], self.config))
        if self.catalog is None:
            return list(dict.fromkeys(wanted))
        resolved = (self.catalog.resolve(people.table, c) for c in wanted)
        return list(dict.fromkeys(c for c in resolved if c is not None))

    # --- rendering ------------------------------------------------------------------------------------
    def evaluation(self, scan_table: Callable[[Relation], exp.Expression], scans: Optional[list[Relation]] = None,
                   columns: Optional[list[str]] = None) -> exp.Select:
        """The evaluation relation `_sw_people`: one row per person, people columns and features.
        `scan_table` gives each scan's relation (a subquery, or the temp table run built)."""
        return evaluation_query(self.config, self.scans if scans is None else scans, scan_table,
                                self.people_columns if columns is None else columns)

    def members(self, name: str, source: Optional[exp.Expression] = None) -> exp.Select:
        """person_id, split and fields of the segment's members, over the evaluation relation."""
        return members_query(self.segments[name], self.config.people, self.predicate(name),
                             source or exp.table_(EVALUATION, quoted=True))

    def scans_of(self, names: list[str]) -> list[Relation]:
        """The scans computing just what these segments read, grouped as a plan of them alone."""
        wanted = set().union(*(self.features_of(n) for n in names)) if names else set()
        return plan_scans([f for c, f in self.features.items() if c in wanted], self.config.streams, self.as_of,
                          self.config.people)

    def with_evaluation(self, query: exp.Select, names: list[str]) -> exp.Select:
        """`query` reads `_sw_people`: add it, and the scans it needs, as CTEs."""
        scans = self.scans_of(names)
        for scan in scans:
            query = query.with_(exp.to_identifier(scan.name, quoted=True), as_=scan.query(self.as_of), copy=False)
        evaluation = self.evaluation(lambda scan: exp.table_(scan.name, quoted=True), scans,
                                     self.people_columns_of(names))
        return query.with_(exp.to_identifier(EVALUATION, quoted=True), as_=evaluation, copy=False)

    def standalone(self, name: str) -> exp.Select:
        """A self-contained SELECT of one segment's members (compile, preview, test): what the
        run evaluates for it, with its scans and evaluation relation as CTEs."""
        return self.with_evaluation(self.members(name), [name])

    def static_tables(self, name: str) -> list[str]:
        """The temporary tables the segment's standalone query expects to exist."""
        return [static_table(n).name for n in self.static_of(name)]


def build_plan(config: m.ProjectConfig, segments: dict[str, m.Segment], names: list[str], as_of: dt.datetime,
               catalog: Optional[Catalog] = None,
               static_naming: Callable[[str], exp.Table] = static_table) -> Plan:
    """Plan the named segments at as_of; with the target's catalog, check every column they read
    (misses in `problems`), resolve people columns to the table's spelling and spare casts of
    columns that already have the type a comparison reads. `static_naming` names the temporary
    table of a static segment's values (`diff --against` gives the REF version its own)."""
    people_types = catalog.people_types(config) if catalog is not None else None
    compiler = ConditionCompiler(config, segments, as_of, static_naming, people_types)
    everything = closure(segments, names)
    problems = check(config, segments, everything, catalog) if catalog is not None else {}
    # Segments that read a missing column are not compiled: their SQL could not run.
    broken = {n for n in everything if any(r in problems for r in closure(segments, [n]))}
    predicates = {name: compiler.segment(name) for name in names if name not in broken}
    plan = Plan(config, segments, list(names), as_of, compiler, predicates, compiler.features, [], [],
                [n for n in everything if segments[n].static], problems, catalog)
    plan.scans = plan_scans(list(compiler.features.values()), config.streams, as_of, config.people)
    plan.people_columns = plan.people_columns_of([n for n in names if n not in broken])
    return plan


def standalone_query(config: m.ProjectConfig, segments: dict[str, m.Segment], name: str,
                     as_of: dt.datetime) -> exp.Select:
    """A self-contained SELECT of one segment's members at as_of (offline: no catalog)."""
    return build_plan(config, segments, [name], as_of).standalone(name)
