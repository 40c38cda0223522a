"""Table names as the project writes them (`[catalog.]schema.table`) and as trees hold them."""
from __future__ import annotations

from sqlglot import exp


def table_of(name: str) -> exp.Table:
    """`[catalog.]schema.table` as a table expression, every part quoted (rendering folds and
    quotes each part as the engine resolves it)."""
    parts = name.split(".")
    return exp.table_(parts[-1], db=parts[-2] if len(parts) > 1 else None,
                      catalog=parts[-3] if len(parts) > 2 else None, quoted=True)
