"""`explain SEGMENT PERSON`: every condition of a segment, true or false for one person, with the
values it measured (the column's value, the count or sum of matching rows, ...)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlglot import exp

from .compiler import calendar
from .compiler.conditions import COUNTS, ConditionCompiler, SequenceFeature
from .compiler.sequences import SequenceScan
from .compiler.literals import TEXT, as_kind, named
from .compiler.plan import EVALUATION, Plan
from .spec import model as m


@dataclass
class Step:
    depth: int
    label: str
    holds: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def _op_text(op: m.Op) -> str:
    value = op.value
    if isinstance(value, tuple):
        value = "[" + ", ".join(map(str, value)) + "]"
    return f"{op.name} {value}"


def describe(c: m.Condition) -> str:
    """A one-line reading of a condition node."""
    if isinstance(c, (m.All, m.AnyOf, m.NoneOf)):
        return {m.All: "all of", m.AnyOf: "any of", m.NoneOf: "none of"}[type(c)]
    if isinstance(c, m.Not):
        return "not"
    if isinstance(c, m.AtLeast):
        return f"at least {c.k} of"
    if isinstance(c, m.Sequence):
        return "sequence: " + " then ".join(
            (f"{s.match.stream} {s.match.pattern!r}" if s.match.pattern is not None else f"{s.match.stream} (any)")
            + (f" within {s.within_after} after" if s.within_after else "")
            + (" with the same " + ", ".join(map(str, s.same)) if s.same else "")
            + ("" if s.performed else " (not performed)") for s in c.steps)
    if isinstance(c, m.Attribute):
        return f"attribute {c.column} " + ", ".join(map(_op_text, c.ops)) + (" (ignore case)" if c.ignore_case else "")
    if isinstance(c, m.StreamCondition):
        match, parts = c.match, []
        parts.append(f"{match.stream} {match.pattern!r}" if match.pattern is not None else f"{match.stream} (any)")
        parts += [f"where {f.path} " + ", ".join(map(_op_text, f.ops)) for f in match.filters]
        window = match.window
        parts += [f"{k} {getattr(window, k)}" for k in ("within", "older_than", "since", "until", "during")
                  if getattr(window, k) is not None]
        parts += [f"{k} {a.attribute}{' within ' + str(a.within) if a.within else ''}"
                  for k, a in (("after", window.after), ("before", window.before)) if a is not None]
        parts += [f"{a.kind}{f' {a.n}' if a.n else ''}{' of ' + str(a.of) if a.of else ''} "
                  + ", ".join(map(_op_text, a.ops)) + (" (ignore case)" if a.ignore_case else "")
                  for a in c.aggregates]
        return ", ".join(parts)
    if isinstance(c, m.SegmentRef):
        return f"segment {c.name}" + (f" (split {', '.join(c.split)})" if c.split else "")
    if isinstance(c, m.Sql):
        return f"sql {c.text}"
    if isinstance(c, m.InStatic):
        return f"in the static list of {c.segment} (by {c.match_column})"
    raise AssertionError(type(c))


def nodes(c: m.Condition, segments: dict[str, m.Segment], depth: int = 0,
          expand_references: bool = True) -> Iterator[tuple[int, m.Condition]]:
    """Every node of a condition tree with its depth, depth first; referenced segments expanded."""
    yield depth, c
    children: tuple = ()
    if isinstance(c, (m.All, m.AnyOf, m.NoneOf, m.AtLeast)):
        children = c.items
    elif isinstance(c, m.Not):
        children = (c.item,)
    elif isinstance(c, m.SegmentRef) and expand_references:
        children = (segments[c.name].condition,)
    for child in children:
        yield from nodes(child, segments, depth + 1, expand_references)


def _measured(c: m.Condition, compiler: ConditionCompiler) -> dict[str, exp.Expression]:
    if isinstance(c, m.Attribute):
        return {c.column: exp.column(c.column, quoted=True)}
    if isinstance(c, m.InStatic):
        return {c.match_column: exp.column(c.match_column, quoted=True)}
    if isinstance(c, m.StreamCondition):
        values = {}
        for agg in c.aggregates:
            feature = compiler.feature_of(c.match, agg)
            value: exp.Expression = exp.column(feature.column, quoted=True)
            if agg.kind in COUNTS:
                value = exp.func("COALESCE", value, exp.Literal.number(0))
            label = {"nth": f"time of row {agg.n}", "distinct": "distinct count", "distinct_days": "distinct days",
                     "most_frequent": "most frequent value"}.get(agg.kind, agg.kind)
            values[f"{label}{' of ' + str(agg.of) if agg.of else ''}"] = value
            if agg.kind == "most_frequent":  # and in how many matching rows it was found
                values[f"rows with the most frequent value of {agg.of}"] = exp.func(
                    "COALESCE", exp.column(feature.count_column, quoted=True), exp.Literal.number(0))
        return values
    return {}


def _periods(c: m.Condition) -> list[m.CalendarPeriod]:
    """The calendar periods a node itself compares with (window, filter, attribute and aggregate ops)."""
    ops: list[m.Op] = []
    if isinstance(c, m.Attribute):
        ops = list(c.ops)
    elif isinstance(c, m.StreamCondition):
        ops = [op for f in c.match.filters for op in f.ops] + [op for a in c.aggregates for op in a.ops]
    periods = [op.value for op in ops if op.name == "during"]
    if isinstance(c, m.StreamCondition) and c.match.window.during:
        periods.insert(0, c.match.window.during)
    return list(dict.fromkeys(periods))


def _second_edition_measured(c: m.Condition, compiler: ConditionCompiler,
                             person: exp.Expression) -> dict[str, exp.Expression]:
    """at_least: how many of the listed conditions held; a calendar period: its local start and end;
    a sequence: when the person first reached each step, or when the negative last step went missing."""
    values: dict[str, exp.Expression] = {}
    if isinstance(c, m.Sequence):
        config = compiler.config
        relation = SequenceScan(SequenceFeature(c.steps), config.streams, people=config.people)
        for i, (step, time) in enumerate(zip(c.steps, relation.progress(compiler.as_of, person)), start=1):
            label = f"step {i} first reached at" if step.performed else f"no step {i} after the step {i - 1} row at"
            values[label] = time
    if isinstance(c, m.AtLeast):
        held = [exp.Case().when(compiler.condition(item), exp.Literal.number(1)).else_(exp.Literal.number(0))
                for item in c.items]
        total = held[0]
        for one in held[1:]:
            total = exp.Add(this=total, expression=one)
        values[f"conditions held (of {len(c.items)}, at least {c.k})"] = total
    for period in _periods(c):
        start, end = calendar.local_bounds(period, compiler.as_of)
        values[f"{period} ({period.time_zone})"] = exp.Literal.string(
            f"{start.isoformat(sep=' ')} to {end.isoformat(sep=' ')} (end excluded)")
    return values


def explain_query(plan: Plan, name: str, person: str) -> tuple[exp.Select, list[Step], list[list[str]]]:
    """One SELECT over the person's row in the plan's evaluation relation: each node's truth and
    measured values, in walk order."""
    config, compiler = plan.config, plan.compiler
    steps, columns, projections = [], [], []
    for i, (depth, node) in enumerate(nodes(plan.segments[name].condition, plan.segments)):
        predicate = compiler.condition(node)
        steps.append(Step(depth, describe(node)))
        projections.append(named(predicate, f"n{i}"))
        names = []
        measured = {**_measured(node, compiler), **_second_edition_measured(node, compiler, exp.Literal.string(person))}
        for j, (label, value) in enumerate(measured.items()):
            projections.append(named(value, f"n{i}_{j}"))
            names.append(label)
        columns.append(names)
    key = as_kind(exp.column(config.people.key, quoted=True), TEXT)
    query = exp.select(*projections).from_(exp.table_(EVALUATION, quoted=True)).where(
        key.eq(exp.Literal.string(person)))
    return plan.with_evaluation(query, [name]), steps, columns


def fill(steps: list[Step], columns: list[list[str]], row: tuple) -> list[Step]:
    values = iter(row)
    for step, names in zip(steps, columns):
        step.holds = bool(next(values))
        step.values = {n: next(values) for n in names}
    return steps
