"""Engines (adapters/): compiled SQL is the SQL that runs, engines declare their settings and
capabilities, one owner creates the output tables, a DuckDB target is never created by mistake,
and a Snowflake run killed inside its transaction does not block the next one."""
from __future__ import annotations

import re

import duckdb
import pytest
from sqlglot import exp

from segwarehouse import Project
from segwarehouse.adapters import ADAPTERS, adapter_class
from segwarehouse.adapters.base import Adapter, Setting
from segwarehouse.adapters.duckdb import DuckDBAdapter
from segwarehouse.adapters.postgres import PostgresAdapter
from segwarehouse.compiler.dialects import render
from segwarehouse.compiler.names import table_of
from segwarehouse.errors import ValidationError
from segwarehouse.materialize import runner as runner_module

from conftest import PROJECT_YML, write_project
from helpers.warehouses import SnowflakeWarehouse
from test_run_invariants import SMALL_SEGMENTS, cli
from test_run_invariants import _isolated_profiles  # noqa: F401 - autouse: no profiles.yml from the environment
from test_warehouse_runs import _real_snowflake_connector, make_setup, warehouse  # noqa: F401 - fixtures

AS_OF = "2026-10-05T00:00:00Z"
pytestmark = pytest.mark.filterwarnings("ignore:::fakesnow.*")


def _squashed(sql: str) -> str:
    """SQL without its comments, whitespace and final semicolon: pretty printing aside, the same text."""
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    return re.sub(r"\s+", "", body).rstrip(";")


# --------------------------------------------------------------------------------------------------
# A. compile equals run
# --------------------------------------------------------------------------------------------------
def test_compiled_sql_is_the_sql_the_engine_runs(tmp_path, warehouse, monkeypatch):
    """`compile --dialect <engine>` prints the text the adapter sends for the same segment query
    (recorded on its way to the driver): names folded and quoted as the engine reads them, so the
    compiled file runs as is in a worksheet."""
    setup = make_setup(tmp_path, warehouse, SMALL_SEGMENTS)
    project = setup.project()
    dialect = warehouse.engine
    sent: list[str] = []
    real_sql = Adapter.sql

    def recording(self, statement):
        text = real_sql(self, statement)
        sent.append(text)
        return text

    monkeypatch.setattr(Adapter, "sql", recording)
    for name in ("active_pro", "gmail"):
        compiled = project.compile(select=[name], dialect=dialect, as_of=AS_OF, write=False)[dialect][name]
        sent.clear()
        project.preview(name, as_of=AS_OF)
        assert any(_squashed(compiled) in _squashed(text) for text in sent), \
            f"{dialect} {name}: the compiled query is not what ran:\n{compiled}\nran:\n" + "\n".join(sent)


def test_snowflake_names_fold_to_upper_case_and_literals_keep_theirs():
    """Snowflake reads an unquoted name upper case; string literals (JSON keys, values) are data."""
    query = (exp.select(exp.column("user_id", table="p", quoted=True), exp.column("firstName", quoted=True),
                        exp.func("OBJECT_CONSTRUCT", exp.Literal.string("firstName"), exp.column("plan", quoted=True)))
             .from_(exp.alias_(table_of("shop.users"), "p", table=True))
             .where(exp.column("plan", quoted=True).eq(exp.Literal.string("Pro"))))
    assert render(query.copy(), "snowflake") == (
        'SELECT "P"."USER_ID", "FIRSTNAME", OBJECT_CONSTRUCT(\'firstName\', "PLAN") FROM "SHOP"."USERS" AS "P" '
        'WHERE "PLAN" = \'Pro\'')
    assert 'FROM "shop"."users" AS "p"' in render(query.copy(), "postgres")
    assert render(query.copy(), "clickhouse").startswith('SELECT "p"."user_id", "firstName"')  # case-sensitive


