"""`report`: what the output tables say about segments over time, read back from the warehouse.

Three sections, each a list of plain rows so the CLI can print a table, JSON or CSV:
- history: per run and segment, members / entered / exited / updated (size over time);
- overlap: for each pair of selected segments, the people they share now;
- splits: per split group, the people who ever entered, those still members, and the conversion:
  the share of entrants now in the `goal` segment, or without a goal, the share who have exited
  (for "added to cart but did not buy", leaving is the conversion); and each group's lift against
  the control group with a 95% confidence interval (`lift`).
Shares stay numbers (0.1029) for json/csv; `display` and `render_html` print them for people (10.3%).
"""
from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import jinja2
from sqlglot import exp

from .adapters.base import Adapter
from .materialize.tables import CHANGES, MEMBERS, RUNS, output_table
from .charts import lift_chart, number, overlap_heatmap, percent, points, size_chart
from .spec import model as m

HISTORY_COLUMNS = ["segment", "run_id", "as_of", "finished_at", "status", "members", "entered", "exited", "updated"]
OVERLAP_COLUMNS = ["segment", "other", "shared", "share_of_segment", "share_of_other"]
SPLIT_COLUMNS = ["segment", "split", "entered", "members", "converted", "conversion_rate", "control", "lift",
                 "lift_low", "lift_high"]
SHARES = {"share_of_segment", "share_of_other", "conversion_rate"}  # fractions, shown as percents
LIFTS = {"lift", "lift_low", "lift_high"}  # differences of fractions, shown in percentage points
Z_95 = 1.959964  # the standard normal's 97.5% quantile: a two-sided 95% interval


@dataclass
class Report:
    goal: Optional[str] = None
    history: list[dict[str, Any]] = field(default_factory=list)
    overlap: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # current members per selected segment

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
                     for k in ("entered", "members", "converted", "conversion_rate", "lift", "lift_low", "lift_high")
                     if r[k] is not None]
        return rows

    def latest(self) -> dict[str, dict[str, Any]]:
        """Per segment, its last successful run's row of `history`."""
        return {r["segment"]: r for r in self.history if r["status"] == "success"}

    def display(self) -> dict[str, tuple[list[str], list[list[str]]]]:
        """The sections as text for people: 12,345 and 10.3%, lifts as +5.2 pp, times to the minute."""
        return {name: (columns, [[shown(c, row[c]) for c in columns] for row in rows])
                for name, (columns, rows) in self.sections().items()}


def shown(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in SHARES:
        return percent(value)
    if column in LIFTS:
        return points(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return number(value)
    return str(value)


def control_group(splits: m.Splits) -> str:
    """The group each other group is compared with: the one named `control`, else the first listed
    (SPEC section 6 lists control first, in buckets 0 to 9)."""
    names = [g for g, _ in splits.groups]
    return "control" if "control" in names else names[0]


def lift(converted: int, entered: int, control_converted: int, control_entered: int
         ) -> Optional[tuple[float, float, float]]:
    """(lift, low, high): the difference of two conversion rates, p_group - p_control, with its 95%
    confidence interval by the normal approximation:
        lift +- 1.959964 * sqrt(p_g (1 - p_g) / n_g + p_c (1 - p_c) / n_c)
    None when either group has no entrants."""
    if not entered or not control_entered:
        return None
    p_g, p_c = converted / entered, control_converted / control_entered
    diff = p_g - p_c
    margin = Z_95 * math.sqrt(p_g * (1 - p_g) / entered + p_c * (1 - p_c) / control_entered)
    return diff, diff - margin, diff + margin


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
    sizes = {name: int(n) for name, n in adapter.execute(sizes_query(schema, names))}
    report.sizes = {name: sizes.get(name, 0) for name in names}
    for a, b, shared in adapter.execute(overlap_query(schema, names)):
        report.overlap.append({"segment": a, "other": b, "shared": shared,
                               "share_of_segment": _ratio(shared, sizes.get(a, 0)),
                               "share_of_other": _ratio(shared, sizes.get(b, 0))})
    for name in names:
        if segments[name].splits is None:
            continue
        control = control_group(segments[name].splits)
        rows = [{"segment": name, "split": split, "entered": int(entered), "members": int(members),
                 "converted": int(converted), "conversion_rate": _ratio(int(converted), int(entered)),
                 "control": control, "lift": None, "lift_low": None, "lift_high": None}
                for split, entered, members, converted in adapter.execute(splits_query(schema, name, goal))]
        base = next((r for r in rows if r["split"] == control), None)
        for row in rows:
            measured = None if base is None or row is base else lift(row["converted"], row["entered"],
                                                                     base["converted"], base["entered"])
            if measured is not None:
                row["lift"], row["lift_low"], row["lift_high"] = (round(v, 4) for v in measured)
        report.splits += rows
    return report


def size_points(report: Report, segment: str) -> list[tuple[str, int]]:
    """(as_of, members) of the segment's successful runs, in run order: the size-over-time chart."""
    return [(shown("as_of", r["as_of"]), int(r["members"])) for r in report.history
            if r["segment"] == segment and r["status"] == "success"]


def overlap_pairs(report: Report) -> dict[tuple[str, str], int]:
    return {(r["segment"], r["other"]): r["shared"] for r in report.overlap}


HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ project }}: segment report</title>
<style>
 body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
 table{border-collapse:collapse} th,td{text-align:left;padding:.25rem .6rem;border-bottom:1px solid #ddd}
 td.n,th.n{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#777}
</style></head><body>
<h1>{{ project }}: segment report</h1>
<p class="muted">Generated {{ generated }} by segwarehouse report{% if goal %}; conversion: being in {{ goal }}{% else %}; conversion: leaving the segment{% endif %}.</p>
<h2>Size over time</h2>
{% for name in names %}<section class="segment" id="{{ name }}"><h3>{{ name }}</h3>
{% if charts[name] %}{{ charts[name] }}{% else %}<p class="muted">No successful run yet.</p>{% endif %}</section>
{% endfor %}
{% if names|length > 1 %}<h2>Overlap</h2>{{ heatmap }}{% endif %}
{% for title, (columns, rows) in sections %}<h2>{{ title }}</h2>
{% if title == "splits" and lifts %}{{ lifts }}{% endif %}
<table><thead><tr>{% for c in columns %}<th{% if c in numeric %} class="n"{% endif %}>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for c, v in zip(columns, row) %}<td{% if c in numeric %} class="n"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endfor %}
</body></html>
"""
NUMERIC = {"members", "entered", "exited", "updated", "shared", "converted"} | SHARES | LIFTS


def render_html(project: str, report: Report, names: Sequence[str]) -> str:
    """The report as one self-contained page, with the catalogue's charts."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    charts = {n: size_chart(size_points(report, n), f"{n}: members per run") if size_points(report, n) else None
              for n in names}
    return env.from_string(HTML).render(
        project=project, goal=report.goal, names=names, charts=charts, zip=zip, numeric=NUMERIC,
        heatmap=overlap_heatmap(list(names), report.sizes, overlap_pairs(report)),
        lifts=lift_chart(report.splits) if any(r["lift"] is not None for r in report.splits) else None,
        sections=list(report.display().items()),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
