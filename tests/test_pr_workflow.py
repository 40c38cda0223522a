"""examples/github-actions/segments-pr.yml: parsed as YAML, and its segwarehouse commands run on a throwaway
git repository (main, a clone with origin/main, and a branch that edits a window, adds and removes a segment)."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import write_project
from segwarehouse import Project

WORKFLOW = Path(__file__).resolve().parent.parent / "examples" / "github-actions" / "segments-pr.yml"
PROJECT_YML = """\
name: t
profile: t
people: {table: main.users, key: user_id, identifiers: {email: email}}
streams:
  event: {table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: properties}
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_workflow_runs_tests_and_posts_the_markdown_diff(tmp_path):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["review"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout") and steps[0]["with"]["fetch-depth"] == 0
    commands = [s["run"] for s in steps if "segwarehouse " in s.get("run", "") and not s["run"].startswith("pip")]
    assert any("pr comment" in s.get("run", "") and "segments-diff.md" in s["run"] for s in steps)

    db = tmp_path / "shop.duckdb"
    origin = write_project(tmp_path / "origin", {
        "buyers.yml": "name: buyers\nwhere: {event: purchase, within: 30d}\ntests:\n  - name: one\n"
                      "    as_of: 2026-11-01T00:00:00Z\n    given:\n      people: [{user_id: 1}, {user_id: 2}]\n"
                      "      event: [{user_id: 1, event_name: purchase, occurred_at: 2026-10-28T00:00:00Z}]\n"
                      "    expect: [1]\n",
        "us.yml": "name: us_people\nwhere: {attribute: country, equals: US}\n"}, PROJECT_YML,
        files={"profiles.yml": f"t:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{db}'}}\n"})
    Project(origin).demo(people=300, anchor="2026-11-01")
    (origin / ".gitignore").write_text("*.duckdb*\ntarget/\n")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-q", "-b", "edit")
    (clone / "segments" / "buyers.yml").write_text((clone / "segments" / "buyers.yml").read_text()
                                                   .replace("within: 30d", "within: 7d"))
    (clone / "segments" / "us.yml").unlink()
    (clone / "segments" / "pro.yml").write_text("name: pro_users\nwhere: {attribute: plan, equals: pro}\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "edit")

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        # the workflow's command as written, run by this interpreter at the demo data's as_of
        shell = command.replace("segwarehouse ", f"{shlex.quote(sys.executable)} -m segwarehouse.cli ", 1)
        if " diff " in shell:
            shell = shell.replace(" >", " --as-of 2026-11-01 >")
        done = subprocess.run(shell, shell=True, cwd=clone, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    markdown = (clone / "segments-diff.md").read_text()
    sha = git(clone, "rev-parse", "origin/main")[:12]
    assert markdown.startswith("<!-- segwarehouse-diff -->\n### Segment changes against `origin/main` "
                               f"(`{sha}`)")
    assert "1 modified, 1 added, 1 removed" in markdown
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| `")}
    assert set(rows) == {"`buyers`", "`us_people`", "`pro_users`"}
    assert "| removed |" in rows["`us_people`"] and "| added |" in rows["`pro_users`"]
    assert "| modified |" in rows["`buyers`"]