def test_unportable_sql_is_traced_with_the_project_source_dialect(tmp_path):
    """The `sql:` condition that cannot be compiled is found by parsing it in the project's
    source_dialect: read as Snowflake, TRY_TO_NUMBER is a function Trino lacks (read as DuckDB it
    would be an unknown name, and the problem could not point at the condition's line)."""
    root = write_project(tmp_path / "proj", {"a.yml": (
        "name: a\nwhere:\n  all:\n    - {attribute: plan, equals: pro}\n    - sql: \"TRY_TO_NUMBER(plan) > 1\"\n")},
        project_yml=PROJECT_YML + "source_dialect: snowflake\n")
    with pytest.raises(ValidationError) as error:
        Project(root).compile(dialect="trino", write=False)
    assert "a.yml:5: sql: 'TRY_TO_NUMBER(plan) > 1' cannot be compiled for trino" in str(error.value), str(error.value)


# --------------------------------------------------------------------------------------------------
# B. engines declare themselves
# --------------------------------------------------------------------------------------------------
def test_every_engine_is_in_the_registry_with_its_settings_spec():
    assert {kind: adapter_class(kind).dialect for kind in ADAPTERS} == {
        "duckdb": "duckdb", "postgres": "postgres", "snowflake": "snowflake"}
    with pytest.raises(ValidationError, match="supported: duckdb, postgres, snowflake"):
        adapter_class("bigquery")
    for kind in ADAPTERS:
        assert all(isinstance(s, Setting) for s in adapter_class(kind).SETTINGS.values()), kind


def _profiles(tmp_path, settings: str):
    return write_project(tmp_path / "proj", {"a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n"},
                         files={"profiles.yml": f"t:\n  target: dev\n  outputs:\n    dev: {settings}\n"})


def test_profiles_are_checked_against_the_adapters_declared_settings(tmp_path, monkeypatch):
    """profiles.py keeps no list of its own: a setting an adapter declares is known, its type and
    whether it is required come from the declaration, and a secret is never repeated."""
    root = _profiles(tmp_path, "{type: postgres, host: h, user: u, dbname: d, password: 12345, keepalives: 1}")
    with pytest.raises(ValidationError) as error:
        Project(root).target
    text = str(error.value)
    assert "profiles.yml:4: `keepalives` is not a postgres setting" in text, text
    assert "profiles.yml:4: `password` is a string" in text and "12345" not in text, text
    monkeypatch.setitem(PostgresAdapter.SETTINGS, "keepalives", Setting(int))
    monkeypatch.setitem(PostgresAdapter.SETTINGS, "password", Setting(int, secret=True))
    monkeypatch.setitem(PostgresAdapter.SETTINGS, "sslmode", Setting(str, required=True))
    with pytest.raises(ValidationError) as error:
        Project(_profiles(tmp_path / "2", "{type: postgres, host: h, user: u, dbname: d, password: 1, "
                                          "keepalives: 1}")).target
    assert str(error.value).splitlines() == ["{}: a postgres target needs `sslmode`".format(
        tmp_path / "2" / "proj" / "profiles.yml:4")], str(error.value)


def test_a_duckdb_path_is_resolved_by_the_duckdb_adapter(tmp_path):
    root = _profiles(tmp_path, "{type: duckdb, path: data/w.duckdb}")
    target = Project(root).target
    assert target["path"] == str(root / "data" / "w.duckdb")
    assert DuckDBAdapter.prepare({"type": "duckdb", "path": "/abs/w.duckdb"}, root, None, {})["path"] == "/abs/w.duckdb"


