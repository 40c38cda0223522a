"""dbt habits (issue 8.7) and a thin CLI (ARCHITECTURE-REVIEW 7.7): `-s a b`, global options after the
command, the README's Python example as written, failures visible from Python (`ok`,
`raise_for_failures()`), run_results rows shaped in artifacts.py, and a manifest that points only
at compiled files that exist."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, write_project
from test_compile_and_commands import _people as people  # people and events tables in DuckDB
from segwarehouse import Project
from segwarehouse.artifacts import results_of_run, results_of_sync, results_of_tests
from segwarehouse.errors import RunError
from segwarehouse.sync.engine import SyncResult

AS_OF = "2026-11-01T00:00:00Z"
SEGMENTS = {
    "a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n",
    "b.yml": "name: b\nwhere: {attribute: plan, equals: free}\n",
    "c.yml": "name: c\nwhere: {segment: a}\n",
}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGWAREHOUSE_")}
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def listed(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line)["name"] for line in result.stdout.splitlines()]


@pytest.fixture
def project_dir(tmp_path):
    return write_project(tmp_path / "p", SEGMENTS)


# --- -s a b --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("words", [
    ["-s", "a", "b"],            # dbt: the words after the option, up to the next option
    ["-s", "a", "-s", "b"],
    ["-s", "a b"],
    ["--select", "a", "b"],
    ["-s", "a", "b", "--exclude", "c"],
])
def test_select_takes_several_words_as_dbt_does(project_dir, words):
    assert listed(cli("--project-dir", str(project_dir), "ls", *words, "--output", "json")) == ["a", "b"]


def test_exclude_takes_several_words_too(project_dir):
    people(project_dir, [(1, None, "pro"), (2, None, "free")])
    result = cli("--project-dir", str(project_dir), "run", "--exclude", "b", "c", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    rows = json.loads((project_dir / "target" / "run_results.json").read_text())["results"]
    assert [r["segment"] for r in rows] == ["a"]


# --- global options after the command ------------------------------------------------------------------
def test_global_options_after_the_command(project_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert listed(cli("ls", "--project-dir", str(project_dir), "--output", "json", cwd=elsewhere)) == ["a", "b", "c"]
    logged = cli("validate", "--project-dir", str(project_dir), "--log-format", "json", cwd=elsewhere)
    assert logged.returncode == 0 and json.loads(logged.stdout.splitlines()[-1])["event"] == "validated"

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text("t:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: dev.duckdb}\n")
    wrong = cli("run", "--project-dir", str(project_dir), "--profiles-dir", str(profiles), "--target", "pg")
    assert wrong.returncode == 2 and "pg" in wrong.stderr and "dev" in wrong.stderr, wrong.stderr
    # after the command wins over before it
    both = cli("--target", "dev", "run", "--project-dir", str(project_dir), "--profiles-dir", str(profiles),
               "--target", "pg")
    assert both.returncode == 2 and "pg" in both.stderr


def test_vars_after_the_command(tmp_path):
    root = write_project(tmp_path / "v", {"a.yml": "name: a\nwhere: {attribute: plan, equals: \"{{ var('p') }}\"}\n"},
                         "name: t\npeople: {table: main.users, key: user_id}\nvars: {p: pro}\n")
    result = cli("compile", "--project-dir", str(root), "--dialect", "duckdb", "--vars", "{p: enterprise}")
    assert result.returncode == 0, result.stderr
    assert "'enterprise'" in (root / "target" / "compiled" / "duckdb" / "a.sql").read_text()


# --- failures visible from Python ---------------------------------------------------------------------
def test_a_run_with_failed_segments_is_visible_from_python(tmp_path):
    root = write_project(tmp_path / "f", {**SEGMENTS, "bad.yml": "name: bad\nwhere: {sql: \"no_such_column > 1\"}\n"})
    people(root, [(1, None, "pro"), (2, None, "free")])
    result = Project(root).run(as_of=AS_OF)
    assert not result.ok
    with pytest.raises(RunError, match=r"1 segment\(s\) failed: bad \(error\)"):
        result.raise_for_failures()
    good = Project(root).run(select=["a", "b"], as_of="2026-11-02")
    assert good.ok and good.raise_for_failures() is good


def test_failed_tests_and_syncs_are_visible_from_python(tmp_path):
    root = write_project(tmp_path / "t", {"a.yml": """\
        name: a
        where: {attribute: plan, equals: pro}
        tests:
          - {name: right, as_of: 2026-11-01, given: {people: [{user_id: 1, plan: pro}]}, expect: [1]}
          - {name: wrong, as_of: 2026-11-01, given: {people: [{user_id: 1, plan: pro}]}, expect: []}
        """})
    tests = Project(root).test()
    assert [t.passed for t in tests] == [True, False] and not tests.ok
    with pytest.raises(RunError, match=r"1 test\(s\) failed: a\.wrong .*expected \[\], got \[1\]"):
        tests.raise_for_failures()
    from segwarehouse.api import SyncResults

    syncs = SyncResults([SyncResult("a", "crm"), SyncResult("a", "esp", status="error", error="HTTP 500")])
    with pytest.raises(RunError, match=r"1 subscription\(s\) failed: a -> esp: HTTP 500"):
        syncs.raise_for_failures()
    assert SyncResults([SyncResult("a", "crm")]).ok


# --- the README's Python example, as written ----------------------------------------------------------
def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs_as_written_after_make_demo(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in ("segwarehouse.yml", "segments", "macros", "data"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, demo / name)
    for step in (["demo"], ["run"]):  # what `make demo` runs
        assert cli(*step, cwd=demo).returncode == 0
    result = subprocess.run([sys.executable, "-c", readme_python_example()], cwd=demo, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the printed rows (DuckDB may also draw a progress bar on stdout when a query is slow)
    rows = [line.split() for line in result.stdout.splitlines() if re.fullmatch(r"\w+ \w+( \d+){3}", line)]
    assert rows and {row[1] for row in rows} == {"success"}, result.stdout
    assert int(result.stdout.splitlines()[-1]) > 0  # the preview's count


# --- a thin CLI: rows in artifacts.py, compiled files that exist -------------------------------------
def test_run_results_rows_are_shaped_in_artifacts_not_in_the_cli():
    source = (ROOT / "segwarehouse" / "cli.py").read_text()
    assert '"status":' not in source and '"compiled" /' not in source
    rows = results_of_sync("p", [SyncResult("a", "crm", sent=3)])
    assert rows[0]["unique_id"] == "sync.p.a.crm" and rows[0]["counts"]["sent"] == 3


def test_the_cli_writes_the_rows_the_python_api_shapes(project_dir):
    people(project_dir, [(1, None, "pro"), (2, None, "free")])
    result = Project(project_dir).run(as_of=AS_OF)
    assert cli("--project-dir", str(project_dir), "run", "--as-of", "2026-11-02").returncode == 0
    written = json.loads((project_dir / "target" / "run_results.json").read_text())["results"]
    shaped = results_of_run("t", result)
    assert [sorted(r) for r in written] == [sorted(r) for r in shaped]
    assert [r["unique_id"] for r in written] == [r["unique_id"] for r in shaped]
    assert results_of_tests([]) == []


def test_the_manifest_points_only_at_compiled_files_that_exist(project_dir):
    assert cli("--project-dir", str(project_dir), "validate").returncode == 0
    manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    assert [n["compiled_path"] for n in manifest["nodes"].values()] == [None, None, None]
    assert cli("--project-dir", str(project_dir), "compile", "-s", "a", "--dialect", "duckdb").returncode == 0
    manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    paths = {n["name"]: n["compiled_path"] for n in manifest["nodes"].values()}
    assert paths["b"] is None and paths["c"] is None
    assert Path(paths["a"]) == project_dir / "target" / "compiled" / "duckdb" / "a.sql" and Path(paths["a"]).is_file()
    results = json.loads((project_dir / "target" / "run_results.json").read_text())["results"]
    assert [Path(r["compiled_path"]).is_file() for r in results] == [True]


def test_tables_print_brackets_as_written(capsys):
    """Cells are text, not rich markup: `in [pro, team]` and a key like `[vip]` keep their brackets."""
    from segwarehouse.console import TextConsole

    TextConsole().table("[title] kept", ["condition", "members"], [["attribute plan in [pro, team]", 3],
                                                                    ["[vip]", 1234]])
    out = capsys.readouterr().out
    assert "[title] kept" in out and "attribute plan in [pro, team]" in out and "[vip]" in out and "1,234" in out
