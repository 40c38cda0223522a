"""`preview SEGMENT --breakdown` (SPEC section 11): exact counts at every node of a segment's condition
tree, checked against the pure-Python reference evaluator on the example project over the demo data.

The expected nodes, paths and lines are read from the segment files themselves (the rendered YAML,
composed by PyYAML), not from segwarehouse's model; each node's expected `holds` is the reference's
count of people for whom that YAML sub-condition holds, `cumulative` the count for whom it and every
earlier child of its `all` hold. Executed on DuckDB through the Python API and the CLI, on PostgreSQL
and on Snowflake (fakesnow) by the SQL rendered for their dialects."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import reference
from conftest import ROOT
from helpers.cross_engine import demo_tables
from segwarehouse import Project
from segwarehouse.adapters.base import Adapter
from segwarehouse.breakdown import Breakdown, NodeCount, breakdown_query, read_breakdown, table_rows
from segwarehouse.compiler.dialects import render
from segwarehouse.compiler.plan import EVALUATION, build_plan
from segwarehouse.spec.graph import closure

ANCHOR = dt.datetime(2026, 11, 1)
PEOPLE, SEED = 400, 11
GROUPS = ("all", "any", "none")


# --- the expectation, from the YAML files and the reference evaluator ---------------------------------

def rendered_text(project: Project, name: str) -> str:
    segment = project.segments[name]
    return project.loaded.renderer.render((project.dir / segment.file).read_text(), segment.file)


def yaml_nodes(raw: dict, path: str = "where"):
    """(path, sub-condition) of every node, as the SPEC spells paths; a sequence's steps are not nodes."""
    yield path, raw
    for key in GROUPS:
        for i, item in enumerate(raw.get(key, ())):
            yield from yaml_nodes(item, f"{path}.{key}[{i}]")
    if "not" in raw:
        yield from yaml_nodes(raw["not"], f"{path}.not")
    if "at_least" in raw:
        for i, item in enumerate(raw["of"]):
            yield from yaml_nodes(item, f"{path}.of[{i}]")


STEP = re.compile(r"\.(\w+)(?:\[(\d+)\])?")


def yaml_line(text: str, path: str) -> int:
    """The line where the value at `path` starts in the YAML text (PyYAML's own parse)."""
    node = yaml.compose(text)
    for key, index in [("where", None)] + [(k, i) for k, i in STEP.findall(path[len("where"):])]:
        node = next(value for k, value in node.value if k.value == key)
        if index not in (None, ""):
            node = node.value[int(index)]
    return node.start_mark.line + 1


def earlier_siblings(path: str) -> list[str] | None:
    """where.all[2] -> [where.all[0], where.all[1], where.all[2]]; None unless a child of an `all`."""
    found = re.fullmatch(r"(.*)\.all\[(\d+)\]", path)
    if not found:
        return None
    return [f"{found.group(1)}.all[{j}]" for j in range(int(found.group(2)) + 1)]


def sql_twin(text: str):
    """A Python twin of each `sql:` condition of the example project (SQL NULL is not true)."""
    if text == "marketing_opt_in AND email IS NOT NULL":
        return lambda p: p["marketing_opt_in"] is True and p["email"] is not None
    found = re.fullmatch(r"lifetime_value >= (\d+)", text)
    if found:
        return lambda p: p["lifetime_value"] is not None and p["lifetime_value"] >= int(found.group(1))
    domains = re.findall(r"'([a-z.]+\.[a-z]+)'", text)
    if text.startswith("lower(split_part(email, '@', 2)) <> ''") and domains:
        def company(p):
            if p["email"] is None:
                return None
            parts = p["email"].split("@")
            domain = (parts[1] if len(parts) > 1 else "").lower()
            return domain != "" and domain not in domains
        return company
    raise AssertionError(f"no Python twin for sql: {text!r}")


