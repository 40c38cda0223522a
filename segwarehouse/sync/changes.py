"""The warehouse side of a sync, as sqlglot expressions: what is pending for one (segment, destination),
the cursor, and the rejections table. No I/O here; the engine runs these through the adapter.

Net changes: per person, the latest change since the cursor wins. A person who entered and left again
between two syncs is sent the removal too: a sync killed halfway may have added them already, and
removing someone who is not in a list is harmless. People rejected before are sent their latest
change again, whatever the cursor says.

A subscription with `splits` (SPEC section 8) sees only members whose split group is listed: a
person's net change for it is their latest change while in a listed group, an exit when they were in
a listed group during the window (or at the cursor) but are not now, and nothing otherwise. So moving
from one group to another is an exit from one subscription and an entry into the other."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional, Sequence

from sqlglot import exp

from ..compiler.literals import cast, named
from ..compiler.plan import table
from ..materialize.tables import CHANGES, MEMBERS, REJECTIONS, RUNS, SYNC_STATE, output_table
from ..spec import model as m

COLUMNS = ("person_id", "identifier", "change", "changed_at", "run_id", "split", "fields")


def _col(name: str, alias: Optional[str] = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def _s(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _of(destination: str, segment: str, alias: Optional[str] = None) -> exp.Expression:
    return exp.and_(_col("destination", alias).eq(_s(destination)), _col("segment", alias).eq(_s(segment)))


def _identifier(people: m.People, identifier: str, person: exp.Expression,
                fields: exp.Expression) -> exp.Expression:
    """The value the destination knows a person by. `key` is the person id itself. Another identifier
    comes from the people table; for a person who left it (an exit), from the change's own fields when
    the segment carries that column (exited rows keep the last fields), else NULL: the engine then
    records a rejection that says so."""
    if identifier == "key":
        return exp.null()  # the engine uses str(person_id): cheaper than a string per row from the warehouse
    column = people.column_for(identifier)
    from_fields = exp.JSONExtractScalar(
        this=fields, expression=exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=column)]))
    return exp.Coalesce(this=cast(_col(column, "p"), "VARCHAR"), expressions=[from_fields])


def _with_identifier(config: m.ProjectConfig, identifier: str, rows: exp.Select, change: exp.Expression,
                     alias: str) -> exp.Select:
    """SELECT the output COLUMNS from `rows` (aliased), joining the people table when needed."""
    people = config.people
    query = exp.select(
        named(_col("person_id", alias), "person_id"),
        named(_identifier(people, identifier, _col("person_id", alias), _col("fields", alias)), "identifier"),
        named(change, "change"), named(_col("changed_at", alias), "changed_at"),
        named(_col("run_id", alias), "run_id"), named(_col("split", alias), "split"),
        named(cast(_col("fields", alias), "VARCHAR"), "fields")).from_(rows)
    if identifier != "key":
        query = query.join(exp.alias_(table(people.table), "p", table=True), join_type="left",
                           on=_col(people.key, "p").eq(_col("person_id", alias)))
    return query


def _in_groups(split: exp.Expression, splits: Optional[Sequence[str]]) -> Optional[exp.Expression]:
    """Whether a row's split is one of the subscription's groups (None without `splits`: no condition)."""
    if splits is None:
        return None
    return exp.In(this=split, expressions=[_s(group) for group in splits])


def _all(*conditions: Optional[exp.Expression]) -> exp.Expression:
    return exp.and_(*(c for c in conditions if c is not None))


def _ranked(config: m.ProjectConfig, destination: str, segment: str, cursor: Optional[str], through: str,
            with_rejections: bool, splits: Optional[Sequence[str]] = None) -> exp.Select:
    """Changes of the segment in (cursor, through], plus every change of previously rejected people,
    ranked per person (rn = 1: the latest) with the first change of that window and its split, and
    (with `splits`) whether any of the person's rows in the window was in one of the groups. (A window,
    not a GROUP BY joined back to the log: DuckDB spills it under a memory_limit; the join did not.)"""
    changes = exp.alias_(output_table(config.output_schema, CHANGES), "c", table=True)
    person = exp.Window(this=exp.RowNumber(), partition_by=[_col("person_id", "c")],
                        order=exp.Order(expressions=[exp.Ordered(this=_col("run_id", "c"), desc=True)]))
    def first(column: str) -> exp.Window:
        return exp.Window(this=exp.FirstValue(this=_col(column, "c")), partition_by=[_col("person_id", "c")],
                          order=exp.Order(expressions=[exp.Ordered(this=_col("run_id", "c"))]))

    by_split = []  # only with `splits`: the queries without them stay as they were
    if splits is not None:
        in_groups = exp.Case().when(_in_groups(_col("split", "c"), splits), exp.Literal.number(1)).else_(
            exp.Literal.number(0))
        by_split = [named(first("split"), "first_split"),
                    named(exp.Window(this=exp.Max(this=in_groups), partition_by=[_col("person_id", "c")]),
                          "in_groups")]
    rejected: exp.Expression = exp.false()
    if with_rejections:
        rejected = exp.Not(this=exp.Is(this=_col("person_id", "r"), expression=exp.null()))
    query = exp.select(
        *(_col(c, "c") for c in ("person_id", "change", "changed_at", "run_id", "split", "fields")),
        named(person, "rn"), named(first("change"), "first_change"), *by_split,
        named(rejected.copy(), "rejected")).from_(changes)
    window = _col("run_id", "c") <= _s(through)
    if cursor is not None:
        since: exp.Expression = _col("run_id", "c") > _s(cursor)
        if with_rejections:
            since = exp.or_(since, rejected.copy())
        window = exp.and_(window, exp.paren(since, copy=False))
    if with_rejections:
        earlier = (exp.select(_col("person_id")).distinct()
                   .from_(output_table(config.output_schema, REJECTIONS)).where(_of(destination, segment)))
        query = query.join(earlier.subquery("r"), join_type="left",
                           on=_col("person_id", "r").eq(_col("person_id", "c")))
    return query.where(exp.and_(_col("segment", "c").eq(_s(segment)), window))


def _net_change(splits: Optional[Sequence[str]]) -> exp.Expression:
    """The change a subscription sees for a person's latest row (NULL: none, see the module doc)."""
    change = _col("change", "n")
    if splits is None:
        return change
    now_in = exp.and_(change.neq(_s("exited")), _in_groups(_col("split", "n"), splits))
    return (exp.Case().when(now_in, change.copy())
            .when(_col("in_groups", "n").eq(exp.Literal.number(1)), _s("exited")).else_(exp.null()))


