"""One plan for every command (compiler/plan.py): the catalog check before any SQL runs, failures
that stay with their segments, compiled files that name the temporary tables they expect, preview
running the SQL compile writes, linear inlining of references, and bulk static loads on every
executing engine."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp

from segwarehouse import Project
from segwarehouse.adapters.base import Adapter
from segwarehouse.compiler.catalog import Catalog
from segwarehouse.compiler.plan import build_plan
from segwarehouse.errors import ValidationError
from segwarehouse.materialize.runner import read_catalog
from segwarehouse.materialize.static import load_static_tables

from conftest import write_project
from helpers.warehouses import PostgresWarehouse, SnowflakeWarehouse

PROJECT_YML = """\
name: t
people:
  table: main.users
  key: user_id
  identifiers: {email: email}
streams:
  event: {table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: props}
"""
AS_OF = "2026-11-01T00:00:00Z"

SEGMENTS = {
    "typos.yml": """\
    segments:
      - name: typo_attribute
        where:
          attribute: pln
          equals: pro
      - name: typo_json
        where:
          event: purchase
          where: {properties.city: Paris}
          within: 30d
          count: {gte: 1}
      - name: refs_typo
        where:
          all:
            - segment: typo_attribute
            - attribute: plan
              equals: free
    """,
    "fine.yml": """\
    segments:
      - name: pro_users
        where: {attribute: plan, equals: pro}
      - name: buyers
        where:
          event: purchase
          within: 30d
          count: {gte: 1}
    """,
}


@pytest.fixture(autouse=True)
def _isolated_profiles(tmp_path, monkeypatch):
    """No profiles.yml from the environment or ~/.segwarehouse."""
    for name in ("SEGWAREHOUSE_PROFILES_DIR", "SEGWAREHOUSE_TARGET_PATH"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "_home").mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(tmp_path / "_home"))


def create_tables(db: Path, amounts: tuple = (30.0, 12.5)) -> None:
    """users 1..6 (pro for even ids); purchases by users 1 and 2 ten days before AS_OF."""
    with contextlib.closing(duckdb.connect(str(db))) as con:
        con.execute("CREATE TABLE main.users (user_id BIGINT, email VARCHAR, plan VARCHAR, country VARCHAR)")
        con.execute("INSERT INTO main.users SELECT i, 'u' || i || '@x.test', CASE WHEN i % 2 = 0 THEN 'pro' "
                    "ELSE 'free' END, 'FR' FROM range(1, 7) t(i)")
        con.execute("CREATE TABLE main.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, props JSON)")
        for user, amount in zip((1, 2), amounts):
            con.execute("INSERT INTO main.events VALUES (?, TIMESTAMP '2026-10-22 10:00:00', 'purchase', ?)",
                        [user, json.dumps({"amount": amount, "city": "Paris"})])


def project_with_data(tmp_path: Path, segments: dict = SEGMENTS, project_yml: str = PROJECT_YML) -> Path:
    root = write_project(tmp_path / "proj", segments, project_yml=project_yml)
    create_tables(root / "segwarehouse.duckdb")
    return root


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})


# --- 2. the catalog is checked before any SQL runs --------------------------------------------------
def test_a_missing_column_fails_only_the_segments_that_read_it(tmp_path):
    root = project_with_data(tmp_path)
    result = Project(root).run(as_of=AS_OF)
    by_name = {r.segment: r for r in result.results}
    assert by_name["typo_attribute"].status == "error"
    assert by_name["typo_attribute"].error == ("segments/typos.yml:4: the people table main.users has no column "
                                               "'pln' (did you mean 'plan'?); columns: user_id, email, plan, country")
    assert by_name["typo_json"].status == "error"
    assert by_name["typo_json"].error.startswith("segments/typos.yml:8: the table main.events of stream 'event' has "
                                                 "no column 'properties' for the JSON path 'properties.city' (its "
                                                 "JSON column is 'props')")
    assert by_name["refs_typo"].status == "skipped" and "typo_attribute" in by_name["refs_typo"].error
    # the segment sharing the event scan with the typo, and the others, complete
    assert (by_name["buyers"].status, by_name["buyers"].members) == ("success", 2)
    assert (by_name["pro_users"].status, by_name["pro_users"].members) == ("success", 3)


def test_run_exits_1_and_prints_file_and_line(tmp_path):
    root = project_with_data(tmp_path)
    done = cli(root, "run", "--as-of", AS_OF)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "segments/typos.yml:4: the people table main.users has no column 'pln' (did you mean 'plan'?)" in out
    assert "Traceback" not in out and "BinderException" not in out


@pytest.mark.parametrize("command", [["preview", "typo_attribute"], ["preview", "refs_typo"],
                                     ["explain", "typo_attribute", "2"], ["compile"], ["validate", "--catalog"]])
def test_commands_refuse_a_missing_column_with_exit_2(tmp_path, command):
    root = project_with_data(tmp_path)
    done = cli(root, *command, *(["--as-of", AS_OF] if command[0] in ("preview", "explain") else []))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "segments/typos.yml:4: the people table main.users has no column 'pln' (did you mean 'plan'?); " \
           "columns: user_id, email, plan, country" in done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr


def test_plain_validate_and_compile_without_a_target_stay_offline(tmp_path):
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT_YML)  # no database file
    assert cli(root, "validate").returncode == 0
    done = cli(root, "compile", "--dialect", "duckdb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (root / "segwarehouse.duckdb").exists()  # compile did not create the target
    create_tables(root / "segwarehouse.duckdb")
    assert cli(root, "validate").returncode == 0  # plain validate never connects
    assert cli(root, "preview", "pro_users", "--as-of", AS_OF).returncode == 0


def test_validate_catalog_checks_people_key_identifiers_and_stream_settings(tmp_path):
    project_yml = PROJECT_YML.replace("identifiers: {email: email}", "identifiers: {email: mail}").replace(
        "timestamp: occurred_at", "timestamp: occured_at")
    root = project_with_data(tmp_path, {"fine.yml": SEGMENTS["fine.yml"]}, project_yml)
    with pytest.raises(ValidationError) as caught:
        Project(root).check_catalog()
    text = str(caught.value)
    assert "the people table main.users has no column 'mail' (people.identifiers.email)" in text
    assert ("segments/fine.yml:6: the table main.events of stream 'event' has no column 'occured_at' "
            "(streams.event.timestamp in segwarehouse.yml) (did you mean 'occurred_at'?)") in text


def test_sql_conditions_fields_and_static_match_columns_are_checked(tmp_path):
    segments = {"more.yml": """\
    segments:
      - name: by_sql
        where: {sql: "lower(contry) = 'fr'"}
      - name: with_fields
        fields: [emial]
        where: {attribute: plan, equals: pro}
      - name: subquery_sql
        where: {sql: "user_id IN (SELECT 1 AS nothing_to_check)"}
    """}
    root = project_with_data(tmp_path, segments)
    project = Project(root)
    plan = build_plan(project.loaded.config, project.segments, ["by_sql", "with_fields", "subquery_sql"],
                      dt.datetime(2026, 11, 1), _catalog(root))
    assert [str(p) for p in plan.problems["by_sql"]] == [
        "segments/more.yml:3: the people table main.users has no column 'contry' (did you mean 'country'?); "
        "columns: user_id, email, plan, country"]
    assert "no column 'emial' (did you mean 'email'?)" in str(plan.problems["with_fields"][0])
    assert "subquery_sql" not in plan.problems  # sqlglot cannot attribute a subquery's names


def _catalog(root: Path) -> Catalog:
    project = Project(root)
    with project.connect() as adapter:
        return read_catalog(adapter, project.loaded.config)


def test_column_names_match_as_every_engine_folds_them():
    """Rendering folds each name as its engine folds unquoted names (lower on DuckDB and
    PostgreSQL, upper on Snowflake), so the catalog matches names case-insensitively."""
    catalog = Catalog({"s.users": {"plan": "VARCHAR", "COUNTRY": "VARCHAR"}})
    assert catalog.resolve("s.users", "PLAN") == "plan" and catalog.resolve("s.users", "country") == "COUNTRY"
    assert catalog.resolve("s.users", "pln") is None


# --- 3. failures stay with their segments ------------------------------------------------------------
def test_an_engine_error_in_a_shared_scan_fails_only_the_segments_reading_that_feature(tmp_path):
    """A sum that overflows DECIMAL(38, 9) at run time (no catalog can see it) shares its scan with
    a count; only the segment reading the sum fails, and the one referencing it is skipped."""
    segments = {"scan.yml": """\
    segments:
      - name: whales
        where:
          event: purchase
          within: 30d
          sum: {of: props.amount, gt: 0}
      - name: buyers
        where:
          event: purchase
          within: 30d
          count: {gte: 1}
      - name: whale_pros
        where:
          all: [{segment: whales}, {attribute: plan, equals: pro}]
      - name: pro_users
        where: {attribute: plan, equals: pro}
    """}
    root = write_project(tmp_path / "proj", segments, project_yml=PROJECT_YML)
    create_tables(root / "segwarehouse.duckdb", amounts=(9e27, 9e27))
    with contextlib.closing(duckdb.connect(str(root / "segwarehouse.duckdb"))) as con:
        con.execute("INSERT INTO main.events SELECT 1, TIMESTAMP '2026-10-23 10:00:00', 'purchase', "
                    "'{\"amount\": 9e27}' FROM range(30)")
    project = Project(root)
    plan = build_plan(project.loaded.config, project.segments, ["whales", "buyers"],
                      dt.datetime(2026, 11, 1))
    assert len(plan.scans) == 1 and len(plan.scans[0].features) == 2  # the two share one scan
    by_name = {r.segment: r for r in project.run(as_of=AS_OF).results}
    assert by_name["whales"].status == "error" and "Overflow" in by_name["whales"].error
    assert by_name["whale_pros"].status == "skipped"
    assert (by_name["buyers"].status, by_name["buyers"].members) == ("success", 2)
    assert (by_name["pro_users"].status, by_name["pro_users"].members) == ("success", 3)


# --- 1 and 4. compile equals preview; the header names the temporary tables -----------------------
def write_vip(root: Path, values: list[str]) -> None:
    (root / "data").mkdir(exist_ok=True)
    with (root / "data" / "vip.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email"])
        writer.writerows([v] for v in values)


STATIC_SEGMENTS = {
    "vip.yml": """\
    segments:
      - name: vip
        static: {csv: data/vip.csv, column: email, match_on: email}
      - name: pro_vips
        where:
          all: [{segment: vip}, {attribute: plan, equals: pro}]
    """,
}


def test_the_header_names_the_temporary_tables_one_comment_line_each(tmp_path):
    segments = {**STATIC_SEGMENTS, "odd\nname -- x.yml": "segments:\n  - name: plain\n    where: {attribute: plan, equals: pro}\n"}
    root = write_project(tmp_path / "proj", segments, project_yml=PROJECT_YML)
    write_vip(root, ["u2@x.test"])
    compiled = Project(root).compile(as_of=AS_OF, write=False)
    for dialect, files in compiled.items():
        for name, text in files.items():
            head, _, body = text.partition("\nWITH ")
            assert all(line.startswith("-- ") for line in head.splitlines()), (dialect, name, head)
            assert sqlglot.parse_one("WITH " + body, read=dialect) is not None
            read = sorted({t.name for t in sqlglot.parse_one("WITH " + body, read=dialect).find_all(exp.Table)
                           if t.name.lower().startswith("_sw_static_")})
            named = sorted(line.split("expects temporary table ")[1].split(":")[0].strip('"`')
                           for line in head.splitlines() if "expects temporary table" in line)
            assert named == read, (dialect, name)
    assert "_sw_static_vip" in compiled["duckdb"]["pro_vips"].split("\nWITH ")[0]
    assert "expects temporary table" not in compiled["duckdb"]["plain"]
    assert "odd\\nname -- x.yml" in compiled["duckdb"]["plain"].splitlines()[1]


def test_preview_runs_exactly_the_sql_compile_writes_for_the_target(tmp_path, monkeypatch):
    root = project_with_data(tmp_path, {**STATIC_SEGMENTS, "fine.yml": SEGMENTS["fine.yml"]})
    write_vip(root, ["u2@x.test", "u3@x.test"])
    executed: list[str] = []
    original = Adapter.sql

    def spy(self, statement):
        text = original(self, statement)
        executed.append(text)
        return text

    monkeypatch.setattr(Adapter, "sql", spy)
    for name in ("pro_vips", "buyers"):
        compiled = Project(root).compile(select=[name], dialect="duckdb", as_of=AS_OF, write=False)["duckdb"][name]
        body = sqlglot.parse_one(compiled.split("\nWITH ", 1)[1].join(["WITH ", ""]).rstrip(";\n"), read="duckdb")
        executed.clear()
        preview = Project(root).preview(name, as_of=AS_OF)
        counted = [sqlglot.parse_one(s, read="duckdb") for s in executed
                   if s.startswith("SELECT COUNT(*)") and "_sw_people" in s]
        assert len(counted) == 1 and counted[0].find(exp.Subquery).this == body
        assert preview.count == {"pro_vips": 1, "buyers": 2}[name]
    # with the target's catalog, the VARCHAR column `plan` is compared without a cast, as run does
    offline = Project(root).compile(select=["pro_users"], dialect="duckdb", as_of=AS_OF, write=False, offline=True)
    online = Project(root).compile(select=["pro_users"], dialect="duckdb", as_of=AS_OF, write=False)
    assert 'CAST("plan" AS TEXT)' in offline["duckdb"]["pro_users"].replace("TRY_CAST", "CAST") or \
        offline["duckdb"]["pro_users"] != online["duckdb"]["pro_users"]
    assert "CAST" not in online["duckdb"]["pro_users"].split('WHERE')[-1]


def test_run_compile_preview_explain_and_test_all_plan_through_build_plan(tmp_path, monkeypatch):
    """Nothing else plans: every command's SQL comes from a Plan."""
    import segwarehouse.api as api
    import segwarehouse.materialize.runner as runner
    import segwarehouse.testing as testing

    calls: list[str] = []
    for module in (api, runner, testing):
        real = module.build_plan

        def counting(*args, _real=real, _module=module.__name__, **kwargs):
            calls.append(_module)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "build_plan", counting)
    segments = {"t.yml": """\
    segments:
      - name: pro_users
        where: {attribute: plan, equals: pro}
        tests:
          - name: one
            as_of: 2026-11-01T00:00:00Z
            given: {people: [{user_id: 1, plan: pro}, {user_id: 2, plan: free}]}
            expect: [1]
    """}
    root = project_with_data(tmp_path, segments)
    project = Project(root)
    project.compile(as_of=AS_OF, write=False)
    project.preview("pro_users", as_of=AS_OF)
    project.explain("pro_users", 2, as_of=AS_OF)
    assert [r.passed for r in project.test()] == [True]
    project.diff(as_of=AS_OF)
    assert project.run(as_of=AS_OF).ok
    assert calls.count("segwarehouse.api") == 3 and calls.count("segwarehouse.materialize.runner") == 2
    assert calls.count("segwarehouse.testing") == 2


