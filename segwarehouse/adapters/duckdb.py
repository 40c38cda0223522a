"""DuckDB, the embedded default: one file, one writer process at a time (DuckDB's own file lock)."""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterator, Sequence

import duckdb
from sqlglot import exp

from .. import interrupts
from ..errors import RunError
from .base import BUSY, Adapter

LOCK_POLL_SECONDS = 0.2
# The file is attached under a fixed catalog name: DuckDB names a catalog after its file's stem, and
# `segwarehouse.duckdb` would make the output schema `segwarehouse` ambiguous.
CATALOG = "sw_target"
# DuckDB's file lock is per process; within one process (an orchestrator's threads) this is the lock.
_HELD: dict[str, threading.Lock] = {}
_HELD_GUARD = threading.Lock()


class DuckDBAdapter(Adapter):
    dialect = "duckdb"
    VIEWS_RESOLVE_IN_OWN_SCHEMA = True  # and must: the file's catalog name changes with how it is opened

    def __init__(self, settings: dict[str, Any]):
        super().__init__(settings)
        self.path = settings.get("path") or ":memory:"
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock: threading.Lock | None = None

    @property
    def description(self) -> str:
        return f"duckdb ({self.path})"

    def connect(self, wait: bool = False, lock: bool = False) -> "DuckDBAdapter":
        """Open the database file. DuckDB lets one process write a file at a time, so the file is
        the lock whatever `lock` says: a second run fails at once with a clear message, or with
        wait=True polls until the first one ends."""
        config = {}
        if self.settings.get("threads"):
            config["threads"] = int(self.settings["threads"])
        if self.settings.get("memory_limit"):
            config["memory_limit"] = str(self.settings["memory_limit"])
        self.con = duckdb.connect(":memory:", config=config)
        interrupts.watch(self, self.con.interrupt)  # Ctrl-C stops the running query (from any thread)
        if self.path != ":memory:":
            self._attach(wait)
        # Warehouse timestamps without a zone are UTC; so is every comparison.
        self.con.execute("SET TimeZone = 'UTC'")
        return self

    def _attach(self, wait: bool) -> None:
        with _HELD_GUARD:
            lock = _HELD.setdefault(os.path.realpath(self.path), threading.Lock())
        if not lock.acquire(blocking=wait):
            self.close()
            raise RunError(BUSY.format(target=self.path))
        self._lock = lock
        attach = exp.Attach(this=exp.alias_(exp.Literal.string(self.path), CATALOG))
        while True:
            try:
                self.con.execute(attach.sql("duckdb"))
                break
            except (duckdb.IOException, duckdb.BinderException) as e:
                if "lock" not in str(e).lower():
                    self.close()
                    raise RunError(f"cannot open DuckDB database {self.path}: {e}") from None
                if not wait:
                    self.close()
                    raise RunError(BUSY.format(target=self.path)) from None
                time.sleep(LOCK_POLL_SECONDS)
        self.con.execute(exp.Use(this=exp.table_(CATALOG)).sql("duckdb"))

    def close(self) -> None:
        interrupts.unwatch(self)
        if self.con is not None:
            self.con.close()
            self.con = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def stream(self, query: exp.Expression, batch: int = 10_000) -> Iterator[tuple]:
        with interrupts.engine_call():
            result = self.con.execute(self.sql(query))
            while rows := result.fetchmany(batch):
                yield from rows

    def insert_rows(self, target: exp.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        insert = exp.insert(
            exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in columns])]),
            exp.Schema(this=target, expressions=[exp.to_identifier(c, quoted=True) for c in columns]))
        with interrupts.engine_call():
            self.con.executemany(self.sql(insert), [list(r) for r in rows])

    def _catalog(self) -> str:
        return CATALOG if self.path != ":memory:" else "memory"

    def column_types(self, table: str) -> dict[str, str] | None:
        parts = table.split(".")
        name, schema = parts[-1], (parts[-2] if len(parts) > 1 else None)
        query = (exp.select("column_name", "data_type").from_("information_schema.columns")
                 .where(exp.column("table_name").eq(exp.Literal.string(name))))
        if schema:
            query = query.where(exp.column("table_schema").eq(exp.Literal.string(schema)))
        catalog = parts[-3] if len(parts) > 2 else self._catalog()
        query = query.where(exp.column("table_catalog").eq(exp.Literal.string(catalog)))
        rows = self.con.execute(self.sql(query.order_by("ordinal_position"))).fetchall()
        return {r[0]: r[1] for r in rows} or None
