"""Real engines for the cross-engine tests: load typed tables, run a SELECT, return its rows.

Each engine takes tables as {"schema.table": Table} with portable column types (BIGINT, DOUBLE,
VARCHAR, TIMESTAMP, BOOLEAN, JSON) and maps them to its own; timestamps are naive UTC datetimes,
JSON values are text. The SQL they run is rendered by segwarehouse for the engine's dialect."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp


@dataclass
class Table:
    columns: dict[str, str]  # name -> portable type
    rows: list[tuple] = field(default_factory=list)


class Engine:
    """One engine: `load` replaces tables, `rows` runs a query rendered for `dialect`."""

    name = ""
    dialect = ""
    batch = False  # run many segments as one UNION ALL query (helpers/cross_engine.many_rows)

    def load(self, tables: dict[str, Table]) -> None:
        raise NotImplementedError

    def prepare(self, tree: exp.Expression) -> exp.Expression:
        """The query tree as this engine's tables are named (most: unchanged)."""
        return tree

    def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        pass
