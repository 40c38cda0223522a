"""DuckDB, in memory: the engine every other one is compared with."""
from __future__ import annotations

import duckdb
import pandas as pd

from . import Engine, Table


class DuckDBEngine(Engine):
    name = dialect = "duckdb"

    def __init__(self):
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")

    def load(self, tables: dict[str, Table]) -> None:
        for name, table in tables.items():
            schema = name.split(".")[0]
            self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            ddl = ", ".join(f'"{c}" {t}' for c, t in table.columns.items())
            self.con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")
            if table.rows:  # through a DataFrame: executemany takes seconds for 10,000 rows
                frame = pd.DataFrame(table.rows, columns=list(table.columns), dtype=object)
                self.con.register("_sw_rows", frame)
                self.con.execute(f"INSERT INTO {name} SELECT * FROM _sw_rows")
                self.con.unregister("_sw_rows")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()
