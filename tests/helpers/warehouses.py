"""One small interface over the three execution engines for the cross-engine run tests: a fresh
target per test (a DuckDB file, a PostgreSQL database, a Snowflake database on the fakesnow
server), its profiles.yml target, bulk loading of fixture tables and a DB-API-like reader.

Snowflake is the real snowflake-connector-python talking HTTP to fakesnow's server, so CLI
subprocesses reach the same emulated account as the test process."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import yaml

# (name, DuckDB type, PostgreSQL type, Snowflake type) of the fixture tables
TABLES = {
    "users": [("user_id", "BIGINT", "BIGINT", "NUMBER(38,0)"), ("email", "VARCHAR", "TEXT", "VARCHAR"),
              ("first_name", "VARCHAR", "TEXT", "VARCHAR"), ("plan", "VARCHAR", "TEXT", "VARCHAR"),
              ("country", "VARCHAR", "TEXT", "VARCHAR"), ("ltv", "DOUBLE", "DOUBLE PRECISION", "FLOAT")],
    "events": [("user_id", "BIGINT", "BIGINT", "NUMBER(38,0)"), ("occurred_at", "TIMESTAMP", "TIMESTAMP", "TIMESTAMP_NTZ"),
               ("event_name", "VARCHAR", "TEXT", "VARCHAR"), ("properties", "JSON", "JSON", "VARCHAR")],
}
SCHEMA = "shop"


class Rows:
    """What a DuckDB connection's execute() returns, enough for the shared test helpers."""

    def __init__(self, rows: list[tuple]):
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


class Warehouse:
    engine = ""

    def profile(self) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, table: str, rows: Sequence[tuple]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def connect(self) -> Iterator["Warehouse"]:
        yield self

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        raise NotImplementedError

    def write_profiles(self, root: Path) -> None:
        (root / "profiles.yml").write_text(yaml.safe_dump(
            {"t": {"target": self.engine, "outputs": {self.engine: self.profile()}}}))


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    from test_run_invariants import insert_rows as many_rows_per_statement  # executemany is row by row in DuckDB

    many_rows_per_statement(con, table, rows)


class DuckDBWarehouse(Warehouse):
    engine = "duckdb"

    def __init__(self, root: Path):
        self.path = root / "wh.duckdb"
        self.con = None

    def profile(self):
        return {"type": "duckdb", "path": str(self.path)}

    def load(self, table, rows):
        with contextlib.closing(duckdb.connect(str(self.path))) as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            con.execute(f"CREATE TABLE {SCHEMA}.{table} ({', '.join(f'{c} {t}' for c, t, _, _ in TABLES[table])})")
            insert_rows(con, f"{SCHEMA}.{table}", list(rows))

    @contextlib.contextmanager
    def connect(self):
        self.con = duckdb.connect(str(self.path))  # closed on exit: a run needs the file to itself
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            yield self
        finally:
            self.con.close()
            self.con = None

    def execute(self, sql, params=()):
        cursor = self.con.execute(sql, list(params))
        return Rows(cursor.fetchall() if cursor.description else [])


class PostgresWarehouse(Warehouse):
    engine = "postgres"

    def __init__(self, dsn: str):
        import psycopg

        self.dbname = f"t_{uuid.uuid4().hex[:12]}"
        self.server = dict(part.split("=", 1) for part in dsn.split())
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{self.dbname}"')
        self.con = psycopg.connect(**{**self.server, "dbname": self.dbname}, autocommit=True,
                                   options="-c TimeZone=UTC")

    def profile(self):
        return {"type": "postgres", "host": self.server["host"], "port": int(self.server["port"]),
                "user": self.server["user"], "password": "unused (trust)", "dbname": self.dbname, "schema": "public"}

    def load(self, table, rows):
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self.con.execute(f"CREATE TABLE {SCHEMA}.{table} ({', '.join(f'{c} {t}' for c, _, t, _ in TABLES[table])})")
        with self.con.cursor() as cursor, cursor.copy(f"COPY {SCHEMA}.{table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def execute(self, sql, params=()):
        cursor = self.con.execute(sql.replace("?", "%s"), list(params) or None)
        return Rows(cursor.fetchall() if cursor.description else [])

    def close(self):
        self.con.close()


class SnowflakeWarehouse(Warehouse):
    engine = "snowflake"

    def __init__(self, server: dict[str, Any]):
        import snowflake.connector

        self.server = server
        self.database = f"T_{uuid.uuid4().hex[:12].upper()}"
        params = {k: v for k, v in server.items() if k not in ("session_parameters", "network_timeout")}
        self.con = snowflake.connector.connect(**params, database=self.database, schema=SCHEMA.upper(),
                                               session_parameters={**server["session_parameters"], "TIMEZONE": "UTC"})

    def profile(self):
        s = self.server
        return {"type": "snowflake", "account": s["account"], "user": s["user"], "password": s["password"],
                "host": s["host"], "port": s["port"], "protocol": s["protocol"], "database": self.database.lower(),
                "schema": SCHEMA, "warehouse": "compute_wh", "role": "transformer", "query_tag": "segwarehouse-tests"}

    def load(self, table, rows):
        """Bulk load with write_pandas (fakesnow's twin, into the emulator the server serves)."""
        import fakesnow.server
        import pandas as pd
        from fakesnow.pandas_tools import write_pandas

        columns = TABLES[table]
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self.execute(f"CREATE TABLE {SCHEMA}.{table} ({', '.join(f'{c} {t}' for c, _, _, t in columns)})")
        frame = pd.DataFrame([list(r) for r in rows], columns=[c.upper() for c, *_ in columns])
        for c, *_ in columns:  # keep NULLs NULL and integers integers (pandas would make them NaN floats)
            if frame[c.upper()].dtype == object:
                frame[c.upper()] = frame[c.upper()].astype(object).where(frame[c.upper()].notna(), None)
        con = fakesnow.server.shared_fs.connect(self.database, SCHEMA.upper())
        ok, _, count, _ = write_pandas(con, frame, table.upper(), schema=SCHEMA.upper(), quote_identifiers=False)
        assert ok and count == len(rows)

    def execute(self, sql, params=()):
        with self.con.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), tuple(params) or None)
            return Rows(cursor.fetchall() if cursor.description else [])

    def close(self):
        self.con.close()


def as_rows(rows: Sequence[tuple]) -> list[tuple]:
    """Rows read from the reference DuckDB, with values every driver can load."""
    return [tuple(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
