"""The two graphs of a project: segments referencing segments (`depends_on`), and the condition tree
of one segment. Every closure, order, cycle and tree walk in the package is one of these functions.

All are iterative: a chain of references or a nesting of groups thousands deep is not a RecursionError.
References to segments that do not exist are skipped (the loader reports them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Optional

from . import model as m

Segments = Mapping[str, m.Segment]


def closure(segments: Segments, names: Iterable[str]) -> list[str]:
    """The named segments and every segment they reference, transitively; each after what it references
    (references in the order written), named segments in the order given."""
    ordered: dict[str, None] = {}
    entered: set[str] = set()
    for root in names:
        if root in entered:
            continue
        entered.add(root)
        stack = [(root, iter(segments[root].depends_on))]
        while stack:
            name, refs = stack[-1]
            for ref in refs:
                if ref in segments and ref not in entered:
                    entered.add(ref)
                    stack.append((ref, iter(segments[ref].depends_on)))
                    break
            else:
                stack.pop()
                ordered[name] = None
    return list(ordered)


def topological(segments: Segments) -> dict[str, m.Segment]:
    """All segments, each after those it references; otherwise in the order given."""
    return {name: segments[name] for name in closure(segments, segments)}


def dependents(segments: Segments) -> dict[str, list[str]]:
    """{segment: the segments that reference it directly}, every segment a key, in the order given."""
    found: dict[str, list[str]] = {name: [] for name in segments}
    for name, segment in segments.items():
        for ref in segment.depends_on:
            if ref in found:
                found[ref].append(name)
    return found


@dataclass(frozen=True)
class _Reversed:
    depends_on: tuple[str, ...]


def dependents_closure(segments: Segments, names: Iterable[str]) -> list[str]:
    """The named segments and every segment that references them, transitively (dbt's `name+`): the
    closure of the reversed graph, so the walk is `closure`'s."""
    reversed_graph = {name: _Reversed(tuple(refs)) for name, refs in dependents(segments).items()}
    return closure(reversed_graph, [n for n in names if n in reversed_graph])


def cycles(segments: Segments) -> list[list[str]]:
    """The cycles a depth-first search meets, each as the path that closes it: [a, b] for a -> b -> a."""
    done: set[str] = set()
    found: list[list[str]] = []
    for root in segments:
        if root in done:
            continue
        path, on_path = [root], {root}
        stack = [iter(segments[root].depends_on)]
        while stack:
            for ref in stack[-1]:
                if ref not in segments or ref in done:
                    continue
                if ref in on_path:
                    found.append(path[path.index(ref):])
                    continue
                path.append(ref)
                on_path.add(ref)
                stack.append(iter(segments[ref].depends_on))
                break
            else:
                stack.pop()
                on_path.discard(path[-1])
                done.add(path.pop())
    return found


# --- condition trees ---------------------------------------------------------------------------------
GROUP_KEYS = {m.All: "all", m.AnyOf: "any", m.NoneOf: "none"}


@dataclass(frozen=True)
class Node:
    """One node of a condition tree: where it is in its segment's YAML (`where.all[1].not`), how deep
    it sits in the walk, and which segment defines it (None for the tree walked, unless named)."""

    condition: m.Condition
    path: str
    depth: int
    segment: Optional[str] = None

    @property
    def line(self) -> Optional[int]:
        return self.condition.line


def children(condition: m.Condition) -> list[tuple[str, m.Condition]]:
    """(path step, child) of a group or `not`; none for a leaf. A group of another kind that keeps
    its conditions in `items` (such as at_least's `of:`) gets `.of[i]`."""
    if isinstance(condition, m.Not):
        return [(".not", condition.item)]
    items = getattr(condition, "items", None)
    if not isinstance(items, tuple):
        return []
    key = GROUP_KEYS.get(type(condition), "of")
    return [(f".{key}[{i}]", item) for i, item in enumerate(items)]


def walk(condition: m.Condition, segments: Optional[Segments] = None, *, once: bool = False,
         segment: Optional[str] = None, path: str = "where") -> Iterator[Node]:
    """Every node of a condition tree, depth first in the order written. With `segments`, a reference
    is followed into the referenced segment's condition (one level deeper, path restarting at `where`);
    `once` follows each referenced segment only the first time it is met."""
    seen: set[str] = {segment} if segment else set()
    stack = [Node(condition, path, 0, segment)]
    while stack:
        node = stack.pop()
        yield node
        c = node.condition
        below: list[Node] = [Node(child, node.path + step, node.depth + 1, node.segment)
                             for step, child in children(c)]
        if isinstance(c, m.SegmentRef) and segments is not None and c.name in segments \
                and not (once and c.name in seen):
            seen.add(c.name)
            below = [Node(segments[c.name].condition, "where", node.depth + 1, c.name)]
        stack.extend(reversed(below))


def streams_read(condition: m.Condition) -> list[str]:
    """The streams a condition tree reads itself (references not followed), in the order written:
    its stream conditions' and its sequences' steps' streams."""
    found: dict[str, None] = {}
    for node in walk(condition):
        c = node.condition
        if isinstance(c, m.StreamCondition):
            found[c.match.stream] = None
        elif isinstance(c, m.Sequence):
            found.update((step.match.stream, None) for step in c.steps)
    return list(found)
