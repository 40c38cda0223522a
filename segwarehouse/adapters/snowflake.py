"""Snowflake through snowflake-connector-python.

Snowflake commits DDL implicitly (a CREATE inside BEGIN..COMMIT ends the transaction), so
TRANSACTIONAL_DDL is False: the runner creates temporary tables and views outside the
transaction, and BEGIN..COMMIT holds DML only.

Names are folded as Snowflake folds unquoted names (upper case) when SQL is rendered, in
compiler/dialects.render, the same function `compile --dialect snowflake` prints through.
"""
from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

from sqlglot import exp

from .. import interrupts
from ..errors import RunError
from .base import BUSY, Adapter, Report, Setting, missing_driver

CONNECT_SETTINGS = ("account", "user", "password", "role", "warehouse", "database", "schema", "authenticator",
                    "host", "port", "protocol", "private_key_file", "private_key_file_pwd")
LOCK_TABLE = "_sw_run_lock"
LOCK_NAME = "run"
LOCK_POLL_SECONDS = 1.0
# The holder refreshes its heartbeat; a lock whose heartbeat is older than STALE belongs to a run
# that died without releasing it (killed process, lost network) and may be taken over.
HEARTBEAT_SECONDS = 15
STALE_SECONDS = 120
# How long a statement waits for a table lock before it fails (Snowflake's default is 12 hours).
# The only writers of the output tables are segwarehouse runs, serialized by the run lock, and
# syncs, whose commits take seconds; a longer wait means a transaction nobody will finish (a run
# killed inside it). Takeover aborts that transaction; should the abort fail (another user's run),
# Snowflake itself aborts an idle detached transaction that blocks another after 5 minutes, so ten
# minutes outlasts it and the run fails with a lock timeout instead of hanging.
LOCK_TIMEOUT_SECONDS = 600
AUTH = ("password", "private_key_path", "authenticator")


def engine_name(name: str) -> str:
    """A connection setting (database, schema) as Snowflake reads it unquoted."""
    return name.upper() if name == name.lower() else name


def project_name(name: str) -> str:
    """An engine name as the project writes it: lower case for Snowflake's default upper case."""
    return name.lower() if name == name.upper() else name


