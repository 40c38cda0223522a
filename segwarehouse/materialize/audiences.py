"""Opt-in views in the shape Census's Warehouse-Managed Audiences reads (`audience_views:` in
segwarehouse.yml): `audiences (id, name, description)`, one row per enabled segment of the project,
and `audience_memberships (person_id, audience_id)`, read from segment_members (SPEC section 7).
An audience's `id` is its segment name: stable for as long as the segment keeps its name, the key
segment_members already uses, and readable in Census. Runs replace both views with the runs' DDL."""
from __future__ import annotations

from typing import Mapping

from sqlglot import exp

from ..compiler.names import table_of
from ..spec import model as m
from .tables import MEMBERS, output_table

AUDIENCES, MEMBERSHIPS = "audiences", "audience_memberships"
TEXT = "VARCHAR"


def view_table(config: m.ProjectConfig, name: str) -> exp.Table:
    """Where a view goes: `audience_views.schema`, or the people table's schema."""
    where = config.audience_views.schema if config.audience_views and config.audience_views.schema else None
    place = table_of(f"{where}.{name}") if where else table_of(config.people.table)
    return exp.table_(name, db=place.args.get("db"), catalog=place.args.get("catalog"), quoted=True)


def audiences_query(segments: Mapping[str, m.Segment]) -> exp.Select:
    """One row per enabled segment, every column text (a fixed shape: CREATE OR REPLACE VIEW on
    PostgreSQL refuses a column whose type changes)."""
    names = [n for n, s in segments.items() if s.enabled]
    columns = [exp.cast(exp.column(c, table="a", quoted=True), TEXT).as_(c, quoted=True)
               for c in ("id", "name", "description")]
    if not names:  # no rows: the same columns over nothing
        return exp.select(*(exp.cast(exp.null(), TEXT).as_(c, quoted=True) for c in ("id", "name", "description"))
                          ).where(exp.false())
    rows = [exp.tuple_(exp.Literal.string(n), exp.Literal.string(n),
                       exp.Literal.string(segments[n].description) if segments[n].description else exp.null())
            for n in names]
    values = exp.Values(expressions=rows, alias=exp.TableAlias(
        this=exp.to_identifier("a", quoted=True),
        columns=[exp.to_identifier(c, quoted=True) for c in ("id", "name", "description")]))
    return exp.select(*columns).from_(values)


def memberships_query(config: m.ProjectConfig, segments: Mapping[str, m.Segment]) -> exp.Select:
    """Current members of the enabled segments: (person_id, audience_id), unique as segment_members'
    (segment, person_id) is; rows a disabled or deleted segment left behind are not audiences."""
    names = [n for n, s in segments.items() if s.enabled]
    segment = exp.column("segment", table="m", quoted=True)
    query = (exp.select(exp.column("person_id", table="m", quoted=True).as_("person_id", quoted=True),
                        exp.cast(segment, TEXT).as_("audience_id", quoted=True))
             .from_(exp.alias_(output_table(config.output_schema, MEMBERS), "m", table=True)))
    return query.where(segment.copy().isin(*(exp.Literal.string(n) for n in names)) if names else exp.false())


def views(config: m.ProjectConfig, segments: Mapping[str, m.Segment]) -> list[tuple[exp.Table, exp.Select]]:
    """(view, query) of both views, or none when the project did not opt in."""
    if not config.audience_views:
        return []
    return [(view_table(config, AUDIENCES), audiences_query(segments)),
            (view_table(config, MEMBERSHIPS), memberships_query(config, segments))]


def create_schema(config: m.ProjectConfig) -> list[exp.Create]:
    """CREATE SCHEMA IF NOT EXISTS for a schema given in `audience_views.schema` (the people table's exists)."""
    if not (config.audience_views and config.audience_views.schema):
        return []
    place = view_table(config, AUDIENCES)
    schema = exp.Table(this=place.args["db"].copy(), db=place.args["catalog"].copy() if place.args.get("catalog") else None)
    return [exp.Create(this=schema, kind="SCHEMA", exists=True)]
