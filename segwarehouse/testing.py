"""Segment tests (SPEC section 10): given rows, on an in-memory DuckDB, with the same compiled SQL."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlglot import exp

from .adapters.duckdb import DuckDBAdapter
from .compiler.plan import standalone_query, static_table, table
from .materialize import statements as st
from .materialize.static import read_static
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


def _people_columns(project: LoadedProject, names: list[str]) -> set[str]:
    """People columns the segments read, so a test need only give the ones it cares about."""
    people = project.config.people
    columns = {people.key, *(c for _, c in people.identifiers)}

    def visit(c: m.Condition) -> None:
        if isinstance(c, m.Attribute):
            columns.add(c.column)
        elif isinstance(c, m.Sql):
            import sqlglot

            columns.update(col.name for col in sqlglot.parse_one(c.text, read=project.config.source_dialect)
                           .find_all(exp.Column))
        elif isinstance(c, m.InStatic):
            columns.add(c.match_column)

    def visit_segment(name: str) -> None:
        segment = project.segments[name]
        columns.update(segment.fields)
        walk(segment.condition, visit)
        for ref in segment.depends_on:  # a reference reads the referenced segment's columns too
            visit_segment(ref)

    for name in names:
        visit_segment(name)
    return columns


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
    config = project.config
    result = TestResult(segment.name, test.name, False, sorted(test.expect, key=str), file=segment.file,
                        line=test.line)
    adapter = DuckDBAdapter({"path": ":memory:"}).connect()
    try:
        key_type = _key_type(project, test)
        people_cols = {c: "VARCHAR" for c in sorted(_people_columns(project, [segment.name]))}
        people_cols[config.people.key] = key_type
        _create(adapter, config.people.table, people_cols, test.given.get("people", []))
        for stream in config.streams.values():
            columns = _stream_columns(project, stream)
            columns[stream.key] = key_type
            _create(adapter, stream.table, columns, test.given.get(stream.name, []))
        for name, other in project.segments.items():
            if other.static:
                values = read_static(project.root, other)
                adapter.create_temp(static_table(name).name, st.static_values_query())
                adapter.insert_rows(static_table(name), ["value"], [(v,) for v in values.values])
        query = standalone_query(config, project.segments, segment.name, test.as_of)
        rows = adapter.execute(exp.select(exp.column("person_id", quoted=True)).from_(query.subquery("m")))
        result.actual = sorted((r[0] for r in rows), key=str)
        result.passed = [str(v) for v in result.actual] == [str(v) for v in result.expected]
    except Exception as e:  # noqa: BLE001 - a failing test is reported, not raised
        result.error = f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
    finally:
        adapter.close()
    return result