def test_temp_tables_views_and_catalog_are_adapter_verbs(postgres_dsn, tmp_path):
    """create_temp reads SUPPORTS_REPLACE_TABLE (PostgreSQL has no CREATE OR REPLACE TABLE: drop,
    then create), replace_view reads VIEWS_RESOLVE_IN_OWN_SCHEMA, column_types takes a table."""
    import psycopg

    settings = dict(psycopg.conninfo.conninfo_to_dict(postgres_dsn), type="postgres")
    pg = PostgresAdapter({k: v for k, v in settings.items() if k in PostgresAdapter.SETTINGS or k == "type"})
    pg.connect()
    try:
        sent: list[str] = []
        real = pg.sql
        pg.sql = lambda statement: sent.append(real(statement)) or sent[-1]
        for value in (1, 2):  # a second create of the same name replaces the first
            pg.create_temp("_sw_t", exp.select(exp.Literal.number(value).as_("x", quoted=True)))
        assert pg.execute(exp.select("*").from_(exp.table_("_sw_t", quoted=True))) == [(2,)]
        assert [s.split(" ")[0] for s in sent[:3]] == ["DROP", "CREATE", "DROP"], sent
        assert pg.column_types(exp.table_("_sw_t", quoted=True)) is None  # not in the default schema
        pg.execute(exp.Create(this=exp.Schema(this=table_of("public.Mixed"), expressions=[exp.ColumnDef(
            this=exp.to_identifier("Key", quoted=True), kind=exp.DataType.build("INT"))]), kind="TABLE", exists=True))
        assert pg.column_types(table_of("public.mixed")) == {"key": "INT"}
        assert pg.table_exists(table_of("Mixed")) and not pg.table_exists(table_of("public.nothing"))
    finally:
        pg.close()

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    with DuckDBAdapter({"path": str(db)}).connect() as dd:
        dd.execute(exp.Create(this=exp.Table(this=exp.to_identifier("s", quoted=True)), kind="SCHEMA", exists=True))
        # created by someone else, names in mixed case (not through segwarehouse's rendering)
        dd.con.execute(exp.Create(this=exp.Schema(this=table_of("s.Base"), expressions=[exp.ColumnDef(
            this=exp.to_identifier("Key", quoted=True), kind=exp.DataType.build("INT"))]), kind="TABLE").sql("duckdb"))
        dd.replace_view(table_of("s.v"), exp.select("*").from_(table_of("s.base")))
        assert dd.column_types(table_of("S.BASE")) == {"Key": "INTEGER"}  # DuckDB compares names case-blind
    # opened under another catalog name (a BI tool opening the file), the view still resolves
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM s.v").fetchone() == (0,)


def test_a_sync_creates_its_tables_without_building_a_runner(tmp_path, monkeypatch):
    """materialize/tables.ensure owns the output tables: a sync needs no Runner to create them."""
    from segwarehouse.sync import engine as sync_engine

    root = write_project(tmp_path / "proj", {"a.yml": (
        "name: a\nwhere: {attribute: plan, equals: pro}\nsync:\n  - destination: files\n")},
        project_yml=PROJECT_YML + "destinations:\n  files: {type: csv, path: exports/}\n")
    project = Project(root)
    project.demo(people=50)

    class NoRunner:
        def __init__(self, *args, **kwargs):
            raise AssertionError("SyncEngine built a Runner")

    monkeypatch.setattr(runner_module, "Runner", NoRunner)
    monkeypatch.setattr(sync_engine, "Runner", NoRunner, raising=False)
    with project.connect() as adapter:
        assert not adapter.table_exists(table_of("segwarehouse.segment_sync_state"))
    assert [r.segment for r in project.sync()] == ["a"]  # never ran: nothing to send, the tables are made
    with project.connect() as adapter:
        assert adapter.table_exists(table_of("segwarehouse.segment_sync_state"))
        assert adapter.table_exists(table_of("segwarehouse.segment_members"))


def test_demo_refuses_a_target_that_is_not_duckdb(tmp_path):
    root = _profiles(tmp_path, "{type: postgres, host: localhost, user: u, dbname: d}")
    with pytest.raises(Exception, match="writes into DuckDB targets only"):
        Project(root).demo(people=10)