class Expected:
    """The reference's counts per node of each segment, over the demo tables."""

    def __init__(self, project: Project, tables: dict):
        config = project.loaded.config
        self.project = project
        self.wheres = {name: yaml.safe_load(rendered_text(project, name))["where"]
                       for name, s in project.segments.items() if not s.static}
        sql = {}
        for where in self.wheres.values():
            for _, c in yaml_nodes(where):
                if "sql" in c:
                    sql[c["sql"]] = sql_twin(c["sql"])

        def rows(table: str) -> list[dict]:
            t = tables[table]
            return [dict(zip(t.columns, row)) for row in t.rows]

        key = config.people.key
        self.people = rows(config.people.table)
        by_person: dict = {}
        for name, stream in config.streams.items():
            for row in rows(stream.table):
                by_person.setdefault(row[stream.key], {}).setdefault(name, []).append(row)
        defs = {name: reference.StreamDef(s.key, s.timestamp, s.name_column, s.properties)
                for name, s in config.streams.items()}
        splits = {name: {"salt": s.splits.salt, "groups": dict(s.splits.groups)}
                  for name, s in project.segments.items() if s.splits}
        self.evaluators = [(person, reference.Evaluator([person], by_person.get(person[key], {}), as_of=ANCHOR,
                                                        key=key, stream_defs=defs, segments=self.wheres, sql=sql,
                                                        time_zone=config.time_zone, splits=splits))
                           for person in self.people]

    def nodes(self, name: str) -> list[dict]:
        text, where = rendered_text(self.project, name), self.wheres[name]
        truth = {path: [ev.holds(c, person) for person, ev in self.evaluators] for path, c in yaml_nodes(where)}
        out = []
        for path, _ in yaml_nodes(where):
            chain = earlier_siblings(path)
            cumulative = None if chain is None else sum(all(truth[p][i] for p in chain)
                                                        for i in range(len(self.people)))
            out.append({"path": path, "line": yaml_line(text, path), "holds": sum(truth[path]),
                        "cumulative": cumulative})
        return out


def without_text(nodes: list[dict]) -> list[dict]:
    return [{k: v for k, v in n.items() if k != "text"} for n in nodes]


# --- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tables():
    return demo_tables(people=PEOPLE, seed=SEED, anchor=ANCHOR)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """A copy of the example project with the same demo data as `tables`, in its own DuckDB file."""
    root = tmp_path_factory.mktemp("example")
    shutil.copy(ROOT / "segwarehouse.yml", root)
    for folder in ("segments", "macros", "data"):
        shutil.copytree(ROOT / folder, root / folder)
    project = Project(root)
    project.demo(people=PEOPLE, seed=SEED, anchor=ANCHOR)
    return project


@pytest.fixture(scope="module")
def expected(example, tables):
    return Expected(example, tables)


def dynamic(project: Project) -> list[str]:
    """Segments the reference can evaluate: not static, and not reading a static segment."""
    return [n for n in project.segments if not any(project.segments[r].static
                                                   for r in closure(project.segments, [n]))]


def engine_breakdown(engine, project: Project, name: str) -> Breakdown:
    plan = build_plan(project.loaded.config, project.segments, [name], ANCHOR)
    query, nodes = breakdown_query(plan, name)
    row = engine.rows(render(engine.prepare(query), engine.dialect))[0]
    return read_breakdown(name, ANCHOR, nodes, row)


# --- DuckDB, through the Python API -------------------------------------------------------------------

def test_every_node_of_every_example_segment_matches_the_reference_on_duckdb(example, expected):
    names = dynamic(example)
    assert len(names) >= 15
    checked_cumulative = 0
    for name in names:
        b = example.breakdown(name, as_of=ANCHOR)
        want = expected.nodes(name)
        assert without_text([n.as_json() for n in b.nodes]) == want, name
        assert b.nodes[0].path == "where" and b.count == b.nodes[0].holds == want[0]["holds"]
        assert b.people == PEOPLE
        checked_cumulative += sum(n["cumulative"] is not None for n in want)
    # the demo data must make the check bite: some nodes hold for some people and not for others
    assert checked_cumulative >= 20


