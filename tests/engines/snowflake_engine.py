"""Snowflake as the fakesnow emulator sees it, through the real snowflake-connector-python.

fakesnow patches the connector for as long as the engine is open; tables are created with
explicit types and filled with write_pandas, the connector's bulk path. Names are written unquoted,
as a Snowflake user writes them, so Snowflake folds them to upper case: the compiled SQL, which
quotes the folded names, is then the SQL that reads them (fakesnow ignores case; Snowflake does not)."""
from __future__ import annotations

import contextlib

import pandas as pd
from sqlglot import exp

from . import Engine, Table

TYPES = {"BIGINT": "NUMBER(38, 0)", "DOUBLE": "FLOAT", "VARCHAR": "VARCHAR", "TIMESTAMP": "TIMESTAMP_NTZ(6)",
         "BOOLEAN": "BOOLEAN", "JSON": "VARCHAR"}


class SnowflakeEngine(Engine):
    name = dialect = "snowflake"

    def __init__(self):
        import fakesnow
        import snowflake.connector

        self._patch = contextlib.ExitStack()
        self._patch.enter_context(fakesnow.patch())
        self.con = snowflake.connector.connect(database="SW", schema="PUBLIC")

    def load(self, tables: dict[str, Table]) -> None:
        from snowflake.connector.pandas_tools import write_pandas

        cur = self.con.cursor()
        for name, table in tables.items():
            schema, bare = name.split(".")
            target = exp.table_(bare, db=schema)  # unquoted: Snowflake reads SHOP.USERS
            cur.execute(exp.Create(this=exp.Table(this=exp.to_identifier(schema)), kind="SCHEMA", exists=True)
                        .sql("snowflake"))
            cur.execute(exp.Create(this=exp.Schema(this=target, expressions=[
                exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(TYPES[t], dialect="snowflake"))
                for c, t in table.columns.items()]), kind="TABLE", replace=True).sql("snowflake"))
            if table.rows:
                frame = pd.DataFrame(table.rows, columns=[c.upper() for c in table.columns], dtype=object)
                for column, type_ in table.columns.items():
                    if type_ == "BIGINT":  # an object column of ints and None goes through float: 2**53 + 1 is lost
                        frame[column.upper()] = frame[column.upper()].astype("Int64")
                write_pandas(self.con, frame, bare.upper(), schema=schema.upper(), quote_identifiers=False,
                             auto_create_table=False)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.cursor().execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()
        self._patch.close()
