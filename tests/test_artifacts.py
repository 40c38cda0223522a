"""Artifacts for orchestrators: target/manifest.json in dbt's shape (nodes, sources, seeds, lineage in
depends_on.nodes, parent and child maps, compiled files that exist), target/run_results.json, and the
JSON event lines of `--log-format json` (numbers as numbers, failures at level error, validation
problems as {file, line, message})."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import write_project
from test_run_invariants import FAILING, _isolated_profiles, cli, create_small_tables, write_vip  # noqa: F401

PROJECT = """\
name: t
people:
  table: main.users
  key: user_id
  identifiers: {email: email}
streams:
  event: {table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: properties}
  login: {table: main.logins, key: user_id, timestamp: at, name: kind}
"""
SEGMENTS = {
    "core/pro.yml": "name: pro\nwhere: {attribute: plan, equals: pro}\n",
    "core/buyers.yml": "name: buyers\nwhere: {event: purchase, within: 30d}\n",
    "vip.yml": "name: vip\nstatic: {csv: data/vip.csv, column: email, match_on: email}\n",
    "mix.yml": "name: mix\nwhere:\n  all:\n    - segment: pro\n    - segment: vip\n    - {login: web, within: 7d}\n",
}


def manifest_of(root: Path) -> dict:
    return json.loads((root / "target" / "manifest.json").read_text())


def project(tmp_path) -> Path:
    root = write_project(tmp_path / "proj", SEGMENTS, project_yml=PROJECT)
    write_vip(root, ["a@example.org"])
    return root


def test_manifest_has_sources_seeds_and_lineage_a_dbt_tool_can_join(tmp_path):
    root = project(tmp_path)
    assert cli(root, "validate").returncode == 0
    m = manifest_of(root)
    assert set(m["sources"]) == {"source.t.people.users", "source.t.streams.event", "source.t.streams.login"}
    event = m["sources"]["source.t.streams.event"]
    assert (event["resource_type"], event["schema"], event["identifier"], event["loaded_at_field"]) == \
        ("source", "main", "events", "occurred_at")
    assert m["sources"]["source.t.people.users"]["relation_name"] == "main.users"
    nodes = m["nodes"]
    assert nodes["seed.t.vip"]["original_file_path"] == "data/vip.csv"
    parents = {uid.rsplit(".", 1)[1]: n["depends_on"]["nodes"] for uid, n in nodes.items() if uid.startswith("segment.")}
    assert parents == {
        "pro": ["source.t.people.users"],
        "buyers": ["source.t.people.users", "source.t.streams.event"],
        "vip": ["source.t.people.users", "seed.t.vip"],
        "mix": ["source.t.people.users", "source.t.streams.login", "segment.t.pro", "segment.t.vip"],
    }
    assert nodes["segment.t.buyers"]["fqn"] == ["t", "core", "buyers"]
    assert nodes["segment.t.mix"]["relation_name"] == "segwarehouse.mix"
    # the maps cover every node and source, and agree with each other
    assert set(m["parent_map"]) == set(nodes) | set(m["sources"]) == set(m["child_map"])
    for child, ps in m["parent_map"].items():
        for parent in ps:
            assert child in m["child_map"][parent]
    assert sorted(m["child_map"]["source.t.streams.login"]) == ["segment.t.mix"]
    assert sorted(m["child_map"]["seed.t.vip"]) == ["segment.t.vip"]


def test_manifest_lists_only_compiled_files_that_exist(tmp_path):
    root = project(tmp_path)
    assert cli(root, "compile", "-s", "pro", "--dialect", "snowflake").returncode == 0
    nodes = manifest_of(root)["nodes"]
    pro = nodes["segment.t.pro"]
    assert pro["compiled_path"] == str(root / "target" / "compiled" / "snowflake" / "pro.sql")
    assert set(pro["compiled_paths"]) == {"snowflake"}
    assert all(Path(p).is_file() for n in nodes.values() for p in n.get("compiled_paths", {}).values())
    assert nodes["segment.t.buyers"]["compiled_path"] is None and nodes["segment.t.buyers"]["compiled_paths"] == {}
    assert cli(root, "compile", "-s", "pro buyers", "--dialect", "duckdb").returncode == 0
    nodes = manifest_of(root)["nodes"]
    assert set(nodes["segment.t.pro"]["compiled_paths"]) == {"duckdb", "snowflake"}
    assert set(nodes["segment.t.buyers"]["compiled_paths"]) == {"duckdb"}
    (root / "target" / "compiled" / "snowflake" / "pro.sql").unlink()
    assert cli(root, "validate").returncode == 0
    assert set(manifest_of(root)["nodes"]["segment.t.pro"]["compiled_paths"]) == {"duckdb"}


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs_and_run_results_carry_numbers_levels_and_times(tmp_path):
    root = write_project(tmp_path / "proj", FAILING)
    create_small_tables(root)
    done = cli(root, "run", "--as-of", "2026-10-01", log_json=True)
    assert done.returncode == 1, done.stderr
    records = json_lines(done.stdout)
    finished = {r["segment"]: r for r in records if r["event"] == "segment_finished"}
    assert finished["a_broken"]["level"] == "error" and finished["pro_users"]["level"] == "info"
    assert finished["refs_broken"]["level"] == "warn"  # skipped because of a failure
    for key in ("members", "entered", "exited", "updated"):
        assert type(finished["pro_users"][key]) is int
    assert isinstance(finished["pro_users"]["seconds"], float)
    [summary] = [r for r in records if r["event"] == "run_summary"]
    rows = {row["segment"]: row for row in summary["rows"]}
    assert rows["pro_users"]["members"] == finished["pro_users"]["members"] > 0
    assert rows["a_broken"]["members"] is None  # failed: no count to show, its members are kept
    assert isinstance(rows["pro_users"]["seconds"], float)
    assert summary["title"].endswith("at 2026-10-01T00:00:00Z")
    [started] = [r for r in records if r["event"] == "run_started"]
    assert started["as_of"] == "2026-10-01T00:00:00Z"
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    by = {r["segment"]: r for r in results}
    assert by["pro_users"]["as_of"] == "2026-10-01T00:00:00Z"
    assert by["pro_users"]["counts"]["members"] == rows["pro_users"]["members"]
    assert all(type(v) is int for r in results for v in r["counts"].values())
    assert all(isinstance(r["execution_time"], float) for r in results)
    assert (by["a_broken"]["status"], by["refs_broken"]["status"]) == ("error", "skipped")


def test_json_logs_list_validation_problems(tmp_path):
    root = write_project(tmp_path / "proj", {
        "a.yml": "name: a\nwhere: {attribute: plan, equalz: pro}\n",
        "b.yml": "name: b\ndescription: x\nwhere: {evnt: purchase}\n"})
    done = cli(root, "validate", log_json=True)
    assert done.returncode == 2
    [record] = [r for r in json_lines(done.stdout) if r["level"] == "error"]
    assert record["event"] == "validation_failed"
    assert [(e["file"], e["line"]) for e in record["errors"]] == [("segments/a.yml", 2), ("segments/b.yml", 3)]
    assert "did you mean 'equals'" in record["errors"][0]["message"]
    assert all(set(e) == {"file", "line", "message"} for e in record["errors"])


def test_ls_labels_its_enabled_column_and_unlocated_errors_have_no_placeholder(tmp_path):
    root = write_project(tmp_path / "proj", {"a.yml": "name: a\nwhere: {attribute: plan, equals: pro}\n",
                                             "b.yml": "name: b\nenabled: false\nwhere: {attribute: plan, equals: x}\n"})
    done = cli(root, "ls")
    header = next(line for line in done.stdout.splitlines() if "segment" in line and "kind" in line)
    assert header.replace("┃", " ").split()[-1] == "enabled", header
    rows = {line.split()[1]: line.split()[-2] for line in done.stdout.splitlines() if line.startswith("│")}
    assert rows == {"a": "yes", "b": "no"}, done.stdout
    bad = cli(root, "run", "--as-of", "tomorrow")
    assert bad.returncode == 2 and "<input>" not in bad.stderr + bad.stdout and "--as-of 'tomorrow'" in bad.stderr


def test_diff_writes_a_run_results_row_per_segment(tmp_path):
    """Every command writes run_results.json with its segments (SPEC section 11): diff too, with
    its statuses and counts, and without writing anything else."""
    root = write_project(tmp_path / "proj", FAILING)
    create_small_tables(root)
    cli(root, "run", "--as-of", "2026-10-01")
    done = cli(root, "diff", "--as-of", "2026-10-02")
    assert done.returncode == 1, done.stderr  # a_broken still fails
    results = json.loads((root / "target" / "run_results.json").read_text())
    by = {r["segment"]: r for r in results["results"]}
    assert results["args"]["as_of"] == "2026-10-02" and set(by) >= {"pro_users", "a_broken", "refs_broken"}
    assert by["pro_users"]["status"] == "unchanged" and by["pro_users"]["as_of"] == "2026-10-02T00:00:00Z"
    assert by["pro_users"]["counts"]["before"] == by["pro_users"]["counts"]["after"] > 0
    assert all(type(v) is int for r in results["results"] for v in r["counts"].values())
    assert by["a_broken"]["status"] == "error" and by["a_broken"]["message"]
