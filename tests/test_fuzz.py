"""Bad input holds under fuzzing (issue 9.4; SPEC sections 3, 4, 11): seeded cases, oracles in tests/fuzzing.py.

CI runs a few hundred cases; run it big with

    SW_FUZZ_CASES=10000 .venv/bin/python -m pytest tests/test_fuzz.py -q -s

(SW_FUZZ_SEED picks another seed; SW_FUZZ_BUDGET the per-case seconds). -s prints the count per outcome.
"""
from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner

import fuzzing
from segwarehouse import Project
from segwarehouse.cli import cli
from segwarehouse.project.templating import Renderer

REPO = Path(__file__).resolve().parent.parent
CASES = int(os.environ.get("SW_FUZZ_CASES", "200"))
SEED = int(os.environ.get("SW_FUZZ_SEED", "94"))
BUDGET = float(os.environ.get("SW_FUZZ_BUDGET", "20"))


@pytest.fixture(scope="module")
def arena(tmp_path_factory) -> fuzzing.Arena:
    """The example project copied, and its demo tables, emptied, in an in-memory DuckDB."""
    root = tmp_path_factory.mktemp("fuzz") / "project"
    root.mkdir()
    for name in ("segwarehouse.yml", "segments", "macros", "data"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    demo = Project(root)
    demo.demo(people=20, anchor="2026-06-01")
    db = duckdb.connect()
    db.execute(f"ATTACH '{root / 'segwarehouse.duckdb'}' AS demo (READ_ONLY)")
    for schema, table in db.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                    "WHERE database_name = 'demo'").fetchall():
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        db.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM demo."{schema}"."{table}" LIMIT 0')
    db.execute("DETACH demo")
    for name, segment in demo.segments.items():
        if segment.static:
            db.execute(f'CREATE TABLE "_sw_static_{name}" ("value" VARCHAR)')
    (root / "segwarehouse.duckdb").unlink()
    return fuzzing.Arena(root, db)


@pytest.fixture(scope="module")
def example_texts() -> dict[str, str]:
    return {str(p.relative_to(REPO / "segments")): p.read_text() for p in sorted((REPO / "segments").rglob("*.yml"))}


@pytest.fixture(scope="module")
def example_docs(arena, example_texts) -> dict:
    """The example segments rendered (macros, vars) and parsed: what structural mutations start from."""
    project = Project(arena.root)
    renderer: Renderer = project.validate().renderer
    return {path: yaml.safe_load(renderer.render(text, path)) for path, text in example_texts.items()}


def run_cases(arena, cases) -> tuple[collections.Counter, list]:
    counts: collections.Counter = collections.Counter()
    failures = []
    for case in cases:
        outcome = fuzzing.check_case(arena, case, BUDGET)
        counts[(case.kind, outcome.label)] += 1
        if outcome.label in fuzzing.FAILURES:
            failures.append((case, outcome))
    return counts, failures


def report(counts: collections.Counter, failures: list) -> str:
    lines = ["outcomes (kind, label): count"]
    lines += [f"  {kind:<10} {label:<9} {n}" for (kind, label), n in sorted(counts.items())]
    totals = collections.Counter()
    for (_, label), n in counts.items():
        totals[label] += n
    lines.append("  total: " + ", ".join(f"{label} {n}" for label, n in sorted(totals.items())))
    for case, outcome in failures[:15]:
        content = case.content if isinstance(case.content, str) else repr(case.content)
        lines.append(f"--- case {case.id} ({case.kind}, {case.file_name!r}, replaces {case.replaces}): "
                     f"{outcome.label}: {outcome.detail}\n{content[:800]}")
    return "\n".join(lines)


def test_fuzzed_segment_files_hold_every_oracle(arena, example_docs, example_texts):
    cases = fuzzing.generate(SEED, CASES, example_docs, example_texts)
    counts, failures = run_cases(arena, cases)
    text = report(counts, failures)
    print("\n" + text)
    labels = {label for _, label in counts}
    # The generators reach both sides: files that validate and compile, and files rejected at a line.
    assert {"valid", "rejected"} <= labels, text
    assert not failures, text


# --- the CLI on a sample: exit 0 or 2, never "internal error", FILE:LINE on exit 2 --------------------
LOCATION = re.compile(r"^\S[^\n]*:\d+: ", re.MULTILINE)


def assert_cli_holds(result_code: int, output: str, case) -> None:
    assert "Traceback" not in output and "internal error" not in output, (case.id, output[-2000:])
    assert result_code in (0, 2), (case.id, result_code, output[-2000:])
    if result_code == 2:
        assert LOCATION.search(output), (case.id, output[-2000:])


