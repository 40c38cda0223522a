"""ClickHouse in process (chdb): microsecond UTC times; rows loaded as JSONEachRow."""
from __future__ import annotations

import datetime as dt
import json

from chdb import session

from . import Engine, Table

TYPES = {"BIGINT": "Int64", "DOUBLE": "Float64", "VARCHAR": "String", "TIMESTAMP": "DateTime64(6, 'UTC')",
         "BOOLEAN": "Bool", "JSON": "String"}


def _value(value):
    return value.isoformat(sep=" ", timespec="microseconds") if isinstance(value, dt.datetime) else value


class ClickHouseEngine(Engine):
    name = dialect = "clickhouse"

    def __init__(self):
        self.session = session.Session()

    def load(self, tables: dict[str, Table]) -> None:
        for name, table in tables.items():
            schema, bare = name.split(".")
            self.session.query(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
            self.session.query(f"DROP TABLE IF EXISTS `{schema}`.`{bare}`")
            # Nullable only where the data has NULLs, as ClickHouse schemas are: a LEFT JOIN then fills
            # missing rows with 0 and 1970-01-01 unless the query asks for NULLs
            nullable = {c: not table.rows or any(row[i] is None for row in table.rows)
                        for i, c in enumerate(table.columns)}
            ddl = ", ".join(f"`{c}` Nullable({TYPES[t]})" if nullable[c] else f"`{c}` {TYPES[t]}"
                            for c, t in table.columns.items())
            self.session.query(f"CREATE TABLE `{schema}`.`{bare}` ({ddl}) ENGINE = Memory")
            if table.rows:
                names = list(table.columns)
                lines = "\n".join(json.dumps({c: _value(v) for c, v in zip(names, row)}) for row in table.rows)
                self.session.query(f"INSERT INTO `{schema}`.`{bare}` FORMAT JSONEachRow\n{lines}")

    def rows(self, sql: str) -> list[tuple]:
        result = self.session.query(sql, "JSONCompact")
        return [tuple(row) for row in json.loads(result.bytes() or b'{"data": []}')["data"]]

    def close(self) -> None:
        self.session.close()
