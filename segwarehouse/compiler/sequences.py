"""Sequences (SPEC section 4): "added to cart, then checkout within 1 hour, then no purchase within
1 day" as a per-person boolean, computed by one relation that the evaluation relation LEFT JOINs
like a scan.

No join over history: rows are *reachable* step by step. A row of step i is reachable when the
latest reachable row of step i-1 strictly before it (same person, same `same` values) exists and
lies within `within_after`: that latest row is the best candidate for the bound, so one window
function per step over the UNION of both steps' rows decides, ordered by time. At equal times the
current step's rows sort first, so an equal timestamp never chains (strictly later). A negative
last step is decided by the earliest step-n row after each reachable step n-1 row (the same window,
ordered the other way), plus the wait being over (t + D <= as_of, a literal bound pushed into the
scan of step n-1). Each step reads only the rows its own window admits, and never rows older than
the earliest row the steps before it can have reached (the bounds pass forward)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from sqlglot import exp

from ..spec import model as m
from .conditions import SequenceFeature, read_path
from . import anchors
from .literals import TEXT, as_kind, cast, conjunction, named, plus, timestamp
from .names import table_of as table
from .plan import KEY, PEOPLE, ROW, lower_bound, match_predicate

TIME, KIND, PREVIOUS, NEXT_TIME = "_sw_t", "_sw_kind", "_sw_prev_t", "_sw_next_t"
EARLIER, LATER = 1, 0  # _sw_kind of the previous step's rows and of the current step's rows


def _link(i: int) -> str:  # the value of step i's j-th `same` path (this row's, or the previous row's)
    return f"_sw_same_{i}"


def _next(i: int) -> str:  # the value of the next step's j-th `same` path, read on this row
    return f"_sw_next_{i}"


def _col(name: str, alias: Optional[str] = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


@dataclass
class SequenceScan:
    """The relation computing one sequence feature: one row per person for whom it holds (TRUE).
    A plan.Relation."""

    feature: SequenceFeature
    streams: dict[str, m.Stream]
    name: str = ""
    features: list[SequenceFeature] = field(default_factory=list)
    people: Optional[m.People] = None  # joined (as PEOPLE) to the rows of steps after/before a people column

    def __post_init__(self) -> None:
        self.features = [self.feature]
        self.name = self.name or f"_sw_scan_{self.feature.column[len('_sw_'):]}"

    @property
    def source(self) -> str:
        """What the relation reads, for error messages."""
        streams = dict.fromkeys(s.match.stream for s in self.feature.steps)
        return "sequence over stream(s) " + ", ".join(f"'{s}' ({self.streams[s].table})" for s in streams)

    @property
    def columns(self) -> list[str]:
        return [self.feature.column]

    def parts(self) -> list["SequenceScan"]:
        return [self]

    def query(self, as_of: dt.datetime) -> exp.Select:
        *_, last = self._chain(Steps(self.feature.steps, self.streams, as_of, self.people))
        return (exp.select(_col(KEY), named(exp.true(), self.feature.column))
                .from_(last.subquery("r", copy=False), copy=False).group_by(_col(KEY), copy=False))

    def progress(self, as_of: dt.datetime, person: exp.Expression) -> list[exp.Expression]:
        """For `explain`, one person's way through the steps: per step, the earliest time a chain
        r1..ri ends (NULL: the step was never reached); for a negative last step, the earliest step
        n-1 row that no step-n row followed. Scalar subqueries over that person's rows only."""
        rows = Steps(self.feature.steps, self.streams, as_of, self.people, person)
        return [exp.Subquery(this=exp.select(exp.Min(this=_col(TIME))).from_(chain.subquery("r", copy=False)))
                for chain in self._chain(rows)]

    def _chain(self, rows: "Steps") -> list[exp.Select]:
        """Each step's rows that end a chain (the last one: a negative step's unfollowed rows)."""
        steps = self.feature.steps
        chain = [rows.selected(0)]
        for i in range(1, len(steps)):
            negative = i == len(steps) - 1 and not steps[i].performed
            chain.append(rows.unfollowed(chain[-1]) if negative else rows.reachable(i, chain[-1]))
        return chain


