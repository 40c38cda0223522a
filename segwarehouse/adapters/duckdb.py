"""DuckDB, the embedded default: one file, one writer process at a time (DuckDB's own file lock)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import duckdb
from sqlglot import exp

from .. import interrupts
from ..errors import Problem, RunError, ValidationError
from .base import BUSY, Adapter, Setting

LOCK_POLL_SECONDS = 0.2
# The file is attached under a fixed catalog name: DuckDB names a catalog after its file's stem, and
# `segwarehouse.duckdb` would make the output schema `segwarehouse` ambiguous.
CATALOG = "sw_target"
# DuckDB's file lock is per process; within one process (an orchestrator's threads) this is the lock.
_HELD: dict[str, threading.Lock] = {}
_HELD_GUARD = threading.Lock()


class DuckDBAdapter(Adapter):
    dialect = "duckdb"
    SETTINGS = {**Adapter.SETTINGS, "path": Setting(str), "memory_limit": Setting(str)}

    @classmethod
    def prepare(cls, settings: dict[str, Any], project_dir: Path, file: Optional[str],
                lines: dict[str, int]) -> dict[str, Any]:
        """`path` relative to the project directory; where it was written is kept for the message
        that it does not exist."""
        settings = dict(settings)
        path = settings.get("path")
        if path not in (None, ":memory:"):
            settings["path"] = str(Path(path) if Path(path).is_absolute() else project_dir / path)
        settings["path_origin"] = (file, lines.get("path") or lines.get("type"))
        return settings

    def __init__(self, settings: dict[str, Any]):
        super().__init__(settings)
        self.path = settings.get("path") or ":memory:"
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock: threading.Lock | None = None

    @property
    def description(self) -> str:
        return f"duckdb ({self.path})"

    def connect(self, wait: bool = False, lock: bool = False, create: bool = False) -> "DuckDBAdapter":
        """Open the database file. DuckDB lets one process write a file at a time, so the file is
        the lock whatever `lock` says: a second run fails at once with a clear message, or with
        wait=True polls until the first one ends. Only `demo` creates the file (create=True): a
        mistyped `path` would otherwise run against a new, empty database."""
        if not create and self.path != ":memory:" and not os.path.exists(self.path):
            raise self._missing()
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

    def _missing(self) -> ValidationError:
        file, line = self.settings.get("path_origin") or (None, None)
        if file is None:  # no profiles.yml: the embedded default target
            return ValidationError([Problem(self.path, None, "the DuckDB database does not exist yet; run "
                                            "`segwarehouse demo` to create it with demo data, or add a profiles.yml "
                                            "whose target is your warehouse")])
        return ValidationError([Problem(file, line, f"the DuckDB database {self.path} does not exist; run "
                                        "`segwarehouse demo` to create it, or fix `path`")])

    def demo_connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection, its database file created if missing (`demo` is what creates it)."""
        if self.con is None:
            self.connect(create=True)
        return self.con

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

    def load_text_column(self, target: exp.Table, column: str, values: Sequence[str]) -> None:
        """One statement: the values travel as a single list parameter and are unnested by DuckDB
        (a million values in well under a second; row-by-row inserts take minutes)."""
        unnest = exp.select(exp.Unnest(expressions=[exp.cast(exp.Placeholder(), "VARCHAR[]")]))
        insert = exp.insert(unnest, exp.Schema(this=target.copy(), expressions=[exp.to_identifier(column, quoted=True)]))
        with interrupts.engine_call():
            self.con.execute(self.sql(insert), [list(values)])

    # --- catalog hooks: information_schema lists every attached database's columns ------------
    def _catalog_of(self, table: exp.Table) -> exp.Expression:
        return exp.Literal.string(table.catalog or (CATALOG if self.path != ":memory:" else "memory"))

    def _tree_type(self, engine_type: str) -> str:
        return engine_type  # DuckDB's own spelling is the trees' spelling