# --------------------------------------------------------------------------------------------------
# C. a mistyped DuckDB path
# --------------------------------------------------------------------------------------------------
def test_a_duckdb_path_that_does_not_exist_is_an_error_naming_its_line(tmp_path):
    root = write_project(tmp_path / "proj", {"a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n"},
                         files={"profiles.yml": "t:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                                                "      path: warehouse/typo.duckdb\n"})
    for command in ("run", "preview", "sync"):
        done = cli(root, *([command, "a"] if command == "preview" else [command]))
        text = done.stdout + done.stderr
        assert done.returncode == 2 and "Traceback" not in text, text
        assert (f"profiles.yml:6: the DuckDB database {root / 'warehouse' / 'typo.duckdb'} does not exist; run "
                "`segwarehouse demo` to create it, or fix `path`") in " ".join(text.split()), text
    assert not (root / "warehouse" / "typo.duckdb").exists()


def test_without_profiles_a_run_before_demo_says_to_run_demo_and_demo_creates_the_database(tmp_path):
    root = write_project(tmp_path / "proj", {"a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n"})
    done = cli(root, "run")
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "does not exist yet" in text and "`segwarehouse demo`" in text, text
    assert not (root / "segwarehouse.duckdb").exists()
    assert cli(root, "demo", "--people", "100").returncode == 0
    ran = cli(root, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr


# --------------------------------------------------------------------------------------------------
# D. a Snowflake run killed inside its transaction
# --------------------------------------------------------------------------------------------------
def test_a_stale_snowflake_lock_aborts_the_dead_runs_transaction(tmp_path, snowflake_server, monkeypatch):
    """The holder records CURRENT_TRANSACTION() in the lock row from inside its apply transaction
    and clears it after COMMIT; a run taking over a stale lock calls SYSTEM$ABORT_TRANSACTION on
    the one a dead holder left. fakesnow has neither function (tests/helpers/fakesnow_transactions.py
    answers them): what is checked is the statements sent, recorded on their way to the connector."""
    import snowflake.connector

    from segwarehouse.adapters.snowflake import LOCK_TIMEOUT_SECONDS, SnowflakeAdapter

    setup = make_setup(tmp_path, SnowflakeWarehouse(snowflake_server), SMALL_SEGMENTS)
    setup.check(setup.project().run(as_of="2026-10-01"))
    lock = "shop._sw_run_lock"
    setup.wh.execute(f"UPDATE {lock} SET holder = 'crashed-host:1:a', transaction_id = '1442254688149', "
                     "heartbeat_at = DATEADD(minute, -10, CAST(CURRENT_TIMESTAMP() AS TIMESTAMP))")
    sent: list[str] = []
    real_sql = SnowflakeAdapter.sql
    monkeypatch.setattr(SnowflakeAdapter, "sql", lambda self, s: sent.append(real_sql(self, s)) or sent[-1])
    sessions: list[dict] = []
    real_connect = snowflake.connector.connect

    def connect(**kwargs):
        sessions.append(kwargs.get("session_parameters") or {})
        return real_connect(**kwargs)

    monkeypatch.setattr(snowflake.connector, "connect", connect)
    setup.check(setup.project().run(as_of="2026-10-02"))

    assert 'SELECT SYSTEM$ABORT_TRANSACTION(1442254688149)' in sent, sent
    begin = sent.index("BEGIN")
    current = sent.index("SELECT CURRENT_TRANSACTION()")
    recorded = next(i for i, s in enumerate(sent) if re.match(r'UPDATE "_SW_RUN_LOCK" SET "TRANSACTION_ID" = \'\d+\'', s))
    commit = sent.index("COMMIT")
    cleared = next(i for i, s in enumerate(sent) if s.startswith('UPDATE "_SW_RUN_LOCK" SET "TRANSACTION_ID" = NULL'))
    assert begin < current < recorded < commit < cleared, sent
    assert sent.index('SELECT SYSTEM$ABORT_TRANSACTION(1442254688149)') < begin
    assert sessions and all(p.get("LOCK_TIMEOUT") == LOCK_TIMEOUT_SECONDS for p in sessions), sessions
    assert setup.wh.execute(f"SELECT holder, transaction_id FROM {lock}").fetchall() == [(None, None)]
