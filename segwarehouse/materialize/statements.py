"""The statements that move one segment from its old members to its new ones, as sqlglot trees."""
from __future__ import annotations

import datetime as dt

from sqlglot import exp

from ..compiler.literals import timestamp
from .tables import CHANGES, MEMBERS, output_table

NEW, OLD, DELTA = "_sw_new", "_sw_old", "_sw_delta"


def _col(name: str, alias: str | None = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def _temp(name: str) -> exp.Table:
    return exp.table_(name, quoted=True)


def create_temp(name: str, query: exp.Query) -> exp.Create:
    return exp.Create(this=_temp(name), kind="TABLE", expression=query, replace=True,
                      properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def drop_temp(name: str) -> exp.Drop:
    return exp.Drop(tables=[_temp(name)], kind="TABLE", exists=True)


def current_members(schema: str, segment: str) -> exp.Select:
    return (exp.select("*").from_(output_table(schema, MEMBERS))
            .where(_col("segment").eq(exp.Literal.string(segment))))


def delta_query(schema: str, segment: str) -> exp.Select:
    """Entered, exited and updated people: new members (_sw_new) against the current ones.
    A continuing member keeps the split it entered with (sticky assignment)."""
    n_id, o_id = _col("person_id", "n"), _col("person_id", "o")
    change = (exp.Case()
              .when(exp.Is(this=o_id.copy(), expression=exp.null()), exp.Literal.string("entered"))
              .when(exp.Is(this=n_id.copy(), expression=exp.null()), exp.Literal.string("exited"))
              .else_(exp.Literal.string("updated")))
    fields_changed = exp.NullSafeNEQ(this=exp.cast(_col("fields", "n"), "VARCHAR"),
                                     expression=exp.cast(_col("fields", "o"), "VARCHAR"))
    return (exp.select(
        exp.func("COALESCE", n_id, o_id).as_("person_id", quoted=True),
        change.as_("change", quoted=True),
        exp.func("COALESCE", _col("split", "o"), _col("split", "n")).as_("split", quoted=True),
        exp.Case().when(exp.Is(this=n_id.copy(), expression=exp.null()), _col("fields", "o"))
        .else_(_col("fields", "n")).as_("fields", quoted=True))
        .from_(exp.alias_(_temp(NEW), "n", table=True))
        .join(exp.alias_(current_members(schema, segment).subquery(), "o", table=True),
              on=n_id.copy().eq(o_id.copy()), join_type="full outer")
        .where(exp.or_(exp.Is(this=o_id.copy(), expression=exp.null()),
                       exp.Is(this=n_id.copy(), expression=exp.null()), fields_changed)))


def apply_statements(schema: str, segment: str, run_id: str, as_of: dt.datetime) -> list[exp.Expression]:
    """Record the delta in the change log and apply it to the members table, in that order."""
    members, seg = output_table(schema, MEMBERS), exp.Literal.string(segment)
    run, at = exp.Literal.string(run_id), timestamp(as_of)
    of_change = lambda kind: _col("change").eq(exp.Literal.string(kind))  # noqa: E731
    insert_changes = exp.insert(
        exp.select(run, seg, _col("person_id"), _col("change"), at, _col("split"), _col("fields")).from_(_temp(DELTA)),
        exp.Schema(this=output_table(schema, CHANGES), expressions=[
            exp.to_identifier(c, quoted=True)
            for c in ("run_id", "segment", "person_id", "change", "changed_at", "split", "fields")]))
    delete_exited = exp.delete(members, where=exp.and_(
        _col("segment").eq(seg.copy()),
        _col("person_id").isin(query=exp.select(_col("person_id")).from_(_temp(DELTA)).where(of_change("exited")))))
    update_fields = exp.Update(
        this=members.copy(),
        expressions=[exp.EQ(this=_col("fields"), expression=_col("fields", DELTA)),
                     exp.EQ(this=_col("run_id"), expression=run.copy())],
        from_=exp.From(this=_temp(DELTA)),
        where=exp.Where(this=exp.and_(
            _col("segment", MEMBERS).eq(seg.copy()),
            _col("person_id", MEMBERS).eq(_col("person_id", DELTA)),
            _col("change", DELTA).eq(exp.Literal.string("updated")))))
    insert_entered = exp.insert(
        exp.select(seg.copy(), _col("person_id"), at.copy(), _col("split"), _col("fields"), run.copy())
        .from_(_temp(DELTA)).where(of_change("entered")),
        exp.Schema(this=members.copy(), expressions=[
            exp.to_identifier(c, quoted=True) for c in ("segment", "person_id", "entered_at", "split", "fields", "run_id")]))
    return [insert_changes, delete_exited, update_fields, insert_entered]


def segment_view(schema: str, segment: str, people_table: exp.Table, people_key: str) -> exp.Create:
    """One view per segment for BI tools: its members with their people columns."""
    query = (exp.select(_col("entered_at", "m").as_("segment_entered_at", quoted=True),
                        _col("split", "m").as_("segment_split", quoted=True),
                        exp.Column(this=exp.Star(), table=exp.to_identifier("p", quoted=True)))
             .from_(exp.alias_(output_table(schema, MEMBERS), "m", table=True))
             .join(exp.alias_(people_table, "p", table=True),
                   on=_col(people_key, "p").eq(_col("person_id", "m")))
             .where(_col("segment", "m").eq(exp.Literal.string(segment))))
    return exp.Create(this=output_table(schema, segment), kind="VIEW", expression=query, replace=True)