def test_root_holds_is_the_count_of_preview_and_of_run(example):
    run = example.run(as_of=ANCHOR)
    assert run.ok
    members = {r.segment: r.members for r in run.results}
    for name in example.segments:  # the static vip_customers and what reads it included
        b = example.breakdown(name, as_of=ANCHOR)
        assert b.count == b.nodes[0].holds == example.preview(name, as_of=ANCHOR, limit=0).count == members[name], name
    assert any(members.values())
    static = example.breakdown("vip_customers", as_of=ANCHOR)
    assert [(n.path, n.cumulative) for n in static.nodes] == [("static", None)]
    lines = rendered_text(example, "vip_customers").splitlines()
    assert static.nodes[0].line == 1 + next(i for i, line in enumerate(lines) if line.startswith("static:"))


def test_the_breakdown_is_one_query_whose_root_is_the_member_predicate(example, monkeypatch):
    executed = []
    real = Adapter.execute

    def spy(self, statement):
        executed.append(self.sql(statement))
        return real(self, statement)

    monkeypatch.setattr(Adapter, "execute", spy)
    example.breakdown("winback_targets", as_of=ANCHOR)
    evaluating = [sql for sql in executed if f'"{EVALUATION}"' in sql]
    assert len(evaluating) == 1, evaluating
    # every stream the segment reads is scanned in that one statement, and nowhere else
    assert all('"main"."events"' not in sql for sql in executed if sql not in evaluating)

    plan = build_plan(example.loaded.config, example.segments, ["winback_targets"], ANCHOR)
    query, nodes = breakdown_query(plan, "winback_targets")
    inner = query.find(__import__("sqlglot").exp.Subquery).this
    root = inner.expressions[0].this
    assert root.sql("duckdb") == plan.predicate("winback_targets").sql("duckdb")
    # a reference is one node: the referenced segments' trees are not expanded
    assert [n.path for n in nodes] == ["where", "where.all[0]", "where.all[1]", "where.all[2]", "where.all[2].not"]


# --- the command line ---------------------------------------------------------------------------------

def cli(project: Project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(project.dir), *args],
                          capture_output=True, text=True, timeout=120)


