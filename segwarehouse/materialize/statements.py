"""The statements that move segments from their old members to their new ones, as sqlglot trees.

Each segment's new members are compared with its current ones in one statement that keeps only
the differences; then the differences of all segments are written by four statements in one
transaction. Steady-state runs move only the people who changed."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlglot import exp

from ..compiler.literals import cast, named, timestamp
from .tables import CHANGES, MEMBERS, output_table

DELTA = "_sw_delta"


def _col(name: str, alias: str | None = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def _temp(name: str) -> exp.Table:
    return exp.table_(name, quoted=True)


def _names(*names: str) -> list[exp.Identifier]:
    return [exp.to_identifier(n, quoted=True) for n in names]


def static_values_query() -> exp.Select:
    """The (empty) temporary table holding a static segment's CSV values: `adapter.create_temp(...)`."""
    return exp.select(cast(exp.null(), "VARCHAR").as_("value", quoted=True)).limit(0)


DELTA_COLUMNS = ("segment", "person_id", "change", "split", "fields")


def delta_query(person_type: str) -> exp.Select:
    """The (empty) temporary table of a run's changes, filled segment by segment."""
    types = {"segment": "VARCHAR", "person_id": person_type, "change": "VARCHAR", "split": "VARCHAR", "fields": "JSON"}
    return exp.select(*(named(cast(exp.null(), t), c) for c, t in types.items())).limit(0)


def insert_changes(schema: str, evaluation: str, segment: str, key: str, predicate: exp.Expression,
                   split: Callable[[exp.Expression], exp.Expression], fields: exp.Expression | None,
                   json_text: Callable[[exp.Expression], exp.Expression]) -> exp.Insert:
    """One segment's changes: its new members (people the predicate selects) against its current
    ones. Only entered, exited and (for segments with fields) updated people produce a row; a
    continuing member keeps the split it entered with (sticky assignment), computed for newcomers only.
    `json_text` is the adapter's verb turning JSON into comparable text."""
    seg = exp.Literal.string(segment)
    n_id, o_id = _col("person_id", "n"), _col("person_id", "o")
    new = (exp.select(named(_col(key), "person_id"), named(fields or cast(exp.null(), "JSON"), "fields"))
           .from_(_temp(evaluation), copy=False).where(predicate, copy=False))
    old = (exp.select(*(_col(c) for c in ("person_id", "split", "fields"))).from_(output_table(schema, MEMBERS))
           .where(_col("segment").eq(seg.copy())))
    entered = exp.Is(this=o_id.copy(), expression=exp.null())
    exited = exp.Is(this=n_id.copy(), expression=exp.null())
    changed = [entered.copy(), exited.copy()]
    if fields is not None:
        changed.append(exp.NullSafeNEQ(this=json_text(_col("fields", "n")), expression=json_text(_col("fields", "o"))))
    query = (exp.select(
        seg.copy(), exp.func("COALESCE", n_id.copy(), o_id.copy()),
        exp.Case().when(entered.copy(), exp.Literal.string("entered"))
        .when(exited.copy(), exp.Literal.string("exited")).else_(exp.Literal.string("updated")),
        exp.Case().when(entered.copy(), split(n_id.copy())).else_(_col("split", "o")),
        exp.Case().when(exited.copy(), _col("fields", "o")).else_(_col("fields", "n")))
        .from_(new.subquery("n", copy=False), copy=False)
        .join(old.subquery("o", copy=False), on=n_id.copy().eq(o_id.copy()), join_type="full outer", copy=False)
        .where(exp.or_(*changed, copy=False), copy=False))
    return exp.insert(query, exp.Schema(this=_temp(DELTA), expressions=_names(*DELTA_COLUMNS)))


def change_counts() -> exp.Select:
    return (exp.select(_col("segment"), _col("change"), exp.Count(this=exp.Star())).from_(_temp(DELTA))
            .group_by(_col("segment"), _col("change")))