class SnowflakeAdapter(Adapter):
    dialect = "snowflake"
    SETTINGS = {**Adapter.SETTINGS, "account": Setting(str, required=True), "user": Setting(str, required=True),
                "password": Setting(str, secret=True), "private_key_path": Setting(str),
                "private_key_passphrase": Setting(str, secret=True), "authenticator": Setting(str),
                "role": Setting(str), "warehouse": Setting(str), "database": Setting(str, required=True),
                "schema": Setting(str), "query_tag": Setting(str), "login_timeout": Setting(int),
                # a private-link or emulator endpoint instead of <account>.snowflakecomputing.com
                "host": Setting(str), "port": Setting(int), "protocol": Setting(str)}
    TRANSACTIONAL_DDL = False
    SUPPORTS_REPLACE_TABLE = True
    MAX_IDENTIFIER_LENGTH = 255
    JSON_TEXT_WITH_TO_JSON = True   # CAST(<variant object> AS VARCHAR) fails; TO_JSON serialises it
    VIEWS_RESOLVE_IN_OWN_SCHEMA = False

    @classmethod
    def check_settings(cls, settings: dict[str, Any], report: Report) -> None:
        """Exactly one way to log in."""
        auth = [k for k in AUTH if settings.get(k) not in (None, "")]
        if len(auth) != 1:
            report(auth[1] if len(auth) > 1 else None,
                   "a snowflake target needs exactly one of `password`, `private_key_path` (key pair) or "
                   f"`authenticator: externalbrowser`{'; got ' + ', '.join(auth) if auth else ''}")
        elif auth == ["authenticator"] and str(settings["authenticator"]).lower() != "externalbrowser":
            report("authenticator",
                   f"`authenticator` is externalbrowser (browser single sign-on), got {settings['authenticator']!r}")

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
                   "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False, "LOCK_TIMEOUT": LOCK_TIMEOUT_SECONDS}
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

    def load_text_column(self, target: exp.Table, column: str, values: Sequence[str]) -> None:
        """PUT a CSV file of the values to a temporary stage, then COPY INTO: Snowflake's bulk
        path (row inserts take a round trip per batch). Each value is written with a one-character
        prefix that an UPDATE strips after the load: no value is then empty or equal to a NULL_IF
        string, so every value arrives as written (spaces kept: TRIM_SPACE is FALSE by default)."""
        name = exp.Table(this=exp.to_identifier(f"_SW_STAGE_{uuid.uuid4().hex[:12].upper()}", quoted=True))
        # Upper case: the name reads the same in CREATE (an identifier) and PUT/COPY (a stage reference).
        # A temporary stage ends with the session (fakesnow has no DROP STAGE).
        stage = exp.Var(this="@" + name.this.sql("snowflake"))
        value = exp.column(column, quoted=True)
        with tempfile.TemporaryDirectory(prefix="segwarehouse-") as directory:
            path = Path(directory) / "values.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(("v" + v,) for v in values)
            self.execute(exp.Create(this=name, kind="STAGE",
                                    properties=exp.Properties(expressions=[exp.TemporaryProperty()])))
            self.execute(exp.Put(this=exp.Literal.string(path.as_uri()), target=stage.copy(),
                                 properties=exp.Properties(expressions=[
                                     exp.Property(this=exp.var("AUTO_COMPRESS"), value=exp.true())])))
            file_format = {"TYPE": exp.var("CSV"), "FIELD_OPTIONALLY_ENCLOSED_BY": exp.Literal.string('"')}
            self.execute(exp.Copy(
                this=exp.Schema(this=target.copy(), expressions=[exp.to_identifier(column, quoted=True)]),
                kind=True, files=[exp.Table(this=stage.copy())],
                params=[exp.CopyParameter(this=exp.var("FILE_FORMAT"), expressions=[
                    exp.Property(this=exp.var(k), value=v) for k, v in file_format.items()])]))
        strip = exp.Substring(this=value.copy(), start=exp.Literal.number(2))
        self.execute(exp.update(target.copy(), {column: strip}))

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

    def _begin(self) -> None:
        """BEGIN; under the run lock the transaction's id goes into the lock row, so a run that
        takes over this lock after this process dies can abort it and free its table locks."""
        super()._begin()
        if self._lock is not None:
            try:
                self._lock.record_transaction(self.execute(exp.select(exp.func("CURRENT_TRANSACTION")))[0][0])
            except BaseException:
                self._rollback()
                raise

    def _commit(self) -> None:
        self._run(exp.Commit(), self.con)
        self._forget_transaction()

    def _rollback(self) -> None:
        try:
            self._run(exp.Rollback(), self.con)
        finally:
            with contextlib.suppress(Exception):
                self._forget_transaction()

    def _forget_transaction(self) -> None:
        if self._lock is not None:
            self._lock.record_transaction(None)

    # --- catalog hooks: information_schema is per database; names read back in project case ----
    def _columns_view(self, table: exp.Table) -> exp.Table:
        return exp.table_("columns", db="information_schema", catalog=table.catalog or None)

    def _default_schema(self) -> exp.Expression:
        return exp.Literal.string(engine_name(self.settings.get("schema") or "PUBLIC"))

    def _catalog_of(self, table: exp.Table) -> None:
        return None  # the information_schema named above is the catalog's own

    def _project_name(self, name: str) -> str:
        return project_name(name)


