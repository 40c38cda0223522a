"""`report`: what the output tables say about segments over time, read back from the warehouse.

Three sections, each a list of plain rows so the CLI can print a table, JSON or CSV:
- history: per run and segment, members / entered / exited / updated (size over time);
- overlap: for each pair of selected segments, the people they share now;
- splits: per split group, the people who ever entered, those still members, and the conversion:
  the share of entrants now in the `goal` segment, or without a goal, the share who have exited
  (for "added to cart but did not buy", leaving is the conversion).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from sqlglot import exp

from .adapters.base import Adapter
from .materialize.tables import CHANGES, MEMBERS, RUNS, output_table
from .spec import model as m

HISTORY_COLUMNS = ["segment", "run_id", "as_of", "status", "members", "entered", "exited", "updated"]
OVERLAP_COLUMNS = ["segment", "other", "shared", "share_of_segment", "share_of_other"]
SPLIT_COLUMNS = ["segment", "split", "entered", "members", "converted", "conversion_rate"]


@dataclass
class Report:
    goal: Optional[str] = None
    history: list[dict[str, Any]] = field(default_factory=list)
    overlap: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)

    def sections(self) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
        return {"history": (HISTORY_COLUMNS, self.history), "overlap": (OVERLAP_COLUMNS, self.overlap),
                "splits": (SPLIT_COLUMNS, self.splits)}

    def long_rows(self) -> list[tuple[str, str, str, str, Any]]:
        """(section, segment, key, metric, value): one measure per row, the shape BI tools pivot."""
        rows = []
        for r in self.history:
            rows += [("history", r["segment"], r["run_id"], k, r[k]) for k in ("members", "entered", "exited", "updated")]
        for r in self.overlap:
            rows.append(("overlap", r["segment"], r["other"], "shared", r["shared"]))
        for r in self.splits:
            rows += [("splits", r["segment"], r["split"], k, r[k])
                     for k in ("entered", "members", "converted", "conversion_rate")]
        return rows


def _col(name: str, table: Optional[str] = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _in(column: exp.Column, names: Sequence[str]) -> exp.Expression:
    return column.isin(*(exp.Literal.string(n) for n in names))


def _ratio(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def history_query(schema: str, names: Sequence[str]) -> exp.Select:
    return (exp.select(*(_col(c) for c in HISTORY_COLUMNS)).from_(output_table(schema, RUNS))
            .where(_in(_col("segment"), names)).order_by(_col("segment"), _col("run_id")))


def sizes_query(schema: str, names: Sequence[str]) -> exp.Select:
    return (exp.select(_col("segment"), exp.Count(this=exp.Star())).from_(output_table(schema, MEMBERS))
            .where(_in(_col("segment"), names)).group_by(_col("segment")))


def overlap_query(schema: str, names: Sequence[str]) -> exp.Select:
    members = output_table(schema, MEMBERS)
    return (exp.select(_col("segment", "a"), _col("segment", "b"), exp.Count(this=exp.Star()))
            .from_(exp.alias_(members.copy(), "a", table=True))
            .join(exp.alias_(members.copy(), "b", table=True),
                  on=exp.and_(_col("person_id", "a").eq(_col("person_id", "b")),
                              _col("segment", "a") < _col("segment", "b")))
            .where(exp.and_(_in(_col("segment", "a"), names), _in(_col("segment", "b"), names)))
            .group_by(_col("segment", "a"), _col("segment", "b"))
            .order_by(_col("segment", "a"), _col("segment", "b")))


def splits_query(schema: str, segment: str, goal: Optional[str]) -> exp.Select:
    """Per split group: distinct entrants, current members among them, converted among them."""
    members, changes = output_table(schema, MEMBERS), output_table(schema, CHANGES)
    entrants = (exp.select(_col("person_id"), exp.Max(this=_col("split")).as_("split"))
                .from_(changes).where(exp.and_(_col("segment").eq(exp.Literal.string(segment)),
                                                _col("change").eq(exp.Literal.string("entered"))))
                .group_by(_col("person_id")))

    def member_of(name: str, alias: str) -> exp.Select:
        return (exp.select(_col("person_id")).from_(members.copy())
                .where(_col("segment").eq(exp.Literal.string(name))).subquery(alias))

    now = _col("person_id", "now").is_(exp.null()).not_()
    converted = (_col("person_id", "goal").is_(exp.null()).not_() if goal else
                 _col("person_id", "now").is_(exp.null()))
    query = (exp.select(_col("split", "e"), exp.Count(this=exp.Star()),
                        exp.Sum(this=exp.Case().when(now, exp.Literal.number(1)).else_(exp.Literal.number(0))),
                        exp.Sum(this=exp.Case().when(converted, exp.Literal.number(1)).else_(exp.Literal.number(0))))
             .from_(entrants.subquery("e"))
             .join(member_of(segment, "now"), on=_col("person_id", "now").eq(_col("person_id", "e")), join_type="left"))
    if goal:
        query = query.join(member_of(goal, "goal"), on=_col("person_id", "goal").eq(_col("person_id", "e")),
                           join_type="left")
    return query.group_by(_col("split", "e")).order_by(_col("split", "e"))


def build_report(adapter: Adapter, schema: str, segments: dict[str, m.Segment], names: Sequence[str],
                 goal: Optional[str] = None) -> Report:
    report = Report(goal=goal)
    if not names:
        return report
    for row in adapter.execute(history_query(schema, names)):
        report.history.append(dict(zip(HISTORY_COLUMNS, row)))
    sizes = dict(adapter.execute(sizes_query(schema, names)))
    for a, b, shared in adapter.execute(overlap_query(schema, names)):
        report.overlap.append({"segment": a, "other": b, "shared": shared,
                               "share_of_segment": _ratio(shared, sizes.get(a, 0)),
                               "share_of_other": _ratio(shared, sizes.get(b, 0))})
    for name in names:
        if segments[name].splits is None:
            continue
        for split, entered, members, converted in adapter.execute(splits_query(schema, name, goal)):
            report.splits.append({"segment": name, "split": split, "entered": entered, "members": int(members),
                                  "converted": int(converted), "conversion_rate": _ratio(int(converted), entered)})
    return report