def test_json_has_exactly_the_spec_shape(example, expected):
    done = cli(example, "preview", "stalled_learners", "--breakdown", "--as-of", "2026-11-01", "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == ["segment", "as_of", "count", "nodes"]
    assert out["segment"] == "stalled_learners" and out["as_of"] == "2026-11-01T00:00:00Z"
    for node in out["nodes"]:
        assert list(node) == ["path", "line", "text", "holds", "cumulative"]
        assert isinstance(node["text"], str) and node["text"]
    assert without_text(out["nodes"]) == expected.nodes("stalled_learners")
    assert out["count"] == out["nodes"][0]["holds"]
    # stalled_learners: all of [started, not completed, marketable]; the `not` is a node, so is its child
    assert [n["path"] for n in out["nodes"]] == ["where", "where.all[0]", "where.all[1]", "where.all[1].not",
                                                 "where.all[2]"]


def test_text_is_a_funnel_table(example):
    done = cli(example, "preview", "active_users", "--breakdown", "--as-of", "2026-11-01")
    assert done.returncode == 0, done.stderr
    b = example.breakdown("active_users", as_of=ANCHOR)
    assert f"active_users: {b.count:,} member(s) of {PEOPLE:,} people at 2026-11-01T00:00:00Z" in done.stdout
    for node in b.nodes:
        assert node.path in done.stdout
    assert re.search(r"\d+\.\d%", done.stdout)


def test_funnel_rows_use_thousands_separators_and_one_decimal():
    nodes = [NodeCount("where", 7, "all of", 0, 1234, None),
             NodeCount("where.all[0]", 8, "a", 1, 50000, 50000),
             NodeCount("where.all[1]", 10, "b", 1, 2000, 1234)]
    rows = table_rows(Breakdown("s", ANCHOR, 1234, 1_000_000, nodes))
    assert rows[0][3:] == ["1,234", "0.1%", "", ""]
    assert rows[1][3:] == ["50,000", "5.0%", "50,000", "5.0%"]
    assert rows[2][3:] == ["2,000", "0.2%", "1,234", "2.5%"]  # 1,234 of the 50,000 before it
    assert rows[2][0] == "  b"
    empty = table_rows(Breakdown("s", ANCHOR, 0, 0, [NodeCount("where", 7, "x", 0, 0, None)]))
    assert empty[0][4] == "-"


def test_plain_preview_json_and_text_show_as_of_in_utc(example):
    done = cli(example, "preview", "active_users", "--as-of", "2026-11-01T02:00:00+02:00", "--format", "json",
               "--limit", "3")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["as_of"] == "2026-11-01T00:00:00Z"
    assert out["count"] == example.breakdown("active_users", as_of=ANCHOR).count
    assert len(out["members"]) == 3 and set(out["members"][0]) == {"person_id", "split", "fields"}
    assert isinstance(out["members"][0]["fields"], dict)
    text = cli(example, "preview", "active_users", "--as-of", "2026-11-01")
    assert "at 2026-11-01T00:00:00Z" in text.stdout


def test_bad_input_exits_2_with_file_and_line(example, tmp_path):
    unknown = cli(example, "preview", "active_userz", "--breakdown")
    assert unknown.returncode == 2 and "did you mean 'active_users'" in unknown.stderr
    root = tmp_path / "typo"
    shutil.copytree(example.dir, root)
    (root / "segments" / "typo.yml").write_text("name: typo\nwhere:\n  all:\n    - attribute: pln\n      equals: pro\n")
    done = cli(Project(root), "preview", "typo", "--breakdown", "--as-of", "2026-11-01")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "segments/typo.yml:4: the people table main.users has no column 'pln' (did you mean 'plan'?)" in done.stderr
    assert "Traceback" not in done.stderr


# --- PostgreSQL and Snowflake -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres(engines, tables):
    """The session's PostgreSQL server with the demo tables (loaded once for this module)."""
    engines["postgres"].load(tables)
    return engines["postgres"]


def test_every_node_matches_the_reference_on_postgres(postgres, example, expected):
    engine = postgres
    for name in dynamic(example):
        b = engine_breakdown(engine, example, name)
        assert without_text([n.as_json() for n in b.nodes]) == expected.nodes(name), name


def test_the_api_on_postgres_agrees(postgres, example, expected, postgres_dsn, tmp_path):
    """Through Project.breakdown and the PostgreSQL adapter (the plan then has the catalog's types)."""
    server = dict(part.split("=", 1) for part in postgres_dsn.split())
    root = tmp_path / "pg"
    shutil.copytree(example.dir, root, ignore=shutil.ignore_patterns("*.duckdb*", "target"))
    (root / "profiles.yml").write_text(yaml.safe_dump({"demo_shop": {"target": "pg", "outputs": {"pg": {
        "type": "postgres", "host": server["host"], "port": int(server["port"]), "user": server["user"],
        "password": "unused", "dbname": server.get("dbname", "postgres"), "schema": "public"}}}}))
    project = Project(root)
    for name in ("winback_targets", "engaged_email_subscribers", "sms_audience_europe"):
        b = project.breakdown(name, as_of=ANCHOR)
        assert without_text([n.as_json() for n in b.nodes]) == expected.nodes(name), name


def test_one_segment_matches_the_reference_on_snowflake(engines, example, expected, tables):
    engine = engines["snowflake"]
    engine.load(tables)
    b = engine_breakdown(engine, example, "engaged_email_subscribers")
    assert without_text([n.as_json() for n in b.nodes]) == expected.nodes("engaged_email_subscribers")
    assert any(n.cumulative is not None and n.cumulative < n.holds for n in b.nodes)
