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


# --- lift against control, formats for people ----------------------------------------------------------
def test_lift_and_its_interval_match_a_hand_computation():
    from segwarehouse.report import lift

    # p_g = 30/100 = 0.3, p_c = 20/100 = 0.2: lift 0.1; se = sqrt(.3*.7/100 + .2*.8/100) = sqrt(.0037)
    # = 0.0608276; margin = 1.959964 * 0.0608276 = 0.1192199
    diff, low, high = lift(30, 100, 20, 100)
    assert diff == pytest.approx(0.1) and low == pytest.approx(-0.0192199, abs=1e-6)
    assert high == pytest.approx(0.2192199, abs=1e-6)
    assert lift(5, 10, 0, 0) is None and lift(0, 0, 5, 10) is None  # no entrants: no lift
    same = lift(0, 50, 0, 50)
    assert same == (0.0, 0.0, 0.0)  # nobody converts anywhere: no difference, no spread


def test_control_is_the_group_named_control_else_the_first_listed():
    from segwarehouse.report import control_group
    from segwarehouse.spec import model as m

    assert control_group(m.Splits("s", (("variant_a", 45), ("control", 10), ("variant_b", 45)))) == "control"
    assert control_group(m.Splits("s", (("holdout", 10), ("treatment", 90)))) == "holdout"


KNOWN = {"segments.yml": """\
    segments:
      - name: pro
        where: {attribute: plan, equals: pro}
        splits: {salt: exp1, groups: {control: 20, treatment: 80}}
      - name: scored
        where: {attribute: score, gte: 50}
    """}


def _bucket(salt: str, key: int) -> int:
    import hashlib

    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) % 100


def test_split_lift_on_known_members_and_formats(tmp_path):
    """3,000 people; pro = every third (1,000 members); between the runs half of them (the even keys)
    leave pro: without a goal, leaving converts. Every figure is recomputed here from those rules and
    the SPEC's bucket formula, not read from the output tables."""
    import math

    root = write_project(tmp_path / "proj", KNOWN, project_yml=PROJECT)
    con = duckdb.connect(str(root / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE users AS SELECT i AS user_id, CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END AS plan, "
                "i % 100 AS score FROM range(1, 3001) t(i)")
    con.close()
    project = Project(root)
    project.run(as_of="2026-11-01")
    _set(project, "UPDATE users SET plan = 'free' WHERE plan = 'pro' AND user_id % 2 = 0")
    project.run(as_of="2026-11-02")

    entrants = [i for i in range(1, 3001) if i % 3 == 0]
    group = {i: "control" if _bucket("exp1", i) < 20 else "treatment" for i in entrants}
    expected = {}
    for g in ("control", "treatment"):
        people = [i for i in entrants if group[i] == g]
        converted = [i for i in people if i % 2 == 0]
        expected[g] = (len(people), len(converted), len(converted) / len(people))
    (n_c, _, p_c), (n_t, _, p_t) = expected["control"], expected["treatment"]
    margin = 1.959964 * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)

    report = project.report(["pro", "scored"])
    rows = {r["split"]: r for r in report.splits}
    for g, (n, converted, rate) in expected.items():
        assert (rows[g]["entered"], rows[g]["converted"], rows[g]["conversion_rate"]) == (n, converted, round(rate, 4))
        assert rows[g]["control"] == "control"
    assert rows["control"]["lift"] is None
    assert rows["treatment"]["lift"] == pytest.approx(p_t - p_c, abs=1e-4)
    assert rows["treatment"]["lift_low"] == pytest.approx(p_t - p_c - margin, abs=1e-4)
    assert rows["treatment"]["lift_high"] == pytest.approx(p_t - p_c + margin, abs=1e-4)
    assert [(r["members"], r["entered"], r["exited"]) for r in report.history if r["segment"] == "pro"] == \
        [(1000, 1000, 0), (500, 0, 500)]
    scored = len([i for i in range(1, 3001) if i % 100 >= 50])
    assert report.sizes == {"pro": 500, "scored": scored}
    shared = len([i for i in entrants if i % 2 and i % 100 >= 50])
    assert report.overlap == [{"segment": "pro", "other": "scored", "shared": shared,
                               "share_of_segment": round(shared / 500, 4), "share_of_other": round(shared / scored, 4)}]

    # text: thousands separators and percents, lift in percentage points
    table = _cli(project, "report", "-s", "pro", "scored")
    assert table.returncode == 0, table.stderr
    assert "1,000" in table.stdout and "1,500" in table.stdout
    assert f"{round(rows['treatment']['conversion_rate'] * 100, 1):.1f}%" in table.stdout
    assert f"{rows['treatment']['lift'] * 100:+.1f} pp" in table.stdout
    assert "0.5" not in table.stdout.replace("50.0%", "")  # no bare fractions for people
    # json and csv stay numbers
    payload = json.loads(_cli(project, "report", "-s", "pro", "--format", "json").stdout)
    treatment = next(r for r in payload["splits"] if r["split"] == "treatment")
    assert isinstance(treatment["lift"], float) and treatment["lift"] == rows["treatment"]["lift"]
    assert isinstance(treatment["entered"], int)
    long = list(csv.DictReader(io.StringIO(_cli(project, "report", "-s", "pro", "--format", "csv").stdout)))
    assert {r["metric"]: r["value"] for r in long if r["key"] == "treatment"}["lift"] == str(rows["treatment"]["lift"])
    # html: the catalogue's charts
    html = _cli(project, "report", "-s", "pro", "scored", "--format", "html")
    assert html.returncode == 0, html.stderr
    assert html.stdout.count('class="chart size-chart"') == 2 and 'class="chart overlap-heatmap"' in html.stdout
    assert 'class="chart lift-chart"' in html.stdout and "1,000" in html.stdout
    from segwarehouse import charts, docs, report as report_module
    assert report_module.size_chart is charts.size_chart and docs.size_chart is charts.size_chart  # shared code
