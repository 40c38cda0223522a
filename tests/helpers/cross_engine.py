"""Shared by the cross-engine tests: demo tables copied out of DuckDB, and a segment's members
selected on any engine by the SQL segwarehouse renders for that engine's dialect."""
from __future__ import annotations

import datetime as dt

import duckdb

from engines import Engine, Table
from segwarehouse.compiler.dialects import render
from segwarehouse.compiler.plan import standalone_query
from segwarehouse.demo import generate_demo

PORTABLE = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "VARCHAR": "VARCHAR", "TIMESTAMP": "TIMESTAMP",
            "BOOLEAN": "BOOLEAN", "JSON": "JSON"}


def demo_tables(people: int, seed: int, anchor: dt.datetime) -> dict[str, Table]:
    """The demo data set at a small size, generated in DuckDB, as portable tables."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        generate_demo(con, people=people, seed=seed, anchor=anchor, schema="main")
        tables = {}
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                   "ORDER BY table_name").fetchall():
            columns = {c: PORTABLE[t] for c, t, *_ in con.execute(f'DESCRIBE "main"."{name}"').fetchall()}
            tables[f"main.{name}"] = Table(columns, con.execute(f'SELECT * FROM "main"."{name}"').fetchall())
        return tables
    finally:
        con.close()


def query_rows(engine: Engine, config, segments, name: str, as_of: dt.datetime) -> list[tuple]:
    """(person_id, split, ...) rows of one segment's standalone SELECT, run on `engine`."""
    tree = engine.prepare(standalone_query(config, segments, name, as_of))
    return engine.rows(render(tree, engine.dialect))


def members(engine: Engine, config, segments, name: str, as_of: dt.datetime) -> set:
    return {row[0] for row in query_rows(engine, config, segments, name, as_of)}
