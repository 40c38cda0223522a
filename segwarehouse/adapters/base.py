"""What every adapter offers. Capabilities are declared as data and read by the adapter's own verbs
(create_temp, replace_view, json_text, column_types), never branched on by engine name elsewhere."""
from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.errors import ParseError

from .. import interrupts
from ..compiler.dialects import normalize, render
from ..compiler.literals import cast
from ..errors import RunError, ValidationError

INSERT_BATCH = 500  # rows per INSERT .. VALUES statement where the driver has no fast bulk path


@dataclass(frozen=True)
class Setting:
    """One profile setting of a target type, checked by project/profiles.py."""
    kind: type = str
    required: bool = False
    secret: bool = False  # its value is never repeated in a message


# Reports one problem with a target's settings: (the setting it is about, or None for the target, message).
Report = Callable[[Optional[str], str], None]


class Adapter:
    dialect = "duckdb"
    # --- profile settings (profiles.yml), as data ------------------------------------------------
    SETTINGS: dict[str, Setting] = {"threads": Setting(int)}
    # --- capabilities, read by the verbs below and by materialize/ -------------------------------
    TRANSACTIONAL_DDL = True          # CREATE/DROP inside BEGIN..COMMIT roll back with it
    SUPPORTS_REPLACE_TABLE = True     # CREATE OR REPLACE [TEMPORARY] TABLE
    MAX_IDENTIFIER_LENGTH: int | None = None
    JSON_TEXT_WITH_TO_JSON = False    # JSON -> text needs TO_JSON (a plain CAST fails on objects)
    VIEWS_RESOLVE_IN_OWN_SCHEMA = True  # unqualified names in a view resolve in the view's schema

    @classmethod
    def check_settings(cls, settings: dict[str, Any], report: Report) -> None:
        """Rules the SETTINGS spec cannot say (one of several ways to log in, ...)."""

    @classmethod
    def prepare(cls, settings: dict[str, Any], project_dir: Path, file: Optional[str],
                lines: dict[str, int]) -> dict[str, Any]:
        """Checked settings made ready to connect (paths resolved against the project, ...).
        `file` and `lines` locate each setting in profiles.yml (file None: the embedded default)."""
        return settings

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
        """The text sent to the engine: what `compile --dialect` prints for the same tree."""
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

    def load_text_column(self, target: exp.Table, column: str, values: Sequence[str]) -> None:
        """Fill one text column of an existing table with many values (static segments' CSV
        values), exactly as given. Engines override this with their bulk path."""
        self.insert_rows(target, [column], [(v,) for v in values])

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

    # --- verbs that read the capabilities ----------------------------------------------------
    def create_temp(self, name: str, query: exp.Query) -> None:
        """A temporary table from a query, replacing one of the same name."""
        create = exp.Create(this=exp.table_(name, quoted=True), kind="TABLE", expression=query,
                            replace=self.SUPPORTS_REPLACE_TABLE,
                            properties=exp.Properties(expressions=[exp.TemporaryProperty()]))
        if not self.SUPPORTS_REPLACE_TABLE:
            self.drop_temp(name)
        self.execute(create)

    def drop_temp(self, name: str) -> None:
        self.execute(exp.Drop(tables=[exp.table_(name, quoted=True)], kind="TABLE", exists=True))

    def replace_view(self, view: exp.Table, query: exp.Query) -> None:
        """CREATE OR REPLACE VIEW. Where a view resolves unqualified names in its own schema, the
        tables of that schema are named unqualified, so the view keeps working however the
        database is opened later (a DuckDB file's catalog is named after how it was attached)."""
        if self.VIEWS_RESOLVE_IN_OWN_SCHEMA:
            for table in query.find_all(exp.Table):
                if view.db and table.db == view.db and not table.catalog:
                    table.set("db", None)
        self.execute(exp.Create(this=view, kind="VIEW", expression=query, replace=True))

    def json_text(self, value: exp.Expression) -> exp.Expression:
        """A JSON value as text, to compare two of them."""
        return exp.JSONFormat(this=value) if self.JSON_TEXT_WITH_TO_JSON else cast(value, "VARCHAR")

    def demo_connection(self):
        """A connection the demo data generator bulk-loads through (DuckDB's own API)."""
        raise RunError("`demo` writes into DuckDB targets only")

    # --- catalog ----------------------------------------------------------------------------
    def column_types(self, table: exp.Table) -> dict[str, str] | None:
        """{column: type} of a table, or None when it does not exist. Names are looked up as the
        engine resolves them (normalized like every rendered name); types are spelled as DuckDB
        spells them (the dialect compiled trees are built in)."""
        table = normalize(table.copy(), self.dialect)
        schema = exp.Literal.string(table.db) if table.db else self._default_schema()
        query = (exp.select(exp.column("column_name"), exp.column("data_type")).from_(self._columns_view(table))
                 .where(self._name_is(exp.column("table_name"), exp.Literal.string(table.name)))
                 .where(self._name_is(exp.column("table_schema"), schema)))
        catalog = self._catalog_of(table)
        if catalog is not None:
            query = query.where(self._name_is(exp.column("table_catalog"), catalog))
        rows = self.execute(query.order_by(exp.column("ordinal_position")))
        return {self._project_name(name): self._tree_type(kind) for name, kind in rows} or None

    def table_exists(self, table: exp.Table) -> bool:
        return self.column_types(table) is not None

    # Catalog hooks: where the engine lists columns, and how its names read back.
    def _columns_view(self, table: exp.Table) -> exp.Table:
        return exp.table_("columns", db="information_schema")

    def _default_schema(self) -> exp.Expression:
        return exp.func("current_schema")

    def _catalog_of(self, table: exp.Table) -> Optional[exp.Expression]:
        return exp.Literal.string(table.catalog) if table.catalog else None

    def _name_is(self, column: exp.Expression, name: exp.Expression) -> exp.Expression:
        """Catalog name = name, as the engine compares names: case-blind where names are."""
        if Dialect.get_or_raise(self.dialect).normalization_strategy in (
                NormalizationStrategy.CASE_INSENSITIVE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE):
            return exp.Lower(this=column).eq(exp.Lower(this=name))
        return column.eq(name)

    def _project_name(self, name: str) -> str:
        return name

    def _tree_type(self, engine_type: str) -> str:
        return tree_type(engine_type, self.dialect)

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


BUSY = ("another run is using {target}; try again once it has finished (`run` and `sync` wait for it "
        "with --wait; the Python API with wait=True)")
