"""Golden SQL: the example project compiled for every dialect, compared with tests/golden/<dialect>/.

After a deliberate change to the generated SQL, regenerate the files and review the diff:

    SEGWAREHOUSE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_sql.py

The update mode fails every test it regenerates, so it never passes silently (in CI, or with a
stray environment variable).

The update mode fails every test it regenerates, so it can never pass silently (in CI or by a
stray environment variable).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot

from segwarehouse import Project
from segwarehouse.compiler.dialects import COMPILE_ONLY, EXECUTED

from conftest import ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
AS_OF = "2026-11-01T00:00:00Z"
UPDATE = os.environ.get("SEGWAREHOUSE_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("dialect", EXECUTED + COMPILE_ONLY)
def test_example_project_compiles_to_the_golden_sql(dialect):
    # offline: the golden files must not depend on whether a demo database sits in the checkout
    compiled = Project(ROOT).compile(dialect=dialect, as_of=AS_OF, write=False, offline=True)[dialect]
    folder = GOLDEN / dialect
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.sql"):
            stale.unlink()
        for name, sql in compiled.items():
            (folder / f"{name}.sql").write_text(sql)
        pytest.fail(f"regenerated tests/golden/{dialect}: review the diff, then run without the variable")
    golden = {path.stem: path.read_text() for path in folder.glob("*.sql")}
    assert set(compiled) == set(golden), "segments added or removed: regenerate (see this file's docstring)"
    changed = [name for name in compiled if compiled[name] != golden[name]]
    assert not changed, f"{dialect} SQL changed for {changed}: review, then regenerate (see this file's docstring)"
    for name, sql in compiled.items():  # and every file is SQL the dialect's parser reads back
        assert sqlglot.parse_one(sql, read=dialect) is not None, name
