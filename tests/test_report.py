"""`report`: size over time, overlap and conversion by split, checked against the output tables
recomputed by hand from the change log."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import duckdb
import pytest

from segwarehouse import Project

from conftest import write_project

SEGMENTS = {
    "segments.yml": """\
        segments:
          - name: pro
            where: {attribute: plan, equals: pro}
            splits: {salt: s1, groups: {treatment: 50, control: 50}}
          - name: big
            where: {attribute: score, gte: 50}
          - name: bigger
            where: {attribute: score, gte: 80}
        """,
}
PROJECT = """\
    name: t
    people: {table: main.users, key: user_id}
    streams: {}
    """


def _project(tmp_path) -> Project:
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT)
    con = duckdb.connect(str(root / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE users AS SELECT i AS user_id, CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END AS plan, "
                "i % 100 AS score FROM range(1, 301) t(i)")
    con.close()
    return Project(root)


def _connect(project: Project) -> duckdb.DuckDBPyConnection:
    """The target file under an alias: its own name would clash with the output schema `segwarehouse`."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{project.dir / 'segwarehouse.duckdb'}' AS w")
    con.execute("USE w")
    return con


def _set(project: Project, sql: str) -> None:
    con = _connect(project)
    con.execute(sql)
    con.close()


def _cli(project: Project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project.dir), *args],
                          capture_output=True, text=True)


def test_report_matches_the_output_tables(tmp_path):
    project = _project(tmp_path)
    project.run(as_of="2026-11-01")
    # a third of the pro people move to free (they "convert" out of the segment), scores shift
    _set(project, "UPDATE users SET plan = 'free' WHERE plan = 'pro' AND user_id % 2 = 0")
    _set(project, "UPDATE users SET score = (score + 30) % 100")
    project.run(as_of="2026-11-02")
    report = project.report()

    con = _connect(project)
    runs = con.execute("SELECT segment, run_id, members, entered, exited FROM segwarehouse.segment_runs "
                       "ORDER BY segment, run_id").fetchall()
    assert [(r["segment"], r["run_id"], r["members"], r["entered"], r["exited"]) for r in report.history] == runs
    assert len(report.history) == 6

    members = {s: {p for (p,) in con.execute("SELECT person_id FROM segwarehouse.segment_members WHERE segment = ?",
                                               [s]).fetchall()} for s in ("pro", "big", "bigger")}
    shared = {(r["segment"], r["other"]): r["shared"] for r in report.overlap}
    assert shared[("big", "bigger")] == len(members["big"] & members["bigger"]) == len(members["bigger"]) > 0
    assert shared[("big", "pro")] == len(members["big"] & members["pro"])
    assert {r["share_of_other"] for r in report.overlap if (r["segment"], r["other"]) == ("big", "bigger")} == {1.0}

    entered = con.execute("SELECT split, person_id FROM segwarehouse.segment_changes "
                          "WHERE segment = 'pro' AND change = 'entered'").fetchall()
    con.close()
    splits = {r["split"]: r for r in report.splits}
    assert set(splits) == {"treatment", "control"}
    for group, row in splits.items():
        people = {p for s, p in entered if s == group}
        assert row["entered"] == len(people) > 0
        assert row["members"] == len(people & members["pro"])
        assert row["converted"] == len(people - members["pro"]) > 0  # without a goal: leaving converts
        assert row["conversion_rate"] == round(row["converted"] / row["entered"], 4)

    with_goal = {r["split"]: r for r in project.report(["pro"], goal="big").splits}
    for group, row in with_goal.items():
        people = {p for s, p in entered if s == group}
        assert row["converted"] == len(people & members["big"])


def test_report_formats_and_errors(tmp_path):
    project = _project(tmp_path)
    assert _cli(project, "report").returncode == 1  # nothing has run yet
    project.run(as_of="2026-11-01")
    as_json = _cli(project, "report", "-s", "pro", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    payload = json.loads(as_json.stdout)
    assert [r["segment"] for r in payload["history"]] == ["pro"] and payload["overlap"] == []
    as_csv = _cli(project, "report", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {"history", "overlap", "splits"} == {r["section"] for r in rows}
    assert {r["metric"] for r in rows if r["section"] == "history"} == {"members", "entered", "exited", "updated"}
    table = _cli(project, "report")
    assert table.returncode == 0 and "conversion_rate" in table.stdout
    bad_goal = _cli(project, "report", "--goal", "bgi")
    assert bad_goal.returncode == 2 and "did you mean 'big'" in bad_goal.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_report_selector_matching_nothing_is_a_usage_error(tmp_path, fmt):
    project = _project(tmp_path)
    project.run(as_of="2026-11-01")
    result = _cli(project, "report", "-s", "nothing_*", "--format", fmt)
    assert result.returncode == 2 and "matches no segment" in result.stderr