def change_samples(limit: int) -> exp.Select:
    """(segment, change, person_id): the `limit` smallest keys entered and exited per segment."""
    rank = exp.Window(this=exp.RowNumber(), partition_by=[_col("segment"), _col("change")],
                      order=exp.Order(expressions=[exp.Ordered(this=_col("person_id"))]))
    ranked = (exp.select(_col("segment"), _col("change"), _col("person_id"), named(rank, "_sw_rank"))
              .from_(_temp(DELTA)).where(_col("change").isin(exp.Literal.string("entered"),
                                                               exp.Literal.string("exited"))))
    return (exp.select(_col("segment"), _col("change"), _col("person_id")).from_(ranked.subquery("r"))
            .where(exp.LTE(this=_col("_sw_rank"), expression=exp.Literal.number(limit)))
            .order_by(_col("segment"), _col("change"), _col("person_id")))


def member_counts(schema: str, segments: list[str]) -> exp.Select:
    """Current members per segment, before the run is applied."""
    return (exp.select(_col("segment"), exp.Count(this=exp.Star())).from_(output_table(schema, MEMBERS))
            .where(_col("segment").isin(*(exp.Literal.string(s) for s in segments))).group_by(_col("segment")))


def apply_statements(schema: str, run_id: str, as_of: dt.datetime) -> list[exp.Expression]:
    """Record the delta in the change log and apply it to the members table."""
    members = output_table(schema, MEMBERS)
    run, at = exp.Literal.string(run_id), timestamp(as_of)

    def delta_of(kind: str) -> exp.Expression:
        return _col("change", DELTA).eq(exp.Literal.string(kind))

    def same_member() -> exp.Expression:
        return exp.and_(_col("segment", MEMBERS).eq(_col("segment", DELTA)),
                        _col("person_id", MEMBERS).eq(_col("person_id", DELTA)))

    insert_changes = exp.insert(
        exp.select(run, _col("segment"), _col("person_id"), _col("change"), at, _col("split"), _col("fields"))
        .from_(_temp(DELTA)),
        exp.Schema(this=output_table(schema, CHANGES),
                   expressions=_names("run_id", "segment", "person_id", "change", "changed_at", "split", "fields")))
    delete_exited = exp.Delete(this=members.copy(), using=[_temp(DELTA)],
                               where=exp.Where(this=exp.and_(same_member(), delta_of("exited"))))
    update_fields = exp.Update(
        this=members.copy(),
        expressions=[exp.EQ(this=_col("fields"), expression=_col("fields", DELTA)),
                     exp.EQ(this=_col("run_id"), expression=run.copy())],
        from_=exp.From(this=_temp(DELTA)),
        where=exp.Where(this=exp.and_(same_member(), delta_of("updated"))))
    # The delta is filled segment by segment and engines keep insertion order, so members stay
    # clustered by segment: reading one segment's members skips the others' row groups.
    insert_entered = exp.insert(
        exp.select(_col("segment"), _col("person_id"), at.copy(), _col("split"), _col("fields"), run.copy())
        .from_(_temp(DELTA)).where(_col("change").eq(exp.Literal.string("entered"))),
        exp.Schema(this=members.copy(),
                   expressions=_names("segment", "person_id", "entered_at", "split", "fields", "run_id")))
    return [insert_changes, delete_exited, update_fields, insert_entered]


def segment_view(schema: str, segment: str, people_table: exp.Table, people_key: str) -> exp.Select:
    """One view per segment for BI tools (`adapter.replace_view(output_table(schema, segment), ...)`):
    its members with their people columns."""
    return (exp.select(_col("entered_at", "m").as_("segment_entered_at", quoted=True),
                       _col("split", "m").as_("segment_split", quoted=True),
                       exp.Column(this=exp.Star(), table=exp.to_identifier("p", quoted=True)))
            .from_(exp.alias_(output_table(schema, MEMBERS), "m", table=True))
            .join(exp.alias_(people_table, "p", table=True), on=_col(people_key, "p").eq(_col("person_id", "m")))
            .where(_col("segment", "m").eq(exp.Literal.string(segment))))
