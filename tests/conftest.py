"""Shared fixtures: small projects written into a temporary directory, over a real DuckDB file."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from segwarehouse import Project

ROOT = Path(__file__).resolve().parent.parent

PROJECT_YML = """\
name: t
people:
  table: main.users
  key: user_id
  identifiers: {email: email}
streams:
  event: {table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: properties}
"""


def write_project(root: Path, segments: dict[str, str], project_yml: str = PROJECT_YML,
                  macros: dict[str, str] | None = None, files: dict[str, str] | None = None) -> Path:
    """A project directory: segwarehouse.yml, segments/<file> (dedented), macros/<file>, other files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "segwarehouse.yml").write_text(textwrap.dedent(project_yml))
    for folder, items in (("segments", segments), ("macros", macros or {}), ("", files or {})):
        for name, text in items.items():
            path = root / folder / name if folder else root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def make_project(tmp_path):
    """make_project(segments, ...) -> Project over <tmp>/proj with its own DuckDB file."""

    def make(segments: dict[str, str], **kwargs) -> Project:
        return Project(write_project(tmp_path / "proj", segments, **kwargs))

    return make


@pytest.fixture(scope="session")
def postgres_dsn():
    """A real PostgreSQL server for the whole test session (about 1 s to start)."""
    from helpers.postgres_server import postgres_server

    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def snowflake_server(fakesnow_transactions):
    """The fakesnow emulator behind an HTTP server for the whole session: the real
    snowflake-connector-python, in this process or in a CLI subprocess, connects to it."""
    import fakesnow

    with fakesnow.server() as connection:
        yield connection


@pytest.fixture(scope="session")
def fakesnow_transactions():
    """fakesnow answers CURRENT_TRANSACTION() and SYSTEM$ABORT_TRANSACTION, and leaves `$` inside
    string literals alone, as Snowflake does (see the two helpers)."""
    from helpers import fakesnow_transactions, fakesnow_variables

    fakesnow_transactions.install()
    fakesnow_variables.install()


@pytest.fixture(scope="session")
def engines(request, fakesnow_transactions):
    """The five engines the cross-engine tests execute SQL on, each opened on first use and kept for
    the whole test session (Spark takes about 10 s to start)."""
    from engines.clickhouse_engine import ClickHouseEngine
    from engines.duckdb_engine import DuckDBEngine
    from engines.postgres_engine import PostgresEngine
    from engines.snowflake_engine import SnowflakeEngine
    from engines.spark_engine import SparkEngine

    makers = {"duckdb": DuckDBEngine, "postgres": lambda: PostgresEngine(request.getfixturevalue("postgres_dsn")),
              "snowflake": SnowflakeEngine, "clickhouse": ClickHouseEngine, "spark": SparkEngine}

    class Engines(dict):
        def __missing__(self, name):
            self[name] = makers[name]()
            return self[name]

    opened = Engines()
    yield opened
    for engine in opened.values():
        engine.close()
