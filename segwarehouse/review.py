"""Reviewing a change (SPEC section 11): the selected segments as defined at a git revision and in
the working tree, evaluated at one as_of on the target's data, in one planned statement; nothing
written. Also `state:modified`: which segments' evaluated definitions differ from a revision."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from sqlglot import exp

from . import selectors
from .adapters.base import Adapter
from .compiler import comparison as c
from .compiler.plan import Plan, build_plan, static_table
from .errors import Outcome, RunError
from .materialize.runner import read_catalog
from .materialize.static import load_static_tables, read_static
from .project.loader import LoadedProject
from .project.revision import Revision
from .spec import model as m
from .spec.graph import closure, topological
from .spec.values import utc_z

DIFF = "_sw_diff"


def ref_static_table(segment: str) -> exp.Table:
    """REF's static values, beside the working tree's `_sw_static_<segment>` (fits 63 characters)."""
    return exp.table_(f"_sw_ref_{segment}", quoted=True)


@dataclass
class SegmentDiff:
    segment: str
    status: str  # added, removed, modified, unchanged (without --against: changed, unchanged, error, skipped)
    before: int = 0
    after: int = 0
    entered: int = 0
    exited: int = 0
    entered_sample: list = field(default_factory=list)
    exited_sample: list = field(default_factory=list)
    updated: Optional[int] = None  # without --against only: field changes a run would record
    error: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        out = {"segment": self.segment, "status": self.status, "before": self.before, "after": self.after,
               "entered": self.entered, "exited": self.exited, "entered_sample": list(self.entered_sample),
               "exited_sample": list(self.exited_sample)}
        if self.updated is not None:
            out["updated"] = self.updated
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class DiffResult(Outcome):
    """`Project.diff`'s answer: per segment the status, counts and samples; `ok` and
    `raise_for_failures()` as for runs. `against` is the full commit sha (None: the last run)."""

    as_of: dt.datetime
    against: Optional[str]
    ref: Optional[str]
    segments: list[SegmentDiff]

    def failures(self) -> list[str]:
        return [f"{s.segment}: {s.error}" for s in self.segments if s.error]

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": utc_z(self.as_of), "against": self.against, "segments": [s.as_dict() for s in self.segments]}


# --- definitions -------------------------------------------------------------------------------------
def enabled(segments: dict[str, m.Segment]) -> dict[str, m.Segment]:
    """A disabled segment is not run, so it counts as absent from its version."""
    return {n: s for n, s in segments.items() if s.enabled}


def static_digests(project: LoadedProject, names: Sequence[str]) -> dict[str, str]:
    """A digest of the values each static segment (among the names and what they reference) reads:
    editing the CSV changes who is a member, so it modifies the segment and those reading it."""
    digests = {}
    for name in closure(project.segments, names):
        segment = project.segments[name]
        if segment.static:
            try:
                text = "\n".join(sorted(read_static(project.root, segment).values))
            except RunError as e:
                text = f"unreadable: {e}"
            digests[name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def definitions(project: LoadedProject, names: Sequence[str], as_of: dt.datetime) -> c.Definitions:
    names = list(names)
    return c.definitions(project.config, project.segments, names, as_of, static_digests(project, names))


def modified_since(current: LoadedProject, previous: LoadedProject, as_of: dt.datetime) -> set[str]:
    """`state:modified`: segments of the working tree that REF lacks or defines differently."""
    now, then = enabled(current.segments), enabled(previous.segments)
    after = definitions(current, list(now), as_of).digests
    before = definitions(previous, [n for n in now if n in then], as_of).digests
    return {n for n in now if c.status_of(n, before, after) in (c.ADDED, c.MODIFIED)}


def union_of(current: LoadedProject, previous: LoadedProject) -> dict[str, m.Segment]:
    """Both versions' segments for selecting (the working tree's definition where both have one),
    in dependency order."""
    return topological({**enabled(previous.segments), **enabled(current.segments)})


# --- evaluation --------------------------------------------------------------------------------------
class Review:
    """Evaluates both versions of the selected segments on one adapter."""

    def __init__(self, adapter: Adapter, current: LoadedProject, previous: LoadedProject, revision: Revision):
        self.adapter = adapter
        self.current, self.previous, self.revision = current, previous, revision

    def diff(self, select: Optional[Sequence[str]], exclude: Optional[Sequence[str]], as_of: dt.datetime,
             samples: int, state: Optional[set[str]] = None) -> DiffResult:
        names = selectors.select(union_of(self.current, self.previous), select, exclude, state=state)
        now, then = enabled(self.current.segments), enabled(self.previous.segments)
        after = definitions(self.current, [n for n in names if n in now], as_of)
        before = definitions(self.previous, [n for n in names if n in then], as_of)
        statuses = {n: c.status_of(n, before.digests, after.digests) for n in names}
        pairs = c.pairs_of(names, statuses)
        results = {p.segment: SegmentDiff(p.segment, p.status) for p in pairs}

        after_plan, before_plan = self._plans(pairs, before, after, as_of, results)
        good = [p for p in pairs if not results[p.segment].error]
        temps = [DIFF]
        try:
            temps += self._load_static(after_plan, before_plan, good, results)
            good = [p for p in good if not results[p.segment].error]
            if good:
                self._evaluate(before_plan, after_plan, good, results, samples)
        finally:
            for name in temps:
                self.adapter.drop_temp(name)
        return DiffResult(as_of, self.revision.sha, self.revision.ref, [results[n] for n in names])

    def _plans(self, pairs: list[c.Pair], before: c.Definitions, after: c.Definitions, as_of: dt.datetime,
               results: dict[str, SegmentDiff]) -> tuple[Plan, Plan]:
        """Each version's plan against the target's catalog; a segment refused or reading a column
        the target lacks, in either version it needs, fails alone."""
        at = f"at {self.revision.ref}: "
        for p in pairs:
            refusal = after.refused.get(p.segment) if p.after else None
            refusal = refusal or ((at + before.refused[p.segment]) if p.before and p.segment in before.refused
                                  else None)
            results[p.segment].error = refusal
        def wanted(side: str) -> list[str]:  # REF evaluates only what differs
            return [p.segment for p in pairs if getattr(p, side) and not results[p.segment].error
                    and (side == "after" or p.status != c.UNCHANGED)]

        catalog = read_catalog(self.adapter, self.current.config)
        people = self.current.config.people.table
        if catalog.columns(people) is None:
            raise RunError(f"the people table {people} does not exist in the target ({self.adapter.description})")
        if not c.compatible(self.previous.config, self.current.config):
            previous_catalog = read_catalog(self.adapter, self.previous.config)
        else:
            previous_catalog = catalog
        after_plan = build_plan(self.current.config, self.current.segments, wanted("after"), as_of, catalog)
        before_plan = build_plan(self.previous.config, self.previous.segments, wanted("before"), as_of,
                                 previous_catalog, static_naming=ref_static_table)
        for p in pairs:
            problems = [str(x) for x in after_plan.problems_of(p.segment)] if p.after else []
            if p.before and p.before != p.after:
                problems += [at + str(x) for x in before_plan.problems_of(p.segment)]
            if problems and not results[p.segment].error:
                results[p.segment].error = "; ".join(problems)
        return after_plan, before_plan

    def _load_static(self, after: Plan, before: Plan, pairs: list[c.Pair], results: dict[str, SegmentDiff]) -> list[str]:
        """Fill the static value tables both versions read; a CSV that can't be read fails the
        segments reading it. Returns the temporary tables made."""
        made = []
        for plan, project, side, naming in ((after, self.current, "after", None),
                                            (before, self.previous, "before", ref_static_table)):
            readers = {p.segment: plan.static_of(p.segment) for p in pairs
                       if getattr(p, side) and (side == "after" or p.status != c.UNCHANGED)}
            statics = list(dict.fromkeys(s for names in readers.values() for s in names))
            options = {"naming": naming} if naming else {}
            load = load_static_tables(self.adapter, project.root, project.config, project.segments, statics, **options)
            made += [(naming or static_table)(s).name for s in statics if s not in load.broken]
            for segment, names in readers.items():
                broken = [load.broken[s] for s in names if s in load.broken]
                if broken and not results[segment].error:
                    results[segment].error = (f"at {self.revision.ref}: " if side == "before" else "") + broken[0]
        return made

    def _evaluate(self, before: Plan, after: Plan, pairs: list[c.Pair], results: dict[str, SegmentDiff],
                  samples: int) -> None:
        """Every pair in one statement; should it fail, each pair alone, so an engine error (a
        failing `sql:`) fails only the segment it belongs to."""
        try:
            self._measure(before, after, pairs, results, samples)
            return
        except Exception:  # noqa: BLE001 - isolated below
            pass
        for pair in pairs:
            try:
                self._measure(before, after, [pair], results, samples)
            except Exception as e:  # noqa: BLE001
                results[pair.segment].error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else e!r}"

    def _measure(self, before: Plan, after: Plan, pairs: list[c.Pair], results: dict[str, SegmentDiff],
                 samples: int) -> None:
        self.adapter.create_temp(DIFF, c.flags_query(before, after, pairs))
        table = exp.table_(DIFF, quoted=True)
        row = self.adapter.execute(c.counts_query(table, pairs))[0]
        wanted = []
        for i, p in enumerate(pairs):
            r = results[p.segment]
            r.before, r.after, r.entered, r.exited = (int(v) for v in row[4 * i:4 * i + 4])
            if samples:
                wanted += [(i, "entered", c.entered(p))] if r.entered else []
                wanted += [(i, "exited", c.exited(p))] if r.exited else []
        if wanted:
            found: dict[tuple[int, str], list] = {}
            for i, direction, key in self.adapter.execute(c.samples_query(table, wanted, samples)):
                found.setdefault((int(i), direction), []).append(key)
            for (i, direction), keys in found.items():
                setattr(results[pairs[i].segment], f"{direction}_sample", sorted(keys))


# --- without --against: the last stored run ------------------------------------------------------------
def of_run(result: Any) -> DiffResult:
    """A run evaluated without applying it (`Runner.run(apply=False)`), as a DiffResult: before is
    what the last run stored, after what a run would store now."""
    rows = []
    for r in result.results:
        changed = r.entered or r.exited or r.updated
        status = r.status if r.status != "success" else ("changed" if changed else "unchanged")
        rows.append(SegmentDiff(r.segment, status, r.members - r.entered + r.exited, r.members, r.entered, r.exited,
                                list(r.samples.get("entered", [])), list(r.samples.get("exited", [])),
                                updated=r.updated, error=r.error))
    return DiffResult(result.as_of, None, None, rows)