# --- 1. inlining is linear ------------------------------------------------------------------------------
def chain(n: int) -> dict:
    items = [{"name": "c0", "where": {"attribute": "plan", "equals": "pro"}}]
    for i in range(1, n):
        items.append({"name": f"c{i}", "where": {"all": [{"segment": f"c{i - 1}"},
                                                         {"attribute": "country", "not_equals": f"x{i}"}]}})
    return {"chain.yml": yaml.safe_dump({"segments": items}, sort_keys=False)}


def test_a_chain_of_200_references_compiles_fast_and_runs(tmp_path):
    root = project_with_data(tmp_path, chain(200))
    project = Project(root)
    project.loaded
    t0 = time.perf_counter()
    sql = project.compile(select=["c199"], dialect="duckdb", as_of=AS_OF, write=False, offline=True)["duckdb"]["c199"]
    seconds = time.perf_counter() - t0
    # well under a second on a quiet machine (0.07 s measured); quadratic inlining took about 6 s
    assert seconds < 2.0, seconds
    assert sql.count("= 'x") == 199
    assert project.preview("c199", as_of=AS_OF).count == 3


def test_a_chain_of_800_references_compiles_without_recursion_errors(tmp_path):
    root = write_project(tmp_path / "proj", chain(800), project_yml=PROJECT_YML)
    sql = Project(root).compile(select=["c799"], dialect="snowflake", as_of=AS_OF, write=False)["snowflake"]["c799"]
    assert sql.count("= 'x") == 799