class Steps:
    """The row relations of one sequence's steps at one as_of."""

    def __init__(self, steps: tuple[m.Step, ...], streams: dict[str, m.Stream], as_of: dt.datetime,
                 people: Optional[m.People] = None, person: Optional[exp.Expression] = None):
        self.steps, self.streams, self.as_of, self.people = steps, streams, as_of, people
        self.person = person  # a key literal: only that person's rows (explain)
        # A row of step i is later than some row of step i-1, so it is later than that step's
        # earliest admissible time too: each step's lower bound is the tightest of its own and
        # those of the steps before it.
        self.lower: list[Optional[dt.datetime]] = []
        for step in steps:
            own = lower_bound(step.match.window, as_of)
            inherited = self.lower[-1] if self.lower else None
            self.lower.append(max((b for b in (own, inherited) if b is not None), default=None))

    def _stream(self, i: int) -> m.Stream:
        return self.streams[self.steps[i].match.stream]

    def _paths(self, i: int, paths: tuple[m.Path, ...], prefix) -> list[exp.Expression]:
        return [named(read_path(p, ROW, TEXT), prefix(j)) for j, p in enumerate(paths)]

    def _next_paths(self, i: int) -> tuple[m.Path, ...]:
        return self.steps[i + 1].same if i + 1 < len(self.steps) else ()

    def rows(self, i: int, kind: Optional[int] = None) -> exp.Select:
        """Step i's rows: person, time, its own `same` values and the next step's, filtered by the
        step's match and the bounds the steps around it imply."""
        step, stream = self.steps[i], self._stream(i)
        ts = exp.column(stream.timestamp, table=ROW, quoted=True)
        checks = [match_predicate(step.match, stream, self.as_of)]
        if self.lower[i] is not None and self.lower[i] != lower_bound(step.match.window, self.as_of):
            checks.append(exp.GT(this=ts.copy(), expression=timestamp(self.lower[i])))
        following = self.steps[i + 1] if i + 1 < len(self.steps) else None
        if following is not None and i + 2 == len(self.steps) and not following.performed and following.within_after:
            # only a row whose wait is over can be the last before a negative step: t + D <= as_of
            checks.append(exp.LTE(this=ts.copy(), expression=timestamp(self.as_of - following.within_after.delta)))
        same = self._paths(i, step.same, _link) if i else []
        checks += [exp.not_(exp.Is(this=s.this.copy(), expression=exp.null()), copy=False) for s in same]
        if self.person is not None:
            checks.append(as_kind(exp.column(stream.key, table=ROW, quoted=True), TEXT).eq(self.person.copy()))
        columns = [named(exp.column(stream.key, table=ROW, quoted=True), KEY), named(ts, TIME), *same]
        if kind is not None:
            columns.append(named(exp.Literal.number(kind), KIND))
        columns += self._paths(i, self._next_paths(i), _next)
        query = exp.select(*columns).from_(table(stream.table).as_(ROW, quoted=True), copy=False)
        if anchors.anchored(step.match.window):
            query = anchors.join_people(query, stream, ROW, self.people, PEOPLE, [step.match.window])
        return query.where(conjunction(checks), copy=False)

    def selected(self, i: int) -> exp.Select:
        return self.rows(i)

    def _union(self, i: int, reached: exp.Select, keep_null_links: bool) -> exp.Expression:
        """Step i-1's reachable rows (EARLIER) and step i's rows (LATER), in one relation whose
        `same` columns hold step i's paths as read on each row."""
        links = len(self.steps[i].same)
        nexts = len(self._next_paths(i))
        previous = reached.subquery("r", copy=False)
        earlier = exp.select(_col(KEY, "r"), _col(TIME, "r"),
                             *(named(_col(_next(j), "r"), _link(j)) for j in range(links)),
                             named(exp.Literal.number(EARLIER), KIND),
                             *(named(cast(exp.null(), "VARCHAR"), _next(j)) for j in range(nexts))).from_(previous)
        if not keep_null_links and links:
            earlier = earlier.where(conjunction([exp.not_(exp.Is(this=_col(_next(j), "r"), expression=exp.null()))
                                                 for j in range(links)]), copy=False)
        return exp.union(earlier, self.rows(i, LATER), distinct=False, copy=False)

    def _window(self, i: int, function: exp.Expression, descending: bool) -> exp.Window:
        """function over the person's rows with equal `same` values, in time order; at equal times
        the current step's rows come first (ascending) or last (descending), so they never see an
        earlier step's row of the same time."""
        partition = [_col(KEY), *(_col(_link(j)) for j in range(len(self.steps[i].same)))]
        order = exp.Order(expressions=[exp.Ordered(this=_col(TIME), desc=descending, nulls_first=False),
                                       exp.Ordered(this=_col(KIND), desc=descending, nulls_first=False)])
        spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
        return exp.Window(this=function, partition_by=partition, order=order, spec=spec)

    def _times_of(self, kind: int) -> exp.Expression:
        return exp.Case().when(_col(KIND).eq(exp.Literal.number(kind)), _col(TIME))

    def _carried(self, i: int) -> list[exp.Expression]:
        return [_col(KEY), _col(TIME), *(_col(_link(j)) for j in range(len(self.steps[i].same))),
                _col(KIND), *(_col(_next(j)) for j in range(len(self._next_paths(i))))]

    def reachable(self, i: int, reached: exp.Select) -> exp.Select:
        """Step i's rows that end a chain r1..ri: the latest reachable step i-1 row before each
        (same person and `same` values) exists and is within `within_after` of it."""
        step = self.steps[i]
        latest = self._window(i, exp.Max(this=self._times_of(EARLIER)), descending=False)
        windowed = (exp.select(*self._carried(i), named(latest, PREVIOUS))
                    .from_(self._union(i, reached, keep_null_links=False).subquery("u", copy=False), copy=False))
        checks = [_col(KIND).eq(exp.Literal.number(LATER)),
                  exp.not_(exp.Is(this=_col(PREVIOUS), expression=exp.null()), copy=False)]
        if step.within_after:
            checks.append(exp.LTE(this=_col(TIME), expression=plus(_col(PREVIOUS), step.within_after)))
        columns = [_col(KEY), _col(TIME), _col(PREVIOUS), *(_col(_link(j)) for j in range(len(step.same))),
                   *(_col(_next(j)) for j in range(len(self._next_paths(i))))]
        return (exp.select(*columns).from_(windowed.subquery("w", copy=False), copy=False)
                .where(conjunction(checks), copy=False))

    def unfollowed(self, reached: exp.Select) -> exp.Select:
        """The reachable step n-1 rows that no step-n row follows (strictly later, within
        `within_after`, same values), whose wait is over (pushed into the rows of step n-1)."""
        i = len(self.steps) - 1
        step = self.steps[i]
        earliest = self._window(i, exp.Min(this=self._times_of(LATER)), descending=True)
        windowed = (exp.select(*self._carried(i), named(earliest, NEXT_TIME))
                    .from_(self._union(i, reached, keep_null_links=True).subquery("u", copy=False), copy=False))
        free = exp.Is(this=_col(NEXT_TIME), expression=exp.null())
        if step.within_after:
            free = exp.or_(free, exp.GT(this=_col(NEXT_TIME), expression=plus(_col(TIME), step.within_after)))
        checks = [_col(KIND).eq(exp.Literal.number(EARLIER)), exp.paren(free, copy=False)]
        return (exp.select(_col(KEY), _col(TIME)).from_(windowed.subquery("w", copy=False), copy=False)
                .where(conjunction(checks), copy=False))
