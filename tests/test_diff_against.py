"""`diff --against REF` (SPEC section 11): statuses for every kind of change, counts and samples checked
against `preview` of each version run on its own, the JSON shape, the markdown, exit codes; and the
`state:modified` selector. On DuckDB; the one-statement evaluation also on PostgreSQL."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_project
from segwarehouse import Project, ValidationError

AS_OF = "2026-11-01T00:00:00Z"
PROJECT_YML = """\
name: t
people:
  table: main.users
  key: user_id
  identifiers: {email: email}
streams:
  event: {table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: properties}
"""
REF = {
    "buyers.yml": "name: recent_buyers\nwhere: {event: purchase, within: 30d}\n",
    "loyal.yml": "name: loyal\nwhere:\n  all:\n    - segment: recent_buyers\n    - {attribute: plan, in: [pro, business]}\n",
    "pro.yml": "name: pro_plan\ndescription: on pro\ntags: [a]\nwhere: {attribute: plan, equals: pro}\n",
    "gone.yml": "name: gone\nwhere: {attribute: country, equals: US}\n",
    "vips.yml": "name: vips\nstatic: {csv: data/vips.csv, column: user_id, match_on: key}\n",
}
HEAD = {
    **REF,
    "buyers.yml": "name: recent_buyers\nwhere: {event: purchase, within: 7d}\n",
    "pro.yml": "# reformatted\nname: pro_plan\ndescription: people on the pro plan\ntags: [b, c]\nwhere:\n"
               "  attribute: plan\n  equals: pro\n",
    "newcomer.yml": "name: newcomer\nwhere: {attribute: plan, equals: free}\n",
}
del HEAD["gone.yml"]
EXPECTED = {"recent_buyers": "modified", "loyal": "modified", "pro_plan": "unchanged", "gone": "removed",
            "vips": "modified", "newcomer": "added"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


def files(segments: dict, vips: str) -> tuple[dict, dict]:
    return segments, {"data/vips.csv": vips}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repository whose main holds REF, a working tree holding HEAD, and a copy of REF in its own
    directory (the independent computation), both over one DuckDB demo database."""
    base = tmp_path_factory.mktemp("diff")
    db = base / "shop.duckdb"
    profiles = f"t:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{db}'}}\n"
    root = write_project(base / "repo", REF, PROJECT_YML, files={"data/vips.csv": "user_id\n1\n2\n3\n",
                                                                 "profiles.yml": profiles})
    (root / "segwarehouse.yml").write_text(PROJECT_YML.replace("name: t", "name: t\nprofile: t"))
    Project(root).demo(people=400, anchor="2026-11-01")
    (root / ".gitignore").write_text("*.duckdb*\ntarget/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "ref")
    old = write_project(base / "old", REF, PROJECT_YML.replace("name: t", "name: t\nprofile: t"),
                        files={"data/vips.csv": "user_id\n1\n2\n3\n", "profiles.yml": profiles})
    (root / "segments" / "gone.yml").unlink()
    write_project(root, HEAD, PROJECT_YML.replace("name: t", "name: t\nprofile: t"),
                  files={"data/vips.csv": "user_id\n2\n3\n4\n5\n"})
    return root, old


def members(root: Path, name: str) -> set:
    return {row[0] for row in Project(root).preview(name, limit=10**6, as_of=AS_OF).rows}


def test_statuses_counts_and_samples_match_each_version_previewed_alone(repo):
    root, old = repo
    result = Project(root).diff(against="main", as_of=AS_OF, samples=3)
    assert result.ok and result.against == git(root, "rev-parse", "main") and len(result.against) == 40
    assert {s.segment: s.status for s in result.segments} == EXPECTED
    for s in result.segments:
        before = members(old, s.segment) if s.status != "added" else set()
        after = members(root, s.segment) if s.status != "removed" else set()
        entered, exited = after - before, before - after
        assert (s.before, s.after, s.entered, s.exited) == (len(before), len(after), len(entered), len(exited)), s
        assert s.entered_sample == sorted(entered)[:3] and s.exited_sample == sorted(exited)[:3], s
    changed = {s.segment: s for s in result.segments}
    assert changed["recent_buyers"].exited > 0 and changed["vips"].entered == 2 and changed["vips"].exited == 1


def test_working_tree_and_head_are_untouched(repo):
    root, _ = repo
    status = git(root, "status", "--porcelain")
    Project(root).diff(against="main", as_of=AS_OF)
    assert git(root, "status", "--porcelain") == status


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), *args],
                          capture_output=True, text=True)


def test_json_shape_and_exit_codes(repo):
    root, _ = repo
    done = cli(root, "diff", "--against", "main", "--as-of", AS_OF, "--format", "json", "--samples", "2")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == ["as_of", "against", "segments"] and out["as_of"] == AS_OF
    assert out["against"] == git(root, "rev-parse", "main")
    for s in out["segments"]:
        assert list(s) == ["segment", "status", "before", "after", "entered", "exited", "entered_sample",
                           "exited_sample"]
        assert all(isinstance(s[k], int) for k in ("before", "after", "entered", "exited"))
        assert len(s["entered_sample"]) == min(2, s["entered"]) and all(isinstance(k, int) for k in s["entered_sample"])
    bad = cli(root, "diff", "--against", "no-such-branch", "--as-of", AS_OF)
    assert bad.returncode == 2 and "not a revision" in bad.stderr and "Traceback" not in bad.stderr


