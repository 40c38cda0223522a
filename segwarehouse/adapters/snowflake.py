"""Snowflake through snowflake-connector-python.

Snowflake commits DDL implicitly (a CREATE inside BEGIN..COMMIT ends the transaction), so
TRANSACTIONAL_DDL is False: the runner creates temporary tables and views outside the
transaction, and BEGIN..COMMIT holds DML only.

Unquoted names fold to upper case in Snowflake, and segwarehouse quotes every identifier; a name
written in lower case in the project (`people.table: shop.users`) is therefore sent upper case
(SHOP.USERS, as Snowflake would read it unquoted) and names in mixed case are kept as written.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from typing import Any, Iterator

from sqlglot import exp

from .. import interrupts
from ..errors import RunError
from .base import BUSY, Adapter, missing_driver, tree_type

CONNECT_SETTINGS = ("account", "user", "password", "role", "warehouse", "database", "schema", "authenticator",
                    "host", "port", "protocol", "private_key_file", "private_key_file_pwd")
LOCK_TABLE = "_sw_run_lock"
LOCK_NAME = "run"
LOCK_POLL_SECONDS = 1.0
# The holder refreshes its heartbeat; a lock whose heartbeat is older than STALE belongs to a run
# that died without releasing it (killed process, lost network) and may be taken over.
HEARTBEAT_SECONDS = 15
STALE_SECONDS = 120


def _upper_unquoted(node: exp.Expression) -> exp.Expression:
    """A name written in lower case means what it would mean unquoted in Snowflake: upper case."""
    if isinstance(node, exp.Identifier) and node.name == node.name.lower() and node.name != node.name.upper():
        node.set("this", node.name.upper())
    return node


def engine_name(name: str) -> str:
    return name.upper() if name == name.lower() else name


def project_name(name: str) -> str:
    """An engine name as the project writes it: lower case for Snowflake's default upper case."""
    return name.lower() if name == name.upper() else name


class SnowflakeAdapter(Adapter):
    dialect = "snowflake"
    TRANSACTIONAL_DDL = False
    SUPPORTS_REPLACE_TABLE = True
    SUPPORTS_MERGE = True
    IDENTIFIER_CASE = "upper"
    MAX_IDENTIFIER_LENGTH = 255
    JSON_TEXT_WITH_TO_JSON = True   # CAST(<variant object> AS VARCHAR) fails; TO_JSON serialises it
    VIEWS_RESOLVE_IN_OWN_SCHEMA = False
    REWRITES = (_upper_unquoted,)

    def __init__(self, settings: dict[str, Any]):
        super().__init__(settings)
        self.con = None
        self._lock: _LockTable | None = None

    @property
    def description(self) -> str:
        s = self.settings
        return f"snowflake ({s.get('account')}/{s.get('database')}.{s.get('schema')})"

    def _open(self):
        try:
            import snowflake.connector
        except ImportError:
            raise missing_driver("snowflake", "snowflake-connector-python") from None
        s = self.settings
        params = {k: s[k] for k in CONNECT_SETTINGS if s.get(k) is not None}
        if s.get("private_key_path"):
            params["private_key_file"] = s["private_key_path"]
            if s.get("private_key_passphrase"):
                params["private_key_file_pwd"] = s["private_key_passphrase"]
        for name in ("database", "schema"):
            if name in params:
                params[name] = engine_name(params[name])
        # Every timestamp is UTC (SPEC 7); the query tag lets admins find segwarehouse's queries.
        session = {"TIMEZONE": "UTC", "QUERY_TAG": s.get("query_tag") or "segwarehouse",
                   "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}
        try:
            return snowflake.connector.connect(**params, session_parameters=session, autocommit=True,
                                               application="segwarehouse", login_timeout=s.get("login_timeout", 60))
        # OSError, ValueError: the connector reads the private key file itself (missing, wrong passphrase)
        except (snowflake.connector.errors.Error, OSError, ValueError) as e:
            raise RunError(f"cannot connect to {self.description}: {str(e).strip()}") from None

    def connect(self, wait: bool = False, lock: bool = False) -> "SnowflakeAdapter":
        self.con = self._open()
        if lock:
            self._lock = _LockTable(self, self._open())
            try:
                self._lock.acquire(wait)
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self.con is not None:
            self.con.close()
            self.con = None

    def execute(self, statement: exp.Expression, con=None) -> list[tuple]:
        if con is not None:  # the run lock's own connection: its release must work after an interrupt
            return self._run(statement, con)
        with self._interruptible():
            return self._run(statement, self.con)

    def _run(self, statement: exp.Expression, con) -> list[tuple]:
        with con.cursor() as cursor:
            cursor.execute(self.sql(statement))
            return cursor.fetchall() if cursor.description else []

    def stream(self, query: exp.Expression, batch: int = 10_000) -> Iterator[tuple]:
        with self._interruptible(), self.con.cursor() as cursor:
            cursor.execute(self.sql(query))
            while rows := cursor.fetchmany(batch):
                yield from rows

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """An interrupt stops the statement on the server too: the connector cancels it on SIGINT
        (its own handler), not on SIGTERM or once its request returned, so cancel what still runs."""
        try:
            with interrupts.engine_call():
                yield
        except interrupts.Interrupted:
            with contextlib.suppress(Exception):
                self._run(exp.select(exp.func("SYSTEM$CANCEL_ALL_QUERIES", exp.Literal.number(self.con.session_id))),
                          self.con)
            raise

    def _commit(self) -> None:
        self._run(exp.Commit(), self.con)

    def _rollback(self) -> None:
        self._run(exp.Rollback(), self.con)

    def column_types(self, table: str) -> dict[str, str] | None:
        parts = [engine_name(p) for p in table.split(".")]
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else engine_name(self.settings.get("schema") or "PUBLIC")
        columns = exp.table_("columns", db="information_schema", catalog=parts[-3] if len(parts) > 2 else None)
        query = (exp.select("column_name", "data_type").from_(columns)
                 .where(exp.column("table_name").eq(exp.Literal.string(name)))
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema))))
        # information_schema's own names must stay unquoted-insensitive: render without the upper-casing rewrite
        rows = self.con.cursor().execute(query.sql("snowflake")).fetchall()
        return {project_name(r[0]): tree_type(r[1], self.dialect) for r in rows} or None