class _LockTable:
    """A run lock that works across sessions and machines, in a one-row table of the profile's
    schema: (name, holder, heartbeat_at, transaction_id).

    Claiming is one UPDATE that sets `holder` only where it is NULL or stale. Snowflake runs DML
    on one table one statement at a time, so of two concurrent claims exactly one finds the row
    free. The row is created by an INSERT .. WHERE NOT EXISTS; should two sessions race and both
    insert, claims and releases update every row of the name together, and the claim counts as
    won only when no row names another holder. The lock lives on its own autocommit connection,
    so its heartbeat never joins the run's transaction; a run that dies stops its heartbeat and
    its lock goes stale after STALE_SECONDS.

    A run killed inside its apply transaction leaves that transaction open, holding its table
    locks until Snowflake ends the detached transaction (hours). The holder therefore records
    CURRENT_TRANSACTION() in `transaction_id` while it applies, and a run taking over a stale
    lock aborts that transaction first (SYSTEM$ABORT_TRANSACTION: a no-op on one already ended)."""

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
        columns = (("name", "VARCHAR"), ("holder", "VARCHAR"), ("heartbeat_at", "TIMESTAMP"),
                   ("transaction_id", "VARCHAR"))
        self._run(exp.Create(kind="TABLE", exists=True, this=exp.Schema(this=self.table.copy(), expressions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t)) for c, t in columns])))
        # a lock table made before transaction_id existed
        self._run(exp.Alter(this=self.table.copy(), kind="TABLE", actions=[exp.ColumnDef(
            this=exp.to_identifier("transaction_id", quoted=True), kind=exp.DataType.build("VARCHAR"), exists=True)]))
        missing = exp.not_(exp.Exists(this=exp.select("1").from_(self.table.copy()).where(self._named())))
        self._run(exp.insert(exp.select(exp.Literal.string(LOCK_NAME), exp.null(), exp.null(), exp.null())
                             .where(missing), self.table.copy()))
        while not self._claim():
            if not wait:
                raise RunError(BUSY.format(target=self.adapter.description) + f" (lock held: {self._held_by()})")
            time.sleep(LOCK_POLL_SECONDS)
        self._beat = threading.Thread(target=self._heartbeat, name="segwarehouse lock heartbeat", daemon=True)
        self._beat.start()

    def _claim(self) -> bool:
        stale_before = exp.DateAdd(this=self._now(), expression=exp.Literal.number(-STALE_SECONDS),
                                   unit=exp.var("SECOND"))
        stale = exp.LT(this=self._col("heartbeat_at"), expression=stale_before)
        free = exp.or_(exp.Is(this=self._col("holder"), expression=exp.null()), stale.copy())
        # the transaction a dead holder left open, read before the claim overwrites the row
        left_open = [t for (t,) in self._run(
            exp.select(self._col("transaction_id")).from_(self.table.copy())
            .where(exp.and_(self._named(), stale.copy(), exp.not_(exp.Is(this=self._col("transaction_id"),
                                                                          expression=exp.null()))))) if t]
        claim = exp.update(self.table.copy(), {"holder": exp.Literal.string(self.holder), "heartbeat_at": self._now(),
                                               "transaction_id": exp.null()},
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
        for transaction in left_open:
            self._abort(transaction)
        return True

    def _abort(self, transaction: str) -> None:
        """End a dead run's transaction so its table locks go now, not when Snowflake times it out."""
        with contextlib.suppress(Exception):  # not ours to abort (another user): LOCK_TIMEOUT bounds the wait
            self._run(exp.select(exp.Anonymous(this="SYSTEM$ABORT_TRANSACTION",
                                               expressions=[exp.Literal.number(int(transaction))])))

    def record_transaction(self, transaction: str | None) -> None:
        """The holder's open apply transaction (None once it ended), for a takeover to abort."""
        value = exp.Literal.string(str(transaction)) if transaction is not None else exp.null()
        self._run(exp.update(self.table.copy(), {"transaction_id": value}, where=self._mine()))

    def _held_by(self) -> str:
        rows = self._run(exp.select(self._col("holder"), self._col("heartbeat_at")).from_(self.table.copy())
                         .where(self._named()))
        return ", ".join(f"{h} since {t}" for h, t in rows if h) or "released meanwhile"

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a missed beat only brings staleness closer
                self._run(exp.update(self.table.copy(), {"heartbeat_at": self._now()}, where=self._mine()))

    def _release_rows(self) -> None:
        self._run(exp.update(self.table.copy(), {"holder": exp.null(), "heartbeat_at": exp.null(),
                                                 "transaction_id": exp.null()}, where=self._mine()))

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with contextlib.suppress(Exception):  # a lost connection: the lock goes stale on its own
            self._release_rows()
        with contextlib.suppress(Exception):
            self.con.close()

