"""spec/graph.py: the one reference graph (closure, order, dependents, cycles) and the one condition-tree
walker the package uses (selectors, loader, runner, artifacts, docs, dialects), none recursive."""
from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import write_project
from segwarehouse import Project, ValidationError
from segwarehouse.spec import model as m
from segwarehouse.spec.graph import closure, cycles, dependents, topological, walk

DEEP = 3000  # well past Python's default recursion limit of 1000


def graph(edges: dict[str, tuple[str, ...]]) -> dict[str, m.Segment]:
    """Segments named after `edges`' keys, each referencing the listed segments."""
    return {name: m.Segment(name, f"segments/{name}.yml", 1, m.Sql("true"), depends_on=refs)
            for name, refs in edges.items()}


def chain(n: int) -> dict[str, m.Segment]:
    """s0 <- s1 <- ... <- s{n-1}: each references the one before; listed last first."""
    return graph({f"s{i}": ((f"s{i - 1}",) if i else ()) for i in reversed(range(n))})


def test_closure_puts_references_first_in_written_order():
    segments = graph({"top": ("b", "a"), "b": ("c",), "a": ("c",), "c": (), "other": ()})
    assert closure(segments, ["top"]) == ["c", "b", "a", "top"]
    assert closure(segments, ["a", "top"]) == ["c", "a", "b", "top"]
    assert closure(segments, ["other"]) == ["other"]


def test_topological_order_keeps_the_given_order_otherwise():
    segments = graph({"z": ("y",), "a": (), "y": ()})
    assert list(topological(segments)) == ["y", "z", "a"]


def test_dependents_are_the_direct_referrers():
    segments = graph({"top": ("b", "a"), "b": ("c",), "a": ("c",), "c": ()})
    assert dependents(segments) == {"top": [], "b": ["top"], "a": ["top"], "c": ["b", "a"]}


def test_cycles_each_as_the_path_that_closes_it():
    segments = graph({"a": ("b",), "b": ("a",), "c": ("c",), "d": ("a", "e"), "e": ()})
    assert cycles(segments) == [["a", "b"], ["c"]]
    assert cycles(graph({"a": ("b",), "b": ()})) == []


def test_a_reference_chain_thousands_deep_is_no_recursion_error():
    segments = chain(DEEP)
    last = f"s{DEEP - 1}"
    assert closure(segments, [last]) == [f"s{i}" for i in range(DEEP)]
    assert list(topological(segments)) == [f"s{i}" for i in range(DEEP)]
    assert cycles(segments) == []
    looped = dict(segments, s0=m.Segment("s0", "x", 1, m.Sql("true"), depends_on=(last,)))
    assert cycles(looped) == [[last, *(f"s{i}" for i in reversed(range(DEEP - 1)))]]
    nested: m.Condition = m.Sql("true")
    for _ in range(DEEP):
        nested = m.Not(nested)
    assert len(list(walk(nested))) == DEEP + 1


TREE = """\
name: a
where:
  all:
    - attribute: x
      exists: true
    - not:
        any:
          - segment: b
          - none:
              - sql: "y > 1"
"""


def test_walk_gives_each_node_its_yaml_path_depth_and_line(tmp_path):
    root = write_project(tmp_path / "p", {"a.yml": TREE, "b.yml": "name: b\nwhere: {sql: 'z = 1'}\n"})
    segments = Project(root).validate().segments
    shown = [(n.path, n.depth, n.line, n.segment) for n in walk(segments["a"].condition, segment="a")]
    assert shown == [
        ("where", 0, 3, "a"),
        ("where.all[0]", 1, 4, "a"),
        ("where.all[1]", 1, 6, "a"),
        ("where.all[1].not", 2, 7, "a"),
        ("where.all[1].not.any[0]", 3, 8, "a"),
        ("where.all[1].not.any[1]", 3, 9, "a"),
        ("where.all[1].not.any[1].none[0]", 4, 10, "a"),
    ]
    expanded = [(n.path, n.depth, n.segment) for n in walk(segments["a"].condition, segments, segment="a")]
    assert expanded[5] == ("where", 4, "b")  # the reference, followed one level deeper into b's `where`
    assert len(expanded) == 8


def test_walk_once_follows_each_referenced_segment_once():
    shared = m.Segment("s", "s.yml", 1, m.Sql("true"))
    top = m.All((m.SegmentRef("s"), m.SegmentRef("s")))
    segments = {"s": shared}
    assert [n.segment for n in walk(top, segments)].count("s") == 2
    assert [n.segment for n in walk(top, segments, once=True)].count("s") == 1


def test_walk_names_the_items_of_other_groups_of():
    @dataclasses.dataclass(frozen=True)
    class AtLeast(m.Condition):  # a group kind the walker does not list by name (SPEC's at_least)
        items: tuple = ()

    paths = [n.path for n in walk(AtLeast((m.Sql("a"), m.Sql("b"))))]
    assert paths == ["where", "where.of[0]", "where.of[1]"]


@pytest.fixture(scope="module")
def deep_project(tmp_path_factory):
    """A project whose segments reference each other DEEP times over (s1 -> s0, s2 -> s1, ...)."""
    n = 1200
    segments = {f"s{i}.yml": f"name: s{i}\nwhere: {{segment: s{i - 1}}}\n" for i in range(1, n)}
    segments["s0.yml"] = "name: s0\nwhere: {attribute: x, exists: true}\n"
    return Project(write_project(tmp_path_factory.mktemp("deep") / "p", segments)), n


def test_a_deep_project_loads_selects_and_writes_its_manifest(deep_project):
    project, n = deep_project
    assert list(project.segments) == [f"s{i}" for i in range(n)]  # loaded in dependency order
    assert project.select([f"+s{n - 1}"]) == [f"s{i}" for i in range(n)]
    from segwarehouse.artifacts import write_manifest

    manifest = json.loads(write_manifest(project.target_path, project.loaded.config, project.segments,
                                         "ls").read_text())
    assert manifest["child_map"]["segment.t.s0"] == ["segment.t.s1"]
    assert manifest["child_map"][f"segment.t.s{n - 1}"] == []


def test_a_deep_cycle_is_reported_not_a_recursion_error(tmp_path):
    n = 1200
    segments = {f"s{i}.yml": f"name: s{i}\nwhere: {{segment: s{(i - 1) % n}}}\n" for i in range(n)}
    with pytest.raises(ValidationError) as raised:
        Project(write_project(tmp_path / "p", segments)).validate()
    assert [p.message.split(":")[0] for p in raised.value.problems] == ["segment references form a cycle"]