def test_not_a_git_repository_is_exit_2(repo, tmp_path):
    _, old = repo
    done = cli(old, "diff", "--against", "main", "--as-of", AS_OF)
    if "not inside a git repository" not in done.stderr:  # tmp dirs may sit inside a repository
        pytest.skip("the temporary directory is inside a git repository")
    assert done.returncode == 2


def test_markdown_golden(repo):
    root, _ = repo
    result = Project(root).diff(against="main", as_of=AS_OF, samples=2)
    from segwarehouse.review_output import markdown

    text = markdown(result).replace(result.against[:12], "SHA")
    s = {x.segment: x for x in result.segments}

    def row(name):
        x = s[name]
        keys = lambda ks, n: ", ".join(map(str, ks)) + (", ..." if n > len(ks) else "")  # noqa: E731
        return (f"| `{name}` | {x.status} | {x.before:,} | {x.after:,} | {x.entered:,} | {x.exited:,} | "
                f"{keys(x.entered_sample, x.entered)} | {keys(x.exited_sample, x.exited)} |")

    expected = "\n".join([
        "<!-- segwarehouse-diff -->", "### Segment changes against `main` (`SHA`)", "",
        "Evaluated at `2026-11-01T00:00:00Z` on the same data: 3 modified, 1 added, 1 removed, 1 unchanged.", "",
        "| segment | status | before | after | entered | exited | entered sample | exited sample |",
        "|---|---|---:|---:|---:|---:|---|---|",
        *(row(n) for n in [x.segment for x in result.segments if x.status != "unchanged"]), "",
        f"Unchanged (1): `pro_plan` ({s['pro_plan'].after:,})", "",
        "Samples are the smallest keys. Nothing was written; generated by `segwarehouse diff`.", ""])
    assert text == expected


def test_state_modified_selects_changed_and_dependents(repo):
    root, _ = repo
    project = Project(root)
    assert set(project.select(["state:modified"], state="main")) == {"recent_buyers", "loyal", "vips", "newcomer"}
    assert set(project.select(["pro_plan+"])) == {"pro_plan"}
    assert set(project.select(["recent_buyers+"])) == {"recent_buyers", "loyal"}
    with pytest.raises(ValidationError, match="needs --state"):
        project.select(["state:modified"])
    with pytest.raises(ValidationError, match="not a revision"):
        project.select(["state:modified+"], state="nope")
    done = cli(root, "diff", "-s", "state:modified+", "--state", "main", "--against", "main", "--as-of", AS_OF,
               "--format", "json")
    assert {s["segment"] for s in json.loads(done.stdout)["segments"]} == {"recent_buyers", "loyal", "vips",
                                                                          "newcomer"}
    listed = cli(root, "ls", "-s", "state:modified", "--state", "main", "-o", "json")  # what CI would run
    assert {json.loads(line)["name"] for line in listed.stdout.splitlines()} == {"recent_buyers", "loyal", "vips",
                                                                                "newcomer"}


def test_one_statement_on_postgres(repo, postgres_dsn):
    """The combined flags query of both versions runs on PostgreSQL and agrees with DuckDB."""
    import duckdb
    import psycopg

    from segwarehouse.adapters import adapter_for
    from segwarehouse.project.revision import project_at
    from segwarehouse.review import Review

    root, _ = repo
    con = duckdb.connect(str(root.parent / "shop.duckdb"), read_only=True)
    with psycopg.connect(postgres_dsn, autocommit=True) as pg:
        pg.execute("DROP SCHEMA IF EXISTS main CASCADE")
        pg.execute("CREATE SCHEMA main")
        pg.execute("CREATE TABLE main.users (user_id BIGINT, email TEXT, plan TEXT, country TEXT)")
        pg.execute("CREATE TABLE main.events (user_id BIGINT, event_name TEXT, occurred_at TIMESTAMP, properties JSONB)")
        with pg.cursor().copy("COPY main.users FROM STDIN") as copy:
            for r in con.execute("SELECT user_id, email, plan, country FROM main.users").fetchall():
                copy.write_row(r)
        with pg.cursor().copy("COPY main.events FROM STDIN") as copy:
            for r in con.execute("SELECT user_id, event_name, occurred_at, properties::VARCHAR FROM main.events "
                                 "WHERE event_name = 'purchase'").fetchall():
                copy.write_row(r)
    con.close()
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(postgres_dsn)
    project = Project(root)
    target = {"type": "postgres", "host": info.get("host"), "port": int(info.get("port", 5432)),
              "user": info.get("user"), "dbname": info.get("dbname"), "schema": "public"}
    if info.get("password"):
        target["password"] = info["password"]
    from segwarehouse.api import parse_as_of

    with project_at(root, "main") as (revision, previous), adapter_for(target) as adapter:
        adapter.connect()
        on_pg = Review(adapter, project.loaded, previous, revision).diff(None, None, parse_as_of(AS_OF), 3)
    on_duckdb = project.diff(against="main", as_of=AS_OF, samples=3)
    assert on_pg.ok, on_pg.failures()
    assert [s.as_dict() for s in on_pg.segments] == [s.as_dict() for s in on_duckdb.segments]
