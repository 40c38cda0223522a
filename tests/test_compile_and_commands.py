"""compile (dialects, files, manifest), and the commands without a test file of their own:
init, ls, preview, diff, export, docs."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import duckdb
import pytest

from segwarehouse import Project
from segwarehouse.api import parse_as_of
from segwarehouse.compiler.dialects import SegwarehouseSnowflake, rewrite
from segwarehouse.compiler.plan import standalone_query

from conftest import ROOT, write_project

AS_OF = "2026-11-01T00:00:00Z"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_lean_snowflake_generator_prints_what_sqlglot_prints():
    project = Project(ROOT)
    for name in project.segments:
        tree, needs_rewrites = rewrite(standalone_query(project.loaded.config, project.segments, name,
                                                        parse_as_of(AS_OF)), "snowflake")
        assert not needs_rewrites, name
        assert tree.sql(dialect="snowflake", identify=True) == tree.sql(dialect=SegwarehouseSnowflake, identify=True)


@pytest.mark.parametrize("sql", [
    "EXISTS (SELECT 1 FROM UNNEST([1, 2]) AS t(x) WHERE x = user_id)",
    "user_id IN (SELECT DISTINCT ON (x) x FROM (SELECT 1 AS x) AS t)",                    # DISTINCT ON
    "user_id IN (SELECT SUM(x) OVER w FROM (SELECT 1 AS x) AS t WINDOW w AS (ORDER BY x))",  # named window
])
def test_sql_that_needs_sqlglots_select_rewrites_still_gets_them(make_project, sql):
    project = make_project({"s.yml": f"name: s\nwhere: {{sql: {json.dumps(sql)}}}\n"})
    tree, needs_rewrites = rewrite(standalone_query(project.loaded.config, project.segments, "s",
                                                    parse_as_of(AS_OF)), "snowflake")
    assert needs_rewrites


def test_snowflake_regex_is_a_search_and_try_is_duckdb_only(make_project):
    project = make_project({"s.yml": """\
        name: s
        where:
          all:
            - {attribute: email, matches: "b+"}
            - {event: purchase, where: {properties.amount: {gte: 5}}}
        """})
    snowflake = project.compile(dialect="snowflake", as_of=AS_OF, write=False)["snowflake"]["s"]
    duck = project.compile(dialect="duckdb", as_of=AS_OF, write=False)["duckdb"]["s"]
    assert "REGEXP_INSTR(" in snowflake and "REGEXP_LIKE" not in snowflake
    assert "TRY(" not in snowflake and "TRY(" in duck


def test_compile_writes_files_and_manifest(tmp_path):
    project_dir = write_project(tmp_path / "p", {"a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n",
                                                 "b.yml": "name: b\nwhere: {segment: a}\n"})
    result = cli("--project-dir", str(project_dir), "compile", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    for dialect in ("duckdb", "snowflake"):
        for name in ("a", "b"):
            assert (project_dir / "target" / "compiled" / dialect / f"{name}.sql").read_text().strip()
    manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    assert manifest["parent_map"]["segment.t.b"] == ["source.t.people.users", "segment.t.a"]
    assert manifest["child_map"]["segment.t.a"] == ["segment.t.b"]
    assert manifest["metadata"]["invocation_id"]
    assert json.loads((project_dir / "target" / "run_results.json").read_text())["success"] is True


def _people(project_dir, rows):
    con = duckdb.connect(str(project_dir / "segwarehouse.duckdb"))
    con.execute("CREATE OR REPLACE TABLE main.users (user_id BIGINT, email VARCHAR, plan VARCHAR)")
    con.executemany("INSERT INTO main.users VALUES (?, ?, ?)", rows)
    con.execute("CREATE OR REPLACE TABLE main.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, "
                "properties JSON)")
    con.close()


def test_preview_diff_and_export_write_nothing_until_run(tmp_path):
    project_dir = write_project(tmp_path / "p", {"pro.yml": "name: pro\nfields: [plan]\n"
                                                            "where: {attribute: plan, equals: pro}\n"})
    _people(project_dir, [(1, "a@x.com", "pro"), (2, "b@x.com", "free"), (3, None, "pro")])
    project = Project(project_dir)
    preview = project.preview("pro", as_of=AS_OF)
    assert preview.count == 2 and [r[0] for r in preview.rows] == [1, 3]
    diff = project.diff(as_of=AS_OF).segments[0]
    assert (diff.after, diff.entered, diff.exited, diff.entered_sample) == (2, 2, 0, [1, 3])
    assert project.run(as_of=AS_OF).ok
    _people(project_dir, [(1, "a@x.com", "free"), (2, "b@x.com", "pro"), (3, None, "pro")])
    diff = Project(project_dir).diff(as_of="2026-11-02").segments[0]
    assert (diff.before, diff.after, diff.entered, diff.exited) == (2, 2, 1, 1)
    assert (diff.entered_sample, diff.exited_sample) == ([2], [1])
    con = duckdb.connect(str(project_dir / "segwarehouse.duckdb"))
    assert con.execute("SELECT count(*) FROM segwarehouse.segwarehouse.segment_changes").fetchone()[0] == 2  # the diff wrote nothing
    con.close()
    out = tmp_path / "pro.csv"
    assert Project(project_dir).export("pro", out) == 2
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    # the members of the last run, with the people columns as they are now
    assert [(r["user_id"], r["email"], r["plan"]) for r in rows] == [("1", "a@x.com", "free"), ("3", "", "pro")]


def test_init_scaffolds_a_project_whose_tests_pass(tmp_path):
    result = cli("init", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    assert cli("--project-dir", str(tmp_path / "new"), "test").returncode == 0
    again = cli("init", str(tmp_path / "new"))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_ls_json_lists_selected_segments():
    result = cli("--project-dir", str(ROOT), "ls", "-s", "tag:commerce", "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all("commerce" in r["tags"] for r in rows)


def test_sums_of_amounts_are_exact_decimals(make_project):
    # 0.1 + 0.2 is 0.30000000000000004 in floating point; an amount sum must reach exactly 0.3
    project = make_project({"s.yml": """\
        name: s
        where: {event: purchase, sum: {of: properties.amount, gte: 0.3}}
        tests:
          - name: dimes
            as_of: 2026-11-01T00:00:00Z
            given:
              people: [{user_id: 1}, {user_id: 2}]
              event:
                - {user_id: 1, event_name: purchase, occurred_at: 2026-10-01T00:00:00Z, properties: {amount: 0.1}}
                - {user_id: 1, event_name: purchase, occurred_at: 2026-10-02T00:00:00Z, properties: {amount: 0.2}}
                - {user_id: 2, event_name: purchase, occurred_at: 2026-10-02T00:00:00Z, properties: {amount: 0.29}}
            expect: [1]
        """})
    (result,) = project.test()
    assert result.passed, (result.actual, result.error)


def test_explain_shows_each_condition_and_what_it_measured(tmp_path):
    project_dir = write_project(tmp_path / "p", {
        "pro.yml": "name: pro\nwhere: {attribute: plan, equals: pro}\n",
        "buyers.yml": """\
            name: buyers
            where:
              all:
                - {segment: pro}
                - {event: purchase, within: 30d, count: {gte: 2}}
            """})
    _people(project_dir, [(1, "a@x.com", "pro"), (2, "b@x.com", "free")])
    con = duckdb.connect(str(project_dir / "segwarehouse.duckdb"))
    con.execute("INSERT INTO main.events VALUES (1, '2026-10-20', 'purchase', '{}'), (1, '2026-10-25', 'purchase', '{}'),"
                " (2, '2026-10-25', 'purchase', '{}')")
    con.close()
    member = Project(project_dir).explain("buyers", 1, as_of=AS_OF)
    assert member.member and [s.holds for s in member.steps] == [True, True, True, True]
    assert member.steps[2].values == {"plan": "pro"} and member.steps[3].values == {"count": 2}
    other = Project(project_dir).explain("buyers", "2", as_of=AS_OF)
    assert not other.member and [s.holds for s in other.steps] == [False, False, False, False]
    assert other.steps[3].values == {"count": 1}
    result = cli("--project-dir", str(project_dir), "explain", "buyers", "1", "--as-of", AS_OF)
    assert result.returncode == 0 and "is a member" in result.stdout and "count = 2" in result.stdout
    missing = cli("--project-dir", str(project_dir), "explain", "buyers", "42", "--as-of", AS_OF)
    assert missing.returncode == 1 and "no person" in missing.stderr and "Traceback" not in missing.stderr


def test_docs_catalogue_of_the_example_project(tmp_path):
    result = cli("--project-dir", str(ROOT), "docs", "--output", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    project = Project(ROOT)
    for name, segment in project.segments.items():
        assert f'<section class="segment" id="{name}"' in html
        for ref in segment.depends_on:  # references are links to the referenced segment
            assert f'<a href="#{ref}">{ref}</a>' in html
    assert html.count("<details><summary>Compiled SQL (duckdb)") == len(project.segments)


def test_docs_escape_what_users_write(make_project, tmp_path):
    project = make_project({"s.yml": """\
        name: s
        description: "<script>alert(1)</script> & friends"
        where: {attribute: email, contains: "<b>"}
        """})
    html = project.docs(tmp_path / "out").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html
    assert "whose email contains &#34;&lt;b&gt;&#34;" in html
