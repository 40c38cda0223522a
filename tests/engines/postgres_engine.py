"""PostgreSQL (the session's throwaway server), through psycopg 3; tables loaded with COPY."""
from __future__ import annotations

import psycopg

from . import Engine, Table

TYPES = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE PRECISION", "VARCHAR": "TEXT", "TIMESTAMP": "TIMESTAMP",
         "BOOLEAN": "BOOLEAN", "JSON": "JSONB"}


class PostgresEngine(Engine):
    name = dialect = "postgres"

    def __init__(self, dsn: str):
        self.con = psycopg.connect(dsn, autocommit=True)
        self.con.execute("SET TimeZone = 'UTC'")

    def load(self, tables: dict[str, Table]) -> None:
        for name, table in tables.items():
            schema, bare = name.split(".")
            self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.con.execute(f'DROP TABLE IF EXISTS "{schema}"."{bare}"')
            ddl = ", ".join(f'"{c}" {TYPES[t]}' for c, t in table.columns.items())
            self.con.execute(f'CREATE TABLE "{schema}"."{bare}" ({ddl})')
            with self.con.cursor() as cur, cur.copy(f'COPY "{schema}"."{bare}" FROM STDIN') as copy:
                for row in table.rows:
                    copy.write_row(row)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()
