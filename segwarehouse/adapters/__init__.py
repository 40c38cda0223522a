"""Engine adapters: connect, execute sqlglot expressions in the engine's dialect, transactions, locks.
Adapters know nothing about conditions or segments."""
from __future__ import annotations

from typing import Any

from ..errors import ValidationError
from .base import Adapter


def adapter_for(settings: dict[str, Any]) -> Adapter:
    """The adapter of a profile target; each adapter imports its driver only when it connects."""
    kind = settings.get("type")
    if kind == "duckdb":
        from .duckdb import DuckDBAdapter

        return DuckDBAdapter(settings)
    if kind == "postgres":
        from .postgres import PostgresAdapter

        return PostgresAdapter(settings)
    if kind == "snowflake":
        from .snowflake import SnowflakeAdapter

        return SnowflakeAdapter(settings)
    raise ValidationError(f"target type '{kind}' cannot execute; supported: duckdb, postgres, snowflake "
                          "(use `compile --dialect` to see SQL for other engines)")
