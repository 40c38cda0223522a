"""`preview SEGMENT --breakdown`: the definition funnel (SPEC section 11). Exact counts for every node
of a segment's condition tree at as_of: `holds` (the node on its own) and, for the children of an
`all`, `cumulative` (the child and every earlier child of that `all`).

The nodes are the model's tree as spec.graph.walk gives it (paths as in the YAML; a sequence or a
`{segment: X}` reference is one node, never expanded). Every count comes from ONE query over the
plan's evaluation relation: each node's predicate is the ConditionCompiler's, the root's is the very
predicate `run` and `preview` select members with, so the root's `holds` is the segment's count.
Conditions are TRUE or FALSE, never NULL (SPEC section 4), so every count is exact."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlglot import exp

from .compiler.literals import conjunction, named
from .compiler.plan import EVALUATION, Plan
from .explain import describe
from .spec import model as m
from .spec.graph import children, walk
from .spec.values import utc_z

NODES = "_sw_nodes"


@dataclass(frozen=True)
class FunnelNode:
    """One node of the tree, where it is in the YAML, and for a child of an `all` the indices of
    that `all`'s children up to and including itself (what `cumulative` requires)."""

    condition: m.Condition
    path: str
    depth: int
    chain: Optional[tuple[int, ...]] = None


@dataclass
class NodeCount:
    path: str
    line: Optional[int]
    text: str
    depth: int
    holds: int
    cumulative: Optional[int]  # None for nodes that are not children of an `all`

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "text": self.text, "holds": self.holds,
                "cumulative": self.cumulative}


@dataclass
class Breakdown:
    """`Project.breakdown`'s answer. `people`: everyone evaluated (the denominator of the text
    format's percentages; not part of the SPEC's JSON)."""

    segment: str
    as_of: dt.datetime
    count: int
    people: int
    nodes: list[NodeCount]

    def as_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "as_of": utc_z(self.as_of), "count": self.count,
                "nodes": [n.as_json() for n in self.nodes]}


def root_path(segment: m.Segment) -> str:
    """`where`, or `static` for a static segment (its one node is its CSV list)."""
    return "static" if segment.static else "where"


def funnel_nodes(segment: m.Segment) -> list[FunnelNode]:
    """Every node of the segment's own tree, depth first in the order written (references not
    followed), each child of an `all` with its chain of earlier siblings."""
    walked = list(walk(segment.condition, path=root_path(segment)))
    index = {node.path: i for i, node in enumerate(walked)}  # paths are unique within one tree
    chains: dict[int, tuple[int, ...]] = {}
    for node in walked:
        if isinstance(node.condition, m.All):
            siblings = [index[node.path + step] for step, _ in children(node.condition)]
            for j, child in enumerate(siblings):
                chains[child] = tuple(siblings[:j + 1])
    return [FunnelNode(node.condition, node.path, node.depth, chains.get(i)) for i, node in enumerate(walked)]


def _count_true(predicate: exp.Expression) -> exp.Expression:
    """People for whom the predicate holds. COUNT of a CASE, not SUM: 0 (not NULL) on no people."""
    return exp.Count(this=exp.Case().when(predicate, exp.Literal.number(1)))


def _flag(i: int) -> str:
    return f"_sw_n{i}"


def breakdown_query(plan: Plan, name: str) -> tuple[exp.Select, list[FunnelNode]]:
    """One SELECT returning, in this order: the number of people, then per node its holds, then per
    child of an `all` its cumulative. Each node's truth is computed once per person (an inner
    SELECT of flags); the counts sum the flags."""
    nodes = funnel_nodes(plan.segments[name])
    flags = [named(plan.predicate(name) if i == 0 else plan.compiler.condition(node.condition), _flag(i))
             for i, node in enumerate(nodes)]
    per_person = exp.select(*flags).from_(exp.table_(EVALUATION, quoted=True), copy=False)

    def flag(i: int) -> exp.Column:
        return exp.column(_flag(i), table=NODES, quoted=True)

    counts = [named(exp.Count(this=exp.Star()), "people")]
    counts += [named(_count_true(flag(i)), f"holds_{i}") for i in range(len(nodes))]
    counts += [named(_count_true(conjunction([flag(j) for j in node.chain])), f"cumulative_{i}")
               for i, node in enumerate(nodes) if node.chain is not None]
    query = exp.select(*counts).from_(per_person.subquery(NODES, copy=False), copy=False)
    return plan.with_evaluation(query, [name]), nodes


def read_breakdown(name: str, as_of: dt.datetime, nodes: list[FunnelNode], row: tuple) -> Breakdown:
    """The counts of breakdown_query's one row, matched back to the nodes."""
    people, values = int(row[0]), [int(v) for v in row[1:]]
    holds, rest = values[:len(nodes)], iter(values[len(nodes):])
    counted = [NodeCount(node.path, node.condition.line, describe(node.condition), node.depth, holds[i],
                         next(rest) if node.chain is not None else None) for i, node in enumerate(nodes)]
    return Breakdown(name, as_of, holds[0], people, counted)


def percent(part: int, whole: int) -> str:
    """`12.3%`, one decimal; an empty whole reads as a dash, not a division by zero."""
    return f"{100 * part / whole:,.1f}%" if whole else "-"


def table_rows(breakdown: Breakdown) -> list[list[str]]:
    """The text format's funnel: each node indented under its parent, holds as a share of everyone,
    and for an `all`'s children the cumulative count and the share of the previous step it keeps."""
    rows, previous = [], {}
    for node in breakdown.nodes:
        parent = node.path.rsplit(".", 1)[0]
        kept = ""
        if node.cumulative is not None:
            before = previous.get(parent, breakdown.people)
            kept = percent(node.cumulative, before)
            previous[parent] = node.cumulative
        rows.append(["  " * node.depth + node.text, node.path, str(node.line or ""), f"{node.holds:,}",
                     percent(node.holds, breakdown.people),
                     "" if node.cumulative is None else f"{node.cumulative:,}", kept])
    return rows


TABLE_COLUMNS = ["condition", "path", "line", "holds", "% of people", "cumulative", "% of previous"]