# --- 5. static segments load in bulk, as exact text, on every engine --------------------------------
VALUES = [" spaced@x.test", "Case@x.test", "case@x.test", "", "quote\"d@x.test", "ü@x.test", "line\nbreak@x.test",
          "\\N", "NULL", "case@x.test", "nobody@x.test"]
PEOPLE_EMAILS = [" spaced@x.test", "spaced@x.test", "case@x.test", "CASE@x.test", "quote\"d@x.test", "ü@x.test",
                 "line\nbreak@x.test", "\\N", "NULL", None, ""]


def _loaded(adapter, root: Path, project: Project) -> tuple[set, list[str]]:
    load = load_static_tables(adapter, root, project.loaded.config, project.segments, ["vip"])
    rows = adapter.execute(exp.select(exp.column("value", quoted=True)).from_(exp.table_("_sw_static_vip", quoted=True)))
    return {r[0] for r in rows}, load.notes["vip"]


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "snowflake"])
def test_static_values_load_in_bulk_as_exact_text(tmp_path, engine, request, monkeypatch):
    project_yml = PROJECT_YML.replace("main.", "shop.")
    root = write_project(tmp_path / "proj", STATIC_SEGMENTS, project_yml=project_yml)
    write_vip(root, VALUES)
    users = [(i + 1, e, "first", "pro", "FR", 1.0) for i, e in enumerate(PEOPLE_EMAILS)]
    if engine == "duckdb":
        with contextlib.closing(duckdb.connect(str(root / "segwarehouse.duckdb"))) as con:
            con.execute("CREATE SCHEMA shop")
            con.execute("CREATE TABLE shop.users (user_id BIGINT, email VARCHAR, first_name VARCHAR, plan VARCHAR, "
                        "country VARCHAR, ltv DOUBLE)")
            con.executemany("INSERT INTO shop.users VALUES (?, ?, ?, ?, ?, ?)", users)
            con.execute("CREATE TABLE shop.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, "
                        "props JSON)")
        wh = None
    else:
        if engine == "snowflake":
            import snowflake.connector

            monkeypatch.setattr(snowflake.connector, "connect", snowflake.connector.Connect)
            wh = SnowflakeWarehouse(request.getfixturevalue("snowflake_server"))
        else:
            wh = PostgresWarehouse(request.getfixturevalue("postgres_dsn"))
        wh.load("users", users)
        wh.load("events", [])
        wh.write_profiles(root)
    loaded_calls = []
    monkeypatch.setattr(Adapter, "insert_rows", lambda *a, **k: loaded_calls.append(a))  # the slow path is not used
    project = Project(root)
    with project.connect() as adapter:
        values, notes = _loaded(adapter, root, project)
    assert not loaded_calls
    assert values == set(VALUES)  # exact: spaces, case, empty, quotes, newlines, NULL-like text kept
    assert notes == ["11 CSV rows, 1 duplicate value(s), 2 value(s) matching nobody"]
    monkeypatch.undo()
    if engine == "snowflake":
        import snowflake.connector

        monkeypatch.setattr(snowflake.connector, "connect", snowflake.connector.Connect)
    result = project.run(as_of=AS_OF)
    assert result.ok, [(r.segment, r.error) for r in result.results]
    by_name = {r.segment: r for r in result.results}
    expected = {i + 1 for i, e in enumerate(PEOPLE_EMAILS) if e in VALUES}
    assert by_name["vip"].members == len(expected) == 8
    if wh is not None and hasattr(wh, "close"):
        wh.close()


def test_a_million_row_csv_loads_in_seconds_into_duckdb(tmp_path):
    root = project_with_data(tmp_path, STATIC_SEGMENTS)
    write_vip(root, [f"v{i}@x.test" for i in range(1_000_000)])
    project = Project(root)
    with project.connect() as adapter:
        t0 = time.perf_counter()
        values, notes = _loaded(adapter, root, project)
        seconds = time.perf_counter() - t0
    assert len(values) == 1_000_000 and notes == ["1000000 CSV rows, 0 duplicate value(s), 1000000 value(s) matching nobody"]
    assert seconds < 15, seconds  # about 2 s measured; row-by-row inserts took minutes
