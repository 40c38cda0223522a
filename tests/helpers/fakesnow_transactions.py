"""What fakesnow lacks of Snowflake's transaction functions, added as DuckDB macros.

segwarehouse's Snowflake run lock reads CURRENT_TRANSACTION() inside its apply transaction and
calls SYSTEM$ABORT_TRANSACTION(<id>) when it takes over a dead run's lock. fakesnow (DuckDB
underneath) has neither, and a failed statement there aborts the open transaction, so every
Snowflake run in the tests would fail. These macros answer the calls with the shapes Snowflake
documents, without the effect (fakesnow has no lock to free):
- CURRENT_TRANSACTION(): "the transaction id of an open transaction in the current session",
  a number as text (https://docs.snowflake.com/en/sql-reference/functions/current_transaction);
- SYSTEM$ABORT_TRANSACTION(id): "Aborted transaction id: <id>"
  (https://docs.snowflake.com/en/sql-reference/functions/system_abort_transaction).
The statements themselves are checked in tests/test_warehouse_runs.py against a recording adapter.
Functions are looked up in <catalog>.main as well as in the current schema, so each emulated
database gets them when fakesnow creates its own macros."""
from __future__ import annotations

import fakesnow.macros

_ORIGINAL = fakesnow.macros.creation_sql


def _creation_sql(catalog: str) -> str:
    return _ORIGINAL(catalog) + f"""
CREATE OR REPLACE MACRO {catalog}.main.current_transaction() AS CAST(txid_current() AS VARCHAR);
CREATE OR REPLACE MACRO {catalog}.main."system$abort_transaction"(id) AS 'Aborted transaction id: ' || id;
"""


def install() -> None:
    fakesnow.macros.creation_sql = _creation_sql
