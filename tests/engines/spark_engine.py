"""Spark SQL through pyspark in local mode: one session for the whole test session.

Tables become temporary views (a view cannot live in a database, so `main.users` is the view
`users`: `prepare` drops the database part of table names before the query is rendered)."""
from __future__ import annotations

import datetime as dt

from sqlglot import exp

from . import Engine, Table

TYPES = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP",
         "BOOLEAN": "BOOLEAN", "JSON": "STRING"}


class SparkEngine(Engine):
    name = dialect = "spark"
    batch = True  # a query costs about a second however small the data

    def __init__(self):
        from pyspark.sql import SparkSession

        self.spark = (SparkSession.builder.master("local[1]").appName("segwarehouse-tests")
                      .config("spark.sql.shuffle.partitions", "1")
                      .config("spark.default.parallelism", "1")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.sql.adaptive.enabled", "false")
                      .config("spark.sql.codegen.wholeStage", "false")
                      .config("spark.sql.session.timeZone", "UTC")
                      .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
                      .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")

    def load(self, tables: dict[str, Table]) -> None:
        for name, table in tables.items():
            schema = ", ".join(f"`{c}` {TYPES[t]}" for c, t in table.columns.items())
            # aware datetimes: pyspark reads naive ones in the process's local zone
            rows = [tuple(v.replace(tzinfo=dt.timezone.utc) if isinstance(v, dt.datetime) else v for v in row)
                    for row in table.rows]
            frame = self.spark.createDataFrame(rows, schema=schema)
            frame.createOrReplaceTempView(name.split(".")[-1])

    def prepare(self, tree: exp.Expression) -> exp.Expression:
        for table in tree.find_all(exp.Table):
            table.set("db", None)
            table.set("catalog", None)
        return tree

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def close(self) -> None:
        pass  # the session lives until the interpreter exits; stopping it costs seconds
