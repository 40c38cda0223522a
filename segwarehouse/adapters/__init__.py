"""Engine adapters: connect, execute sqlglot expressions in the engine's dialect, transactions, locks.
Adapters know nothing about conditions or segments.

Each engine declares itself here, by module and class; a module imports its driver only when it
connects, so every engine's settings and capabilities can be read without its driver installed."""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import ValidationError
from .base import Adapter

ADAPTERS = {
    "duckdb": "duckdb:DuckDBAdapter",
    "postgres": "postgres:PostgresAdapter",
    "snowflake": "snowflake:SnowflakeAdapter",
}


def adapter_class(kind: Any) -> type[Adapter]:
    """The adapter class of a target type."""
    if kind not in ADAPTERS:
        raise ValidationError(f"target type '{kind}' cannot execute; supported: {', '.join(ADAPTERS)} "
                              "(use `compile --dialect` to see SQL for other engines)")
    module, name = ADAPTERS[kind].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def adapter_for(settings: dict[str, Any]) -> Adapter:
    """The adapter of a profile target."""
    return adapter_class(settings.get("type"))(settings)
