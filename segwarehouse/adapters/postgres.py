"""PostgreSQL through psycopg 3: transactional DDL, an advisory lock per target for runs."""
from __future__ import annotations

from typing import Any, Iterator, Sequence

from sqlglot import exp

from .. import interrupts
from ..errors import RunError
from .base import BUSY, Adapter, Setting, lock_key, missing_driver

CONNECT_SETTINGS = ("host", "port", "user", "password", "dbname", "sslmode")


class PostgresAdapter(Adapter):
    dialect = "postgres"
    SETTINGS = {**Adapter.SETTINGS, "host": Setting(str, required=True), "port": Setting(int),
                "user": Setting(str, required=True), "password": Setting(str, secret=True),
                "dbname": Setting(str, required=True), "schema": Setting(str), "sslmode": Setting(str)}
    TRANSACTIONAL_DDL = True
    SUPPORTS_REPLACE_TABLE = False    # CREATE OR REPLACE exists for views and functions only
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
        # Every timestamp is UTC (SPEC 7); search_path makes the profile's schema the default one
        # (folded like every name segwarehouse sends).
        options = ["-c TimeZone=UTC"]
        if self.settings.get("schema"):
            options.append(f"-c search_path={self.sql(exp.to_identifier(self.settings['schema'], quoted=True))}")
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

    def load_text_column(self, target: exp.Table, column: str, values: Sequence[str]) -> None:
        """COPY .. FROM STDIN through psycopg's copy: the values stream in one round trip."""
        copy = exp.Copy(this=exp.Schema(this=target.copy(), expressions=[exp.to_identifier(column, quoted=True)]),
                        kind=True, files=[exp.var("STDIN")])
        with interrupts.engine_call(), self.con.cursor() as cursor, cursor.copy(self.sql(copy)) as writer:
            for value in values:
                writer.write_row((value,))