def test_cli_on_fuzzed_files_exits_0_or_2_with_file_and_line(arena, example_docs, example_texts):
    cases = fuzzing.generate(SEED + 1, 40, example_docs, example_texts)
    runner = CliRunner()
    seen = collections.Counter()
    for case in cases:
        with arena.placed(case):
            for command in (["validate"], ["compile", "--dialect", "snowflake", "--as-of", fuzzing.AS_OF]):
                with fuzzing.time_budget(BUDGET):
                    result = runner.invoke(cli, ["--project-dir", str(arena.root), *command])
                assert_cli_holds(result.exit_code, result.output, case)
                seen[result.exit_code] += 1
    assert seen[0] and seen[2], seen


NASTY = {
    "control_character": "name: nasty\nwhere: {attribute: plan, equals: \"pro\"}\ndescription: a\x1bb\n",
    "billion_laughs": "name: nasty\nwhere: {attribute: plan, equals: pro}\n"
                      + "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                      + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcde", "bcdef"))
                      + "tags: *f\n",
    "deep_brackets": "name: nasty\nwhere: " + "[" * 50000 + "]" * 50000 + "\n",
    "deep_not": "name: nasty\nwhere: " + "{not: " * 160 + "{attribute: age, gt: 1}" + "}" * 160 + "\n",
    "bad_date": "name: nasty\nwhere: {event: purchase, since: 2026-02-30}\n",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_real_cli_process_on_nasty_files(arena, name):
    """A few real subprocesses: the interpreter, not just the API, survives (a C stack overflow would
    kill it with SIGSEGV, which no in-process check can see)."""
    case = fuzzing.Case(name, "text", NASTY[name])
    with arena.placed(case):
        result = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(arena.root),
                                 "validate"], capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert_cli_holds(result.returncode, output, case)
    assert f"segments/{fuzzing.FUZZ_FILE}:" in " ".join(output.split()).replace(" ", ""), output


# --- the oracles themselves fail when their property is broken ----------------------------------------
def test_oracle_catches_a_hang(arena, monkeypatch):
    import time as time_module

    import segwarehouse.project.loader as loader
    monkeypatch.setattr(loader, "parse_segment", lambda *a, **k: time_module.sleep(5))
    case = fuzzing.Case("hang", "tree", "name: h\nwhere: {attribute: plan, equals: pro}\n")
    assert fuzzing.check_case(arena, case, budget=0.5).label == "hang"


def test_oracle_catches_a_traceback(arena, monkeypatch):
    import segwarehouse.project.loader as loader

    def boom(*a, **k):
        raise IndexError("boom")
    monkeypatch.setattr(loader, "parse_segment", boom)
    case = fuzzing.Case("tb", "tree", "name: t\nwhere: {attribute: plan, equals: pro}\n")
    assert fuzzing.check_case(arena, case, budget=10).label == "traceback"


def test_oracle_catches_a_problem_without_a_line(arena, monkeypatch):
    import segwarehouse.project.loader as loader
    real = loader.parse_segment

    def lineless(raw, ctx, people, line):
        ctx.error(None, "somewhere")
        return real(raw, ctx, people, line)
    monkeypatch.setattr(loader, "parse_segment", lineless)
    case = fuzzing.Case("nl", "tree", "name: t\nwhere: {attribute: plan, equals: pro}\n")
    assert fuzzing.check_case(arena, case, budget=10).label == "no_line"


def test_oracle_catches_a_number_printed_as_an_identifier():
    from segwarehouse.spec import model as m
    condition = m.Attribute("age", (m.Op("gt", float("inf")),))
    assert "identifier 'inf'" in fuzzing.literal_problem(condition, "SELECT * FROM t WHERE age > inf")
    condition = m.Attribute("age", (m.Op("gt", 30),))
    assert "not a number literal" in fuzzing.literal_problem(condition, "SELECT * FROM t WHERE age > '30'")
    assert fuzzing.literal_problem(condition, "SELECT * FROM t WHERE age > 30") is None


def test_oracle_catches_sql_that_does_not_run(arena, monkeypatch):
    monkeypatch.setattr(Project, "compile", lambda self, select=None, dialect=None, **k:
                        {dialect: {n: "SELECT * FROM main.users WHERE no_such_function(plan)" for n in select}})
    case = fuzzing.Case("sql", "tree", "name: t\nwhere: {attribute: plan, equals: pro}\n")
    assert fuzzing.check_case(arena, case, budget=10).label == "bad_sql"


def test_literal_oracle_reads_negative_numbers_and_named_columns():
    from segwarehouse.spec import model as m
    condition = m.Attribute("age", (m.Op("gte", -1),))
    assert fuzzing.literal_problem(condition, "SELECT * FROM t WHERE age >= -1") is None
    assert fuzzing.literal_problem(m.Attribute("30", (m.Op("gt", 1),)), 'SELECT "30" FROM t WHERE "30" > 1') is None
    assert fuzzing.literal_problem(condition, 'SELECT "30" FROM t WHERE age >= -1', fields=("30",)) is None