class _LockTable:
    """A run lock that works across sessions and machines, in a one-row table of the profile's
    schema: (name, holder, heartbeat_at).

    Claiming is one UPDATE that sets `holder` only where it is NULL or stale. Snowflake runs DML
    on one table one statement at a time, so of two concurrent claims exactly one finds the row
    free. The row is created by an INSERT .. WHERE NOT EXISTS; should two sessions race and both
    insert, claims and releases update every row of the name together, and the claim counts as
    won only when no row names another holder. The lock lives on its own autocommit connection,
    so its heartbeat never joins the run's transaction; a run that dies stops its heartbeat and
    its lock goes stale after STALE_SECONDS."""

    def __init__(self, adapter: SnowflakeAdapter, con):
        self.adapter, self.con = adapter, con
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.table = exp.table_(LOCK_TABLE, quoted=True)
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _run(self, statement: exp.Expression) -> list[tuple]:
        return self.adapter.execute(statement, con=self.con)

    @staticmethod
    def _now() -> exp.Expression:
        return exp.cast(exp.CurrentTimestamp(), "TIMESTAMP")

    @staticmethod
    def _col(name: str) -> exp.Column:
        return exp.column(name, quoted=True)

    def _named(self) -> exp.Expression:
        return self._col("name").eq(exp.Literal.string(LOCK_NAME))

    def _mine(self) -> exp.Expression:
        return exp.and_(self._named(), self._col("holder").eq(exp.Literal.string(self.holder)))

    def acquire(self, wait: bool) -> None:
        columns = (("name", "VARCHAR"), ("holder", "VARCHAR"), ("heartbeat_at", "TIMESTAMP"))
        self._run(exp.Create(kind="TABLE", exists=True, this=exp.Schema(this=self.table.copy(), expressions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t)) for c, t in columns])))
        missing = exp.not_(exp.Exists(this=exp.select("1").from_(self.table.copy()).where(self._named())))
        self._run(exp.insert(exp.select(exp.Literal.string(LOCK_NAME), exp.null(), exp.null()).where(missing),
                             self.table.copy()))
        while not self._claim():
            if not wait:
                raise RunError(BUSY.format(target=self.adapter.description) + f" (lock held: {self._held_by()})")
            time.sleep(LOCK_POLL_SECONDS)
        self._beat = threading.Thread(target=self._heartbeat, name="segwarehouse lock heartbeat", daemon=True)
        self._beat.start()

    def _claim(self) -> bool:
        stale_before = exp.DateAdd(this=self._now(), expression=exp.Literal.number(-STALE_SECONDS),
                                   unit=exp.var("SECOND"))
        free = exp.or_(exp.Is(this=self._col("holder"), expression=exp.null()),
                       exp.LT(this=self._col("heartbeat_at"), expression=stale_before))
        claim = exp.update(self.table.copy(), {"holder": exp.Literal.string(self.holder), "heartbeat_at": self._now()},
                           where=exp.and_(self._named(), exp.paren(free)))
        try:
            self._run(claim)
        except Exception:  # noqa: BLE001 - a concurrent claim may be refused as a conflict: not ours
            return False
        others = exp.and_(self._named(), exp.NullSafeNEQ(this=self._col("holder"),
                                                         expression=exp.Literal.string(self.holder)))
        if self._run(exp.select(exp.Count(this=exp.Star())).from_(self.table.copy()).where(others))[0][0]:
            self._release_rows()
            return False
        return True

    def _held_by(self) -> str:
        rows = self._run(exp.select(self._col("holder"), self._col("heartbeat_at")).from_(self.table.copy())
                         .where(self._named()))
        return ", ".join(f"{h} since {t}" for h, t in rows if h) or "released meanwhile"

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a missed beat only brings staleness closer
                self._run(exp.update(self.table.copy(), {"heartbeat_at": self._now()}, where=self._mine()))

    def _release_rows(self) -> None:
        self._run(exp.update(self.table.copy(), {"holder": exp.null(), "heartbeat_at": exp.null()}, where=self._mine()))

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with contextlib.suppress(Exception):  # a lost connection: the lock goes stale on its own
            self._release_rows()
        with contextlib.suppress(Exception):
            self.con.close()

