"""Shared by the cross-engine tests: demo tables copied out of DuckDB, and a segment's members
selected on any engine by the SQL segwarehouse renders for that engine's dialect."""
from __future__ import annotations

import datetime as dt
import json

from functools import reduce

import duckdb
from sqlglot import exp

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


def many_rows(engine: Engine, config, segments, names: list[str], as_of: dt.datetime) -> dict[str, list[tuple]]:
    """{segment: (person_id, split) rows} of several segments. Engines that are slow per query (Spark:
    about a second each) get one UNION ALL of the segments' SELECTs, each tagged with its name."""
    if not engine.batch:
        return {name: [row[:2] for row in query_rows(engine, config, segments, name, as_of)] for name in names}
    parts = []
    for name in names:
        query = standalone_query(config, segments, name, as_of).subquery("q", copy=False)
        parts.append(exp.select(exp.Literal.string(name).as_("segment"), exp.column("person_id", "q"),
                                exp.column("split", "q")).from_(query, copy=False))
    tree = engine.prepare(reduce(lambda a, b: exp.union(a, b, distinct=False, copy=False), parts))
    out: dict[str, list[tuple]] = {name: [] for name in names}
    for segment, person, split in engine.rows(render(tree, engine.dialect)):
        out[segment].append((person, split))
    return out


def table(rows: list[dict], types: dict[str, str]) -> Table:
    """Rows as dicts (JSON values as Python objects, the way the tests write them) in a typed Table."""
    def value(v, type_):
        return json.dumps(v) if type_ == "JSON" and v is not None and not isinstance(v, str) else v
    return Table(dict(types), [tuple(value(row.get(c), t) for c, t in types.items()) for row in rows])