def pending_query(config: m.ProjectConfig, destination: str, segment: str, identifier: str,
                  cursor: Optional[str], through: str, with_rejections: bool = True,
                  full: bool = False, ordered: bool = True,
                  splits: Optional[Sequence[str]] = None) -> exp.Select:
    """Rows of COLUMNS: the net change of every person since the cursor, ordered by change then person
    (a stable order: a resent batch holds the same records). With full=True, every current member as
    'entered' plus the net exits since the cursor, so nothing pending is skipped. ordered=False skips
    the sort (a second faster on a million) for destinations whose batches need not be the same on
    a resend. `splits` limits it to members of those split groups."""
    ranked = _ranked(config, destination, segment, cursor, through, with_rejections, splits).subquery("n")
    change = _net_change(splits)
    net = _with_identifier(config, identifier, ranked, change, "n").where(
        _col("rn", "n").eq(exp.Literal.number(1)))
    if splits is not None:
        net = net.where(exp.Not(this=exp.Is(this=change.copy(), expression=exp.null())))
    if full:
        net = net.where(change.copy().eq(_s("exited")))
        members = exp.alias_(output_table(config.output_schema, MEMBERS), "mm", table=True)
        current = exp.select(_col("person_id"), named(_col("entered_at"), "changed_at"), _col("run_id"),
                             _col("split"), _col("fields")).from_(members).where(
            _all(_col("segment").eq(_s(segment)), _in_groups(_col("split"), splits)))
        everyone = _with_identifier(config, identifier, current.subquery("n"), _s("entered"), "n")
        union = exp.union(net, everyone, distinct=False).subquery("u")
        query = exp.select(*(_col(c, "u") for c in COLUMNS)).from_(union)
        return query.order_by(_col("change", "u"), _col("person_id", "u")) if ordered else query
    return net.order_by(_col("change", "n"), _col("person_id", "n")) if ordered else net


def count_by_change(pending: exp.Select) -> exp.Select:
    """{change: count} of a pending query (for the dry run and the mass-removal guard)."""
    inner = pending.copy()
    inner.set("order", None)
    rows = inner.subquery("q")
    return (exp.select(_col("change", "q"), exp.Count(this=exp.Star())).from_(rows)
            .group_by(_col("change", "q")))


def count_upper_bound(config: m.ProjectConfig, destination: str, segment: str, cursor: Optional[str],
                      through: str, with_rejections: bool, full: bool) -> exp.Select:
    """At least as many rows as the pending query yields, from plain counts (no window): the changes
    after the cursor, the rejections to retry, and with full=True the current members."""
    def count(name: str, where: exp.Expression) -> exp.Expression:
        return exp.select(exp.Count(this=exp.Star())).from_(output_table(config.output_schema, name)).where(where).subquery()

    in_window: exp.Expression = exp.and_(_col("segment").eq(_s(segment)), _col("run_id") <= _s(through))
    if cursor is not None:
        in_window = exp.and_(in_window, _col("run_id") > _s(cursor))
    parts = [count(CHANGES, in_window)]
    if with_rejections:
        parts.append(count(REJECTIONS, _of(destination, segment)))
    if full:
        parts.append(count(MEMBERS, _col("segment").eq(_s(segment))))
    total = parts[0]
    for part in parts[1:]:
        total = exp.Add(this=total, expression=part)
    return exp.select(total)


