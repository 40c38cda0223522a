"""PostgreSQL through psycopg 3: transactional DDL, an advisory lock per target for runs."""
from __future__ import annotations

from typing import Any, Iterator

from sqlglot import exp

from .. import interrupts
from ..errors import RunError
from .base import BUSY, Adapter, lock_key, missing_driver, tree_type

CONNECT_SETTINGS = ("host", "port", "user", "password", "dbname", "sslmode")


class PostgresAdapter(Adapter):
    dialect = "postgres"
    TRANSACTIONAL_DDL = True
    SUPPORTS_REPLACE_TABLE = False    # CREATE OR REPLACE exists for views and functions only
    SUPPORTS_MERGE = True             # 15+
    IDENTIFIER_CASE = "lower"
    MAX_IDENTIFIER_LENGTH = 63        # longer names are silently truncated: refuse them instead
    VIEWS_RESOLVE_IN_OWN_SCHEMA = False  # names bind through search_path when the view is created

    def __init__(self, settings: dict[str, Any]):
        super().__init__(settings)
        self.con = None

    @property
    def description(self) -> str:
        s = self.settings
        where = f"{s.get('host') or 'localhost'}:{s.get('port') or 5432}/{s.get('dbname') or ''}"
        return f"postgres ({s.get('user') or ''}@{where})"

    def connect(self, wait: bool = False, lock: bool = False) -> "PostgresAdapter":
        try:
            import psycopg
        except ImportError:
            raise missing_driver("postgres", "psycopg") from None
        params = {k: self.settings[k] for k in CONNECT_SETTINGS if self.settings.get(k) is not None}
        # Every timestamp is UTC (SPEC 7); search_path makes the profile's schema the default one.
        options = ["-c TimeZone=UTC"]
        if self.settings.get("schema"):
            options.append(f"-c search_path={exp.to_identifier(self.settings['schema'], quoted=True).sql('postgres')}")
        try:
            self.con = psycopg.connect(**params, options=" ".join(options), autocommit=True,
                                       application_name="segwarehouse")
        except psycopg.Error as e:
            raise RunError(f"cannot connect to {self.description}: {str(e).strip()}") from None
        if lock:
            self._lock(wait)
        return self

    def _lock(self, wait: bool) -> None:
        """A session-level advisory lock on (database, schema): PostgreSQL releases it when this
        connection ends, a killed process included, so no stale lock can outlive its run."""
        key = exp.Literal.number(lock_key("segwarehouse", str(self.settings.get("dbname")),
                                          str(self.settings.get("schema"))))
        if wait:
            self.execute(exp.select(exp.func("pg_advisory_lock", key)))
            return
        if not self.execute(exp.select(exp.func("pg_try_advisory_lock", key)))[0][0]:
            self.close()
            raise RunError(BUSY.format(target=self.description))

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def stream(self, query: exp.Expression, batch: int = 10_000) -> Iterator[tuple]:
        # psycopg cancels the server's query when an interrupt reaches its wait loop
        with self.con.cursor() as cursor, interrupts.engine_call():
            yield from cursor.stream(self.sql(query))

    def column_types(self, table: str) -> dict[str, str] | None:
        parts = table.split(".")
        name, schema = parts[-1], (parts[-2] if len(parts) > 1 else None)
        query = (exp.select("column_name", "data_type").from_("information_schema.columns")
                 .where(exp.column("table_name").eq(exp.Literal.string(name)))
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema) if schema
                                                      else exp.func("current_schema"))))
        rows = self.execute(query.order_by("ordinal_position"))
        return {r[0]: tree_type(r[1], self.dialect) for r in rows} or None
