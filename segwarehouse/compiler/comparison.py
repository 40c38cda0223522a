"""Two definitions of a project's segments side by side (`diff --against REF`, `state:modified`).

A segment's *evaluated definition* is the SQL `compile` writes for it (references inlined, the
streams' and people table's names and columns from segwarehouse.yml, macros and vars rendered,
fields and splits) plus the values of the static CSVs it reads. Lines, comments, formatting,
descriptions, tags, owners, tests and `sync:` never reach that SQL, so they are no modification.

Both versions are evaluated in one statement: each version's Plan compiles its own predicates, and
features are named by a digest of what they compute, so a feature both versions read is one
column of one scan. No I/O here."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Mapping, Optional

from sqlglot import exp

from ..errors import ValidationError
from ..spec import model as m
from .dialects import render
from .literals import named
from .plan import EVALUATION, Plan, build_plan, evaluation_query, plan_scans

ADDED, REMOVED, MODIFIED, UNCHANGED = "added", "removed", "modified", "unchanged"
PERSON = "person_id"


@dataclass
class Definitions:
    """What each segment of one version evaluates to: digests, and the refusals of those that
    this version of segwarehouse cannot compile (their refusal is their definition)."""

    digests: dict[str, str]
    refused: dict[str, str]


def definitions(config: m.ProjectConfig, segments: dict[str, m.Segment], names: list[str], as_of: dt.datetime,
                static_digests: Mapping[str, str]) -> Definitions:
    """The evaluated definition of each named segment at as_of (offline: no catalog, so it never
    depends on the target). `static_digests` holds a digest of each static segment's CSV values."""
    plan = build_plan(config, segments, [], as_of)
    found = Definitions({}, {})
    for name in names:
        try:
            text = render(plan.standalone(name), "duckdb")
        except ValidationError as refused:
            text = found.refused[name] = str(refused)
        statics = [f"{s}={static_digests.get(s, '')}" for s in plan.static_of(name)]
        found.digests[name] = hashlib.sha256("\n".join([text, *statics]).encode()).hexdigest()
    return found


def status_of(name: str, before: Mapping[str, str], after: Mapping[str, str]) -> str:
    if name not in before:
        return ADDED
    if name not in after:
        return REMOVED
    return UNCHANGED if before[name] == after[name] else MODIFIED


@dataclass
class Pair:
    """One segment in both versions: the flag column of its members at REF and in the working
    tree (one shared column when unchanged; None where the version lacks it)."""

    segment: str
    status: str
    before: Optional[str]
    after: Optional[str]

    def flag(self, column: Optional[str]) -> exp.Expression:
        return exp.column(column, quoted=True) if column else exp.false()


def pairs_of(names: list[str], statuses: Mapping[str, str]) -> list[Pair]:
    pairs = []
    for i, name in enumerate(names):
        status = statuses[name]
        if status == UNCHANGED:
            pairs.append(Pair(name, status, f"_sw_u{i}", f"_sw_u{i}"))
        else:
            pairs.append(Pair(name, status, None if status == ADDED else f"_sw_b{i}",
                              None if status == REMOVED else f"_sw_a{i}"))
    return pairs


def _columns(pairs: list[Pair], side: str) -> dict[str, str]:
    """{flag column: segment} a version evaluates: REF the removed and modified ones, the working
    tree the added, modified and unchanged ones."""
    found = {}
    for p in pairs:
        column = p.before if side == "before" else p.after
        if column and (side == "after" or p.status != UNCHANGED):
            found[column] = p.segment
    return found


def compatible(before: m.ProjectConfig, after: m.ProjectConfig) -> bool:
    """One evaluation relation serves both versions when they read the same people table and
    every stream both name is the same table and columns (features are keyed by stream name)."""
    return before.people == after.people and all(
        after.streams.get(name) == stream for name, stream in before.streams.items())


def flags_query(before: Plan, after: Plan, pairs: list[Pair]) -> exp.Select:
    """One statement: per person, whether each version of each segment selects them."""
    sides = [(before, _columns(pairs, "before")), (after, _columns(pairs, "after"))]
    if compatible(before.config, after.config):
        return _flags(sides, after)
    # A different people table or stream definition: no scan can be shared. Still one statement,
    # each version over its own evaluation relation, joined on the person.
    b, a = (_flags([side], side[0]).subquery(alias) for side, alias in zip(sides, ("_sw_before", "_sw_after")))
    person = exp.func("COALESCE", exp.column(PERSON, table="_sw_before", quoted=True),
                      exp.column(PERSON, table="_sw_after", quoted=True))
    flags = [named(exp.func("COALESCE", exp.column(c, table=alias, quoted=True), exp.false()), c)
             for (_, columns), alias in zip(sides, ("_sw_before", "_sw_after")) for c in columns]
    on = exp.column(PERSON, table="_sw_before", quoted=True).eq(exp.column(PERSON, table="_sw_after", quoted=True))
    return exp.select(named(person, PERSON), *flags).from_(b).join(a, on=on, join_type="full outer")


def _flags(sides: list[tuple[Plan, dict[str, str]]], people_plan: Plan) -> exp.Select:
    """Flags over one evaluation relation computing every feature the sides read once."""
    as_of = people_plan.as_of
    features, people = {}, []
    for plan, columns in sides:
        names = list(columns.values())
        for name in names:
            features.update({c: plan.features[c] for c in plan.features_of(name)})
        people.extend(plan.people_columns_of(names))
    scans = plan_scans(list(features.values()), people_plan.config.streams, as_of, people_plan.config.people)
    source = evaluation_query(people_plan.config, scans, lambda scan: scan.query(as_of).subquery(),
                              list(dict.fromkeys(people)))
    key = exp.column(people_plan.config.people.key, quoted=True)
    flags = [named(plan.predicate(name), column) for plan, columns in sides for column, name in columns.items()]
    return exp.select(named(key, PERSON), *flags).from_(source.subquery(EVALUATION, copy=False), copy=False)


def _count(condition: exp.Expression) -> exp.Expression:
    case = exp.Case().when(condition, exp.Literal.number(1)).else_(exp.Literal.number(0))
    return exp.func("COALESCE", exp.Sum(this=case), exp.Literal.number(0))


def entered(pair: Pair) -> exp.Expression:
    return exp.and_(pair.flag(pair.after), exp.not_(pair.flag(pair.before)))


def exited(pair: Pair) -> exp.Expression:
    return exp.and_(pair.flag(pair.before), exp.not_(pair.flag(pair.after)))


def counts_query(table: exp.Table, pairs: list[Pair]) -> exp.Select:
    """before, after, entered, exited of every pair, in that order, in one row."""
    columns = []
    for p in pairs:
        columns += [_count(p.flag(p.before)), _count(p.flag(p.after)), _count(entered(p)), _count(exited(p))]
    return exp.select(*columns).from_(table)


def samples_query(table: exp.Table, wanted: list[tuple[int, str, exp.Expression]], limit: int) -> exp.Query:
    """The `limit` smallest keys of each (index, direction, condition), as rows (index, direction, key)."""
    parts = []
    for index, direction, condition in wanted:
        part = (exp.select(named(exp.Literal.number(index), "i"), named(exp.Literal.string(direction), "d"),
                           exp.column(PERSON, quoted=True))
                .from_(table.copy()).where(condition).order_by(exp.column(PERSON, quoted=True)).limit(limit))
        parts.append(exp.select("*").from_(part.subquery(f"_sw_s{len(parts)}")))
    query: exp.Query = parts[0]
    for part in parts[1:]:
        query = exp.union(query, part, distinct=False)
    return query