def removals_of_members(config: m.ProjectConfig, destination: str, segment: str, cursor: Optional[str],
                        through: str, with_rejections: bool, splits: Optional[Sequence[str]] = None) -> exp.Select:
    """How many pending removals take out someone who was a member at the cursor (their first change
    since is not `entered`, and, with `splits`, it was in one of the groups): the numerator of the
    mass-removal ratio. People who came and went between two syncs do not count: their removal empties
    nothing that the list held."""
    ranked = _ranked(config, destination, segment, cursor, through, with_rejections, splits).subquery("n")
    return exp.select(exp.Count(this=exp.Star())).from_(ranked).where(_all(
        _col("rn", "n").eq(exp.Literal.number(1)), _net_change(splits).eq(_s("exited")),
        _col("first_change", "n").neq(_s("entered")), _in_groups(_col("first_split", "n"), splits)))


def members_at(config: m.ProjectConfig, segment: str, cursor: Optional[str],
               splits: Optional[Sequence[str]] = None) -> exp.Select:
    """How many people were members as of the cursor (in one of `splits`' groups, when given): what the
    destination's list held after the last acknowledged sync (the base of the mass-removal ratio)."""
    changes = output_table(config.output_schema, CHANGES)
    person = exp.Window(this=exp.RowNumber(), partition_by=[_col("person_id")],
                        order=exp.Order(expressions=[exp.Ordered(this=_col("run_id"), desc=True)]))
    ranked = (exp.select(_col("change"), _col("split"), named(person, "rn")).from_(changes)
              .where(exp.and_(_col("segment").eq(_s(segment)), _col("run_id") <= _s(cursor or ""))))
    q = ranked.subquery("q")
    return exp.select(exp.Count(this=exp.Star())).from_(q).where(
        _all(_col("rn", "q").eq(exp.Literal.number(1)), _col("change", "q").neq(_s("exited")),
             _in_groups(_col("split", "q"), splits)))


def latest_run(config: m.ProjectConfig, segment: str) -> exp.Select:
    """The last successful run of the segment: the sync covers changes up to it."""
    return (exp.select(exp.Max(this=_col("run_id"))).from_(output_table(config.output_schema, RUNS))
            .where(exp.and_(_col("segment").eq(_s(segment)), _col("status").eq(_s("success")))))


def read_cursor(config: m.ProjectConfig, destination: str, segment: str) -> exp.Select:
    return (exp.select(_col("synced_through_run_id")).from_(output_table(config.output_schema, SYNC_STATE))
            .where(_of(destination, segment)))


def has_rejections(config: m.ProjectConfig, destination: str, segment: str) -> exp.Select:
    return (exp.select(exp.Count(this=exp.Star())).from_(output_table(config.output_schema, REJECTIONS))
            .where(_of(destination, segment)))


def commit_statements(config: m.ProjectConfig, destination: str, segment: str, through: str,
                      now: dt.datetime) -> list[exp.Expression]:
    """Advance the cursor and drop the previous rejections (the new ones are inserted in the same
    transaction): delete + insert works on every engine, unlike MERGE/ON CONFLICT."""
    state = output_table(config.output_schema, SYNC_STATE)
    rejections = output_table(config.output_schema, REJECTIONS)
    values = exp.Values(expressions=[exp.Tuple(expressions=[
        _s(destination), _s(segment), _s(through), cast(_s(now.isoformat(sep=" ")), "TIMESTAMP")])])
    insert = exp.insert(values, exp.Schema(this=state.copy(), expressions=[
        exp.to_identifier(c, quoted=True) for c in ("destination", "segment", "synced_through_run_id", "updated_at")]))
    return [exp.delete(rejections, where=_of(destination, segment)),
            exp.delete(state.copy(), where=_of(destination, segment)), insert]


REJECTION_COLUMNS = ("destination", "segment", "person_id", "run_id", "reason", "at")


def rejections_table(config: m.ProjectConfig) -> exp.Table:
    return output_table(config.output_schema, REJECTIONS)


def rejection_row(destination: str, segment: str, person_id: Any, run_id: str, reason: str,
                  at: dt.datetime) -> tuple:
    return (destination, segment, person_id, run_id, reason[:1000], at)
