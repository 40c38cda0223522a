"""What every adapter offers; capabilities are declared as data, not if-chains on engine names."""
from __future__ import annotations

import contextlib
import hashlib
from typing import Any, Callable, Iterator, Sequence

from sqlglot import exp
from sqlglot.errors import ParseError

from .. import interrupts
from ..compiler.dialects import render
from ..errors import ValidationError

INSERT_BATCH = 500  # rows per INSERT .. VALUES statement where the driver has no fast bulk path


class Adapter:
    dialect = "duckdb"
    # --- capabilities (read by materialize/, never branch on `dialect`) --------------------------
    SUPPORTS_TRANSACTIONS = True
    TRANSACTIONAL_DDL = True          # CREATE/DROP inside BEGIN..COMMIT roll back with it
    SUPPORTS_REPLACE_TABLE = True     # CREATE OR REPLACE [TEMPORARY] TABLE
    SUPPORTS_MERGE = True
    SUPPORTS_TEMP_TABLES = True
    IDENTIFIER_CASE = "insensitive"   # how unquoted names fold: insensitive, lower, upper
    MAX_IDENTIFIER_LENGTH: int | None = None
    JSON_TEXT_WITH_TO_JSON = False    # JSON -> text needs TO_JSON (a plain CAST fails on objects)
    VIEWS_RESOLVE_IN_OWN_SCHEMA = True  # unqualified names in a view resolve in the view's schema
    # Tree rewrites this engine needs before rendering, beyond compiler/dialects.py's rules.
    REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = ()

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings

    # --- connection -------------------------------------------------------------------------
    def connect(self, wait: bool = False, lock: bool = False) -> "Adapter":
        """Open the connection; with lock=True also take the target's run lock (SPEC 7, invariant 6):
        fail at once when another run holds it, or with wait=True wait for it."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Adapter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- statements -------------------------------------------------------------------------
    def sql(self, statement: exp.Expression) -> str:
        for rewrite in self.REWRITES:
            statement = statement.transform(rewrite, copy=False)
        return render(statement, self.dialect)

    def execute(self, statement: exp.Expression) -> list[tuple]:
        """Run one statement; its rows, or [] for a statement without a result. Drivers whose
        connection has `execute()` returning a cursor (duckdb, psycopg 3) need nothing more.
        No parameters: the text goes as is, so a `%` in a LIKE pattern stays literal. Once the
        command is interrupted, what the driver raises is `Interrupted` (interrupts.engine_call)."""
        with interrupts.engine_call():
            cursor = self.con.execute(self.sql(statement))
            return cursor.fetchall() if cursor.description else []

    def stream(self, query: exp.Expression, batch: int = 10_000) -> Iterator[tuple]:
        """Rows of a query, fetched in batches (bounded memory)."""
        raise NotImplementedError
        yield

    def insert_rows(self, target: exp.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT .. VALUES in batches, every value a sqlglot literal (quoted by sqlglot)."""
        names = [exp.to_identifier(c, quoted=True) for c in columns]
        for start in range(0, len(rows), INSERT_BATCH):
            values = exp.Values(expressions=[exp.Tuple(expressions=[exp.convert(v) for v in row])
                                             for row in rows[start:start + INSERT_BATCH]])
            self.execute(exp.insert(values, exp.Schema(this=target.copy(), expressions=[n.copy() for n in names])))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN .. COMMIT, rolled back on any exception, an interrupt included. Never commits once
        the command was interrupted; a signal during the COMMIT or ROLLBACK waits for it to end."""
        self._begin()
        committed = attempted = False
        try:
            yield
            with interrupts.committing():
                attempted = True
                self._commit()
                committed = True
        except BaseException:
            if not committed:
                with interrupts.shielded():
                    try:
                        self._rollback()
                    except Exception:  # noqa: BLE001 - after a failed COMMIT or an interrupt, closing rolls back
                        if not (attempted or interrupts.requested()):
                            raise
            raise

    # The statements of a transaction; COMMIT and ROLLBACK bypass execute()'s interrupt check.
    def _begin(self) -> None:
        self.execute(exp.Transaction())

    def _commit(self) -> None:
        self.con.execute(self.sql(exp.Commit()))

    def _rollback(self) -> None:
        self.con.execute(self.sql(exp.Rollback()))

    # --- catalog ----------------------------------------------------------------------------
    def column_types(self, table: str) -> dict[str, str] | None:
        """{column: type} of a `[db.]schema.table`, or None when it does not exist. Types are
        spelled as DuckDB spells them (the dialect compiled trees are built in)."""
        raise NotImplementedError

    @property
    def description(self) -> str:
        return self.dialect


def tree_type(engine_type: str, dialect: str) -> str:
    """An engine's type name spelled the way compiled trees spell types (DuckDB's names); text
    lengths dropped (VARCHAR(16777216) is Snowflake's plain text)."""
    try:
        kind = exp.DataType.build(engine_type, dialect=dialect)
    except (ParseError, ValueError):  # a type sqlglot does not know is kept as the engine spells it
        return engine_type.upper()
    if kind.is_type(*exp.DataType.TEXT_TYPES):
        kind.set("expressions", [])
    return kind.sql("duckdb")


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for a named lock (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big", signed=True)


def missing_driver(engine: str, module: str) -> ValidationError:
    """A target whose driver is not installed: exit 2 with the install command, never a traceback."""
    return ValidationError(f"target type '{engine}' needs the {module} driver: pip install segwarehouse[{engine}]")


BUSY = "another run is using {target}; pass --wait (wait=True) to wait for it to finish"
