"""The statements that move segments from their old members to their new ones, as sqlglot trees.

All segments of a run are applied together: their new members are collected in one temporary
table, compared with the current members in one join, and the differences written by four
statements in one transaction. A run costs a handful of statements, not a handful per segment."""
from __future__ import annotations

import datetime as dt

from sqlglot import exp

from ..compiler.literals import cast, timestamp
from .tables import CHANGES, MEMBERS, output_table

NEW, DELTA = "_sw_new", "_sw_delta"
MEMBER_COLUMNS = ("segment", "person_id", "split", "fields")


def _col(name: str, alias: str | None = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def _temp(name: str) -> exp.Table:
    return exp.table_(name, quoted=True)


def _names(*names: str) -> list[exp.Identifier]:
    return [exp.to_identifier(n, quoted=True) for n in names]


def create_temp(name: str, query: exp.Query) -> exp.Create:
    return exp.Create(this=_temp(name), kind="TABLE", expression=query, replace=True,
                      properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def drop_temp(name: str) -> exp.Drop:
    return exp.Drop(tables=[_temp(name)], kind="TABLE", exists=True)


def create_static_values(table: exp.Table) -> exp.Create:
    """The temporary table holding a static segment's CSV values."""
    return create_temp(table.name, exp.select(cast(exp.null(), "VARCHAR").as_("value", quoted=True)).limit(0))


def create_new_members(person_type: str) -> exp.Create:
    """The temporary table collecting every segment's new members."""
    types = {"segment": "VARCHAR", "person_id": person_type, "split": "VARCHAR", "fields": "JSON"}
    query = exp.select(*(cast(exp.null(), t).as_(c, quoted=True) for c, t in types.items())).limit(0)
    return create_temp(NEW, query)


def insert_new_members(segment: str, members: exp.Select) -> exp.Insert:
    """members selects (person_id, split, fields) of one segment."""
    query = exp.select(exp.Literal.string(segment), "*").from_(members.subquery("m"))
    return exp.insert(query, exp.Schema(this=_temp(NEW), expressions=_names(*MEMBER_COLUMNS)))


def delta_query(schema: str, segments: list[str]) -> exp.Select:
    """Entered, exited and updated people of the given segments: new members against current ones.
    A continuing member keeps the split it entered with (sticky assignment)."""
    n_id, o_id = _col("person_id", "n"), _col("person_id", "o")
    listed = [exp.Literal.string(s) for s in segments]
    current = (exp.select(*(_col(c) for c in MEMBER_COLUMNS)).from_(output_table(schema, MEMBERS))
               .where(_col("segment").isin(*listed)))
    change = (exp.Case()
              .when(exp.Is(this=o_id.copy(), expression=exp.null()), exp.Literal.string("entered"))
              .when(exp.Is(this=n_id.copy(), expression=exp.null()), exp.Literal.string("exited"))
              .else_(exp.Literal.string("updated")))
    fields_changed = exp.NullSafeNEQ(this=cast(_col("fields", "n"), "VARCHAR"),
                                     expression=cast(_col("fields", "o"), "VARCHAR"))
    same_person = exp.and_(_col("segment", "n").eq(_col("segment", "o")), n_id.copy().eq(o_id.copy()))
    return (exp.select(
        exp.func("COALESCE", _col("segment", "n"), _col("segment", "o")).as_("segment", quoted=True),
        exp.func("COALESCE", n_id, o_id).as_("person_id", quoted=True),
        change.as_("change", quoted=True),
        exp.func("COALESCE", _col("split", "o"), _col("split", "n")).as_("split", quoted=True),
        exp.Case().when(exp.Is(this=n_id.copy(), expression=exp.null()), _col("fields", "o"))
        .else_(_col("fields", "n")).as_("fields", quoted=True))
        .from_(exp.alias_(_temp(NEW), "n", table=True))
        .join(exp.alias_(current.subquery(), "o", table=True), on=same_person, join_type="full outer")
        .where(exp.or_(exp.Is(this=o_id.copy(), expression=exp.null()),
                       exp.Is(this=n_id.copy(), expression=exp.null()), fields_changed)))


def change_counts() -> exp.Select:
    return (exp.select(_col("segment"), _col("change"), exp.Count(this=exp.Star())).from_(_temp(DELTA))
            .group_by(_col("segment"), _col("change")))


def member_counts() -> exp.Select:
    return exp.select(_col("segment"), exp.Count(this=exp.Star())).from_(_temp(NEW)).group_by(_col("segment"))


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
    insert_entered = exp.insert(
        exp.select(_col("segment"), _col("person_id"), at.copy(), _col("split"), _col("fields"), run.copy())
        .from_(_temp(DELTA)).where(_col("change").eq(exp.Literal.string("entered"))),
        exp.Schema(this=members.copy(),
                   expressions=_names("segment", "person_id", "entered_at", "split", "fields", "run_id")))
    return [insert_changes, delete_exited, update_fields, insert_entered]


def segment_view(schema: str, segment: str, people_table: exp.Table, people_key: str) -> exp.Create:
    """One view per segment for BI tools: its members with their people columns."""
    query = (exp.select(_col("entered_at", "m").as_("segment_entered_at", quoted=True),
                        _col("split", "m").as_("segment_split", quoted=True),
                        exp.Column(this=exp.Star(), table=exp.to_identifier("p", quoted=True)))
             # unqualified: a view resolves it in its own schema, however the file is opened later
             .from_(exp.alias_(exp.table_(MEMBERS, quoted=True), "m", table=True))
             .join(exp.alias_(people_table, "p", table=True),
                   on=_col(people_key, "p").eq(_col("person_id", "m")))
             .where(_col("segment", "m").eq(exp.Literal.string(segment))))
    return exp.Create(this=output_table(schema, segment), kind="VIEW", expression=query, replace=True)
