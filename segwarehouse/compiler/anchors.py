"""Stream window keys relative to a people column (SPEC section 4, Stream conditions):
`after: {attribute: COL, within: D}` keeps rows with v < t (and t <= v + D), `before:` rows with
t < v (and v - D <= t), v being the person's value of COL read as a time. NULL v: no rows match.

A scan of such matches joins the people table (on the stream's key), each anchor column read as a
time once per person, not once per row. Those matches get scans of their own (`window_class`), so
scans without anchors never pay for the join."""
from __future__ import annotations

from typing import Optional

from sqlglot import exp

from ..spec import model as m
from .literals import TIMESTAMP, as_kind, minus, named, plus
from .names import table_of



def anchored(window: m.Window) -> bool:
    return window.after is not None or window.before is not None


def anchors_of(window: m.Window) -> list[tuple[str, m.Anchor]]:
    return [(key, anchor) for key, anchor in (("after", window.after), ("before", window.before)) if anchor]


def row_checks(window: m.Window, ts: exp.Expression, people_alias: str) -> list[exp.Expression]:
    """The after/before conditions on a row's timestamp `ts`; the person's anchor values, read as
    times, are columns of `people_alias` (join_people). Each is NULL when the value is NULL or not a
    time, so no row matches."""
    checks: list[exp.Expression] = []
    for key, anchor in anchors_of(window):
        value = exp.column(anchor.attribute, table=people_alias, quoted=True)
        if key == "after":  # v < t <= v + D
            checks.append(exp.LT(this=value, expression=ts.copy()))
            if anchor.within:
                checks.append(exp.LTE(this=ts.copy(), expression=plus(value.copy(), anchor.within)))
        else:  # v - D <= t < v
            checks.append(exp.LT(this=ts.copy(), expression=value))
            if anchor.within:
                checks.append(exp.GTE(this=ts.copy(), expression=minus(value.copy(), anchor.within)))
    return checks


def join_people(query: exp.Select, stream: m.Stream, row_alias: str, people: Optional[m.People],
                people_alias: str, windows: list[m.Window]) -> exp.Select:
    """The scan's rows joined to their person: the key and each anchor column of `windows`, read as a
    time (the key is unique, so no row is repeated; rows of no person belong to nobody and drop out)."""
    if people is None:
        raise AssertionError("a scan of after/before windows needs the people table")
    columns = dict.fromkeys(anchor.attribute for window in windows for _, anchor in anchors_of(window))
    person = exp.select(exp.column(people.key, quoted=True), *(
        named(as_kind(exp.column(c, quoted=True), TIMESTAMP), c) for c in columns)).from_(table_of(people.table))
    on = exp.column(people.key, table=people_alias, quoted=True).eq(
        exp.column(stream.key, table=row_alias, quoted=True))
    query.append("joins", exp.Join(this=person.subquery(people_alias, copy=False), on=on, kind="INNER"))
    return query
