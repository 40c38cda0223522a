"""Dialect rules of the compile-only dialects that no engine in the test suite runs (BigQuery,
Redshift, Trino, Databricks): the rendered SQL is parsed back and the rule's effect checked on the
tree. Rules that some engine can run are executed in test_cross_engine.py. Also: SQL that sqlglot
cannot express in a dialect is a compile-time error naming the file and line."""
from __future__ import annotations

import subprocess
import sys

import pytest
import sqlglot
from sqlglot import exp

from segwarehouse import Project

from conftest import write_project

AS_OF = "2026-11-01T00:00:00Z"
SEGMENT = """\
    name: s
    fields: [email]
    where:
      all:
        - {attribute: email, contains: "50%_off|a\\\\\\\\b", ignore_case: true}
        - {attribute: created_at, within: 7d}
        - {attribute: code, gt: 10}
        - event: "purchase|checkout"
          where: {properties.amount: {gte: 10}, properties.when: {within: 1d}}
          within: 30d
        - {event: add_to_cart, within: 3d, count: {gte: 2}}
    """


@pytest.fixture
def compiled(make_project):
    project = make_project({"s.yml": SEGMENT})

    def compile_(dialect: str, parse: bool = True):
        sql = project.compile(dialect=dialect, as_of=AS_OF, write=False)[dialect]["s"]
        return sqlglot.parse_one(sql, read=dialect) if parse else sql
    return compile_


def test_bigquery_times_are_timestamps_and_likes_escape_with_backslashes(compiled):
    tree = compiled("bigquery")
    types = {t.this for t in tree.find_all(exp.DataType)}
    assert exp.DType.DATETIME not in types and exp.DType.TIMESTAMPTZ in types
    assert not list(tree.find_all(exp.Escape)) and not list(tree.find_all(exp.Filter))
    patterns = {like.expression.sql("bigquery") for like in tree.find_all(exp.Like)}
    assert "LOWER('%50\\\\%\\\\_off%')" in patterns and "LOWER('%a\\\\\\\\b%')" in patterns
    assert all(cast.args.get("safe") for cast in tree.find_all(exp.TryCast))


def test_redshift_has_no_filter_clause_and_reads_invalid_json_as_null(compiled):
    tree = compiled("redshift")
    assert not list(tree.find_all(exp.Filter))
    calls = [f for f in tree.find_all(exp.Anonymous, exp.JSONExtractScalar)
             if f.sql("redshift").upper().startswith("JSON_EXTRACT_PATH_TEXT")]
    assert calls and all(f.sql("redshift").endswith(", TRUE)") for f in calls)
    sql = compiled("redshift", parse=False)  # fields: Redshift has no JSON_OBJECT; OBJECT() builds SUPER
    assert "OBJECT('email', \"email\")" in sql and "JSON_OBJECT" not in sql


def test_trino_timestamps_keep_microseconds_and_convert_offsets_to_utc(compiled):
    tree = compiled("trino")
    stamps = [t for t in tree.find_all(exp.DataType) if t.is_type(exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ)]
    assert stamps and all("(6)" in t.sql("trino") for t in stamps)
    sql = compiled("trino", parse=False)  # created_at and properties.when: each zoned read converted to UTC
    assert sql.count("WITH TIME ZONE") == sql.count("AT_TIMEZONE(") == 4


def test_databricks_reads_with_try_cast(compiled):
    sql = compiled("databricks", parse=False)
    assert "TRY_CAST(GET_JSON_OBJECT(" in sql and "TO_JSON(NAMED_STRUCT(" in sql


def test_unportable_sql_is_a_compile_time_error_naming_file_and_line(tmp_path):
    root = write_project(tmp_path / "p", {
        "a.yml": """\
            name: a
            where:
              all:
                - {attribute: plan, equals: pro}
                - sql: "regexp_replace(email, 'a', 'b', 'g') = 'x'"
            """,
        "b.yml": "name: b\nwhere: {segment: a}\n"})
    result = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "compile",
                             "--dialect", "bigquery", "--as-of", AS_OF], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("segments/a.yml:5: sql: ") == 1 and "cannot be compiled for bigquery" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "target" / "compiled" / "bigquery").exists()
    assert Project(root).compile(dialect="postgres", as_of=AS_OF, write=False)["postgres"]["b"]
