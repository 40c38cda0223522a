"""The package's structure (ARCHITECTURE-REVIEW sections 2, 3, 7.5, 7.6): data flows one way, files ->
model -> plan -> SQL -> adapter -> tables -> sync, so no package imports one that imports it back;
one `NAME` rule; one unknown-key check, whose message has the line, a did-you-mean and the allowed keys."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import PROJECT_YML, write_project
from segwarehouse import Project, ValidationError

PACKAGE = Path(__file__).resolve().parent.parent / "segwarehouse"


def _package_of(module: str) -> str:
    """'spec.conditions' -> 'spec'; a top-level module ('errors') is its own node."""
    return module.split(".")[0]


def package_imports() -> dict[str, set[str]]:
    """{package: packages it imports}, from every relative import of the package's sources."""
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        here = ".".join(parts)
        source = _package_of(here)
        folder = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = list(folder[:len(folder) - (node.level - 1)])
            targets = [".".join(base + node.module.split("."))] if node.module else \
                [".".join(base + [alias.name]) for alias in node.names]
            for target in targets:
                package = _package_of(target) if target else source
                if package and package != source:
                    edges.setdefault(source, set()).add(package)
    return edges


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_package_imports_one_that_imports_it_back():
    edges = package_imports()
    assert "project" in edges and "spec" in edges["project"]  # the scan sees imports at all
    cycles = sorted(p for p in edges if p in reachable(edges, p))
    assert cycles == [], {p: sorted(edges[p]) for p in cycles}


@pytest.mark.parametrize("package,forbidden", [
    ("spec", "project"),         # the model does not read files: yamlfile is neutral
    ("project", "sync"),         # the loader runs sync checks it is given, it does not import them
    ("materialize", "project"),  # the runner takes any m.ProjectSpec, not the loader's LoadedProject
])
def test_data_flows_one_way(package, forbidden):
    assert forbidden not in reachable(package_imports(), package)


def test_one_name_rule():
    pattern = re.compile(r"re\.compile\(r[\"']\^\[a-z\]\[a-z0-9_\]\*\$")
    where = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert where == ["spec/segments.py"]


STATIC_CSV = {"vip.csv": "email\na@x.com\n"}


# (file holding the typo, its text, the line of the typo, the misspelled key, the suggestion, an allowed key)
UNKNOWN_KEYS = {
    "project": ("segwarehouse.yml", PROJECT_YML + "varz: {}\n", {}, 8, "varz", "vars", "destinations"),
    "people": ("segwarehouse.yml", PROJECT_YML.replace("  key: user_id\n", "  key: user_id\n  tabel: x\n"), {},
               5, "tabel", "table", "identifiers"),
    "stream": ("segwarehouse.yml", PROJECT_YML.replace("properties: properties}", "properties: properties, "
                                                                                 "timestmp: t}"),
               {}, 7, "timestmp", "timestamp", "properties"),
    "file": ("segments/a.yml", PROJECT_YML, {"a.yml": "segmnts: []\nsegments:\n  - {name: a, where: {attribute: x, "
                                                      "exists: true}}\n"}, 1, "segmnts", "segments", "segments"),
    "segment": ("segments/a.yml", PROJECT_YML, {"a.yml": "name: a\nwhere: {attribute: x, exists: true}\nownr: me\n"},
                3, "ownr", "owner", "tags"),
    "static": ("segments/a.yml", PROJECT_YML, {"a.yml": "name: a\nstatic:\n  csv: vip.csv\n  column: email\n"
                                                        "  match_on: email\n  colum: x\n"}, 6, "colum", "column",
               "match_on"),
    "splits": ("segments/a.yml", PROJECT_YML, {"a.yml": "name: a\nwhere: {attribute: x, exists: true}\nsplits:\n"
                                                        "  groups: {a: 100}\n  slt: x\n"}, 5, "slt", "salt", "groups"),
    "sync": ("segments/a.yml", PROJECT_YML + "destinations:\n  files: {type: csv, path: out}\n",
             {"a.yml": "name: a\nwhere: {attribute: x, exists: true}\nsync:\n  - destination: files\n"
                       "    on_entr: add\n"}, 5, "on_entr", "on_enter", "on_exit"),
    "test": ("segments/a.yml", PROJECT_YML, {"a.yml": "name: a\nwhere: {attribute: x, exists: true}\ntests:\n"
                                                      "  - as_of: 2026-01-01\n    expect: []\n    gven: {}\n"},
             6, "gven", "given", "expect"),
    "group": ("segments/a.yml", PROJECT_YML, {"a.yml": "name: a\nwhere:\n  all: [{attribute: x, exists: true}]\n"
                                                       "  al: 1\n"}, 4, "al", "all", "all"),
}


@pytest.mark.parametrize("case", list(UNKNOWN_KEYS))
def test_every_unknown_key_names_its_line_a_suggestion_and_the_allowed_keys(tmp_path, case):
    file, project_yml, segments, line, typo, suggestion, allowed = UNKNOWN_KEYS[case]
    segments = segments or {"ok.yml": "name: ok\nwhere: {attribute: x, exists: true}\n"}
    root = write_project(tmp_path / "p", segments, project_yml, files=STATIC_CSV)
    with pytest.raises(ValidationError) as raised:
        Project(root).validate()
    found = [p for p in raised.value.problems if f"unknown key '{typo}'" in p.message]
    assert len(found) == 1, raised.value.problems
    problem = found[0]
    assert (problem.file, problem.line) == (file, line)
    assert f"did you mean '{suggestion}'?" in problem.message
    assert re.search(rf"; allowed: .*\b{allowed}\b", problem.message), problem.message
