"""Segment tests (SPEC section 10): given rows, on an in-memory DuckDB, with the same compiled SQL."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlglot import exp

from .adapters.duckdb import DuckDBAdapter
from .compiler.plan import build_plan, table
from .errors import RunError
from .materialize.runner import read_catalog
from .materialize.static import load_static_tables
from .project.loader import LoadedProject
from .spec import model as m
from .spec.conditions import walk
from .spec.values import is_number, to_utc


@dataclass
class TestResult:
    segment: str
    name: str
    passed: bool
    expected: list = field(default_factory=list)
    actual: list = field(default_factory=list)
    error: Optional[str] = None
    file: str = ""
    line: Optional[int] = None


def sql_type(values: list[Any]) -> str:
    """The column type for YAML values given in a test (VARCHAR when none is given)."""
    present = [v for v in values if v is not None]
    if not present:
        return "VARCHAR"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if all(is_number(v) for v in present):
        return "DOUBLE"
    if all(isinstance(v, (dt.date, dt.datetime)) for v in present):
        return "TIMESTAMP"
    if all(isinstance(v, (dict, list)) for v in present):
        return "JSON"
    return "VARCHAR"


def _value(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return to_utc(v)
    return v


def _stream_columns(project: LoadedProject, stream: m.Stream) -> dict[str, str]:
    columns = {stream.key: "VARCHAR", stream.timestamp: "TIMESTAMP"}
    if stream.name_column:
        columns[stream.name_column] = "VARCHAR"
    if stream.properties:
        columns[stream.properties] = "JSON"

    def visit(c: m.Condition) -> None:
        if isinstance(c, m.StreamCondition) and c.match.stream == stream.name:
            for f in c.match.filters:
                columns.setdefault(f.path.column, "JSON" if f.path.keys else "VARCHAR")
            for agg in c.aggregates:
                if agg.of:
                    columns.setdefault(agg.of.column, "JSON" if agg.of.keys else "DOUBLE")

    for segment in project.segments.values():
        walk(segment.condition, visit)
    return columns


def _create(adapter: DuckDBAdapter, name: str, columns: dict[str, str], rows: list[dict]) -> None:
    for column in {k for row in rows for k in row}:
        if column not in columns or columns[column] == "VARCHAR":
            columns[column] = sql_type([row.get(column) for row in rows])
    target = table(name)
    if target.db:
        adapter.execute(exp.Create(this=exp.Table(this=exp.to_identifier(target.db, quoted=True)), kind="SCHEMA",
                                   exists=True))
    adapter.execute(exp.Create(this=exp.Schema(this=target, expressions=[
        exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t)) for c, t in columns.items()]),
        kind="TABLE"))
    names = list(columns)
    adapter.insert_rows(table(name), names, [[_value(row.get(c)) for c in names] for row in rows])


def _key_type(project: LoadedProject, test: m.SegmentTest) -> str:
    key = project.config.people.key
    return sql_type([row.get(key) for row in test.given.get("people", [])] + list(test.expect))


def run_test(project: LoadedProject, segment: m.Segment, test: m.SegmentTest) -> TestResult:
    """Create the given tables (the columns the plan reads, typed from the given values), then run
    the segment's standalone query, planned against that catalog as preview plans it."""
    config = project.config
    result = TestResult(segment.name, test.name, False, sorted(test.expect, key=str), file=segment.file,
                        line=test.line)
    adapter = DuckDBAdapter({"path": ":memory:"}).connect()
    try:
        key_type = _key_type(project, test)
        offline = build_plan(config, project.segments, [segment.name], test.as_of)
        people = [config.people.key, *(c for _, c in config.people.identifiers),
                  *offline.people_columns_of([segment.name])]
        people_cols = {c: "VARCHAR" for c in sorted(set(people))}
        people_cols[config.people.key] = key_type
        _create(adapter, config.people.table, people_cols, test.given.get("people", []))
        for stream in config.streams.values():
            columns = _stream_columns(project, stream)
            columns[stream.key] = key_type
            _create(adapter, stream.table, columns, test.given.get(stream.name, []))
        plan = build_plan(config, project.segments, [segment.name], test.as_of, read_catalog(adapter, config))
        if plan.problems_of(segment.name):
            raise RunError("; ".join(map(str, plan.problems_of(segment.name))))
        load = load_static_tables(adapter, project.root, config, project.segments, plan.static_of(segment.name))
        if load.broken:
            raise RunError("; ".join(load.broken.values()))
        query = plan.standalone(segment.name)
        rows = adapter.execute(exp.select(exp.column("person_id", quoted=True)).from_(query.subquery("m")))
        result.actual = sorted((r[0] for r in rows), key=str)
        result.passed = [str(v) for v in result.actual] == [str(v) for v in result.expected]
    except Exception as e:  # noqa: BLE001 - a failing test is reported, not raised
        result.error = str(e) if isinstance(e, RunError) else f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
    finally:
        adapter.close()
    return result
