"""Definitions of the output tables (SPEC section 7) as sqlglot DDL."""
from __future__ import annotations

from sqlglot import exp

from ..adapters.base import Adapter
from ..compiler.names import table_of
from ..errors import RunError
from ..spec import model as m

MEMBERS = "segment_members"
CHANGES = "segment_changes"
RUNS = "segment_runs"
SYNC_STATE = "segment_sync_state"
REJECTIONS = "segment_sync_rejections"


def _columns(spec: list[tuple[str, str]]) -> list[exp.ColumnDef]:
    return [exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(kind))
            for name, kind in spec]


def output_table(schema: str, name: str) -> exp.Table:
    return exp.table_(name, db=schema, quoted=True)


def definitions(schema: str, person_type: str) -> dict[str, exp.Create]:
    """CREATE TABLE IF NOT EXISTS for every output table; person_id takes the people key's type."""
    tables = {
        # (segment, person_id) is the key, unique by construction (runs apply a delta against it);
        # it is not declared: an index on millions of memberships doubles the cost of a first run.
        MEMBERS: ([("segment", "VARCHAR"), ("person_id", person_type), ("entered_at", "TIMESTAMP"),
                   ("split", "VARCHAR"), ("fields", "JSON"), ("run_id", "VARCHAR")], None),
        CHANGES: ([("run_id", "VARCHAR"), ("segment", "VARCHAR"), ("person_id", person_type), ("change", "VARCHAR"),
                   ("changed_at", "TIMESTAMP"), ("split", "VARCHAR"), ("fields", "JSON")], None),
        RUNS: ([("run_id", "VARCHAR"), ("segment", "VARCHAR"), ("as_of", "TIMESTAMP"), ("started_at", "TIMESTAMP"),
                ("finished_at", "TIMESTAMP"), ("status", "VARCHAR"), ("members", "BIGINT"), ("entered", "BIGINT"),
                ("exited", "BIGINT"), ("updated", "BIGINT"), ("definition_hash", "VARCHAR"), ("error", "VARCHAR")],
               None),
        SYNC_STATE: ([("destination", "VARCHAR"), ("segment", "VARCHAR"), ("synced_through_run_id", "VARCHAR"),
                      ("updated_at", "TIMESTAMP")], ("destination", "segment")),
        # records a destination refused at its last sync, retried (and deleted on success) at the next
        REJECTIONS: ([("destination", "VARCHAR"), ("segment", "VARCHAR"), ("person_id", person_type),
                      ("run_id", "VARCHAR"), ("reason", "VARCHAR"), ("at", "TIMESTAMP")], None),
    }
    result = {}
    for name, (columns, primary_key) in tables.items():
        expressions: list[exp.Expression] = _columns(columns)
        if primary_key:
            expressions.append(exp.PrimaryKey(expressions=[exp.to_identifier(c, quoted=True) for c in primary_key]))
        result[name] = exp.Create(this=exp.Schema(this=output_table(schema, name), expressions=expressions),
                                  kind="TABLE", exists=True)
    return result


def create_schema(schema: str) -> exp.Create:
    return exp.Create(this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA", exists=True)


def people_columns(adapter: Adapter, config: m.ProjectConfig) -> dict[str, str]:
    """{column: type} of the people table; a missing table or key column is an error saying what to fix."""
    people = config.people
    columns = adapter.column_types(table_of(people.table))
    if columns is None:
        raise RunError(f"the people table {people.table} does not exist in the target "
                       f"({adapter.description}); run `segwarehouse demo` for demo data, or fix "
                       "`people.table` in segwarehouse.yml")
    if people.key not in columns:
        raise RunError(f"the people table {people.table} has no column '{people.key}' (people.key in "
                       f"segwarehouse.yml); columns: {', '.join(columns)}")
    return columns


def ensure(adapter: Adapter, config: m.ProjectConfig, people: dict[str, str] | None = None) -> str:
    """Create the output schema and tables where missing (runs and syncs both call this); returns
    the type of person_id, the people key's type. `people`: people_columns(), when already read."""
    person_type = (people or people_columns(adapter, config))[config.people.key]
    adapter.execute(create_schema(config.output_schema))
    for statement in definitions(config.output_schema, person_type).values():
        adapter.execute(statement)
    return person_type
