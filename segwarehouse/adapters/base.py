"""What every adapter offers; capabilities are declared as data, not if-chains on engine names."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from sqlglot import exp

from ..compiler.dialects import render


class Adapter:
    dialect = "duckdb"
    SUPPORTS_TRANSACTIONS = True
    SUPPORTS_TEMP_TABLES = True

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings

    # --- connection -------------------------------------------------------------------------
    def connect(self, wait: bool = False) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Adapter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- statements -------------------------------------------------------------------------
    def sql(self, statement: exp.Expression) -> str:
        return render(statement, self.dialect)

    def execute(self, statement: exp.Expression) -> list[tuple]:
        raise NotImplementedError

    def stream(self, query: exp.Expression, batch: int = 10_000) -> Iterator[tuple]:
        """Rows of a query, fetched in batches (bounded memory)."""
        raise NotImplementedError
        yield

    def insert_rows(self, target: exp.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    # --- catalog ----------------------------------------------------------------------------
    def column_types(self, table: str) -> dict[str, str] | None:
        """{column: type} of a `[db.]schema.table`, or None when it does not exist."""
        raise NotImplementedError

    @property
    def description(self) -> str:
        return self.dialect
