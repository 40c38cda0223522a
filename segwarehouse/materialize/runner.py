"""A run: evaluate the selected segments at one as_of and apply each one atomically (SPEC section 7)."""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Optional

from sqlglot import exp

from ..adapters.base import Adapter
from ..compiler.catalog import Catalog
from ..compiler.literals import timestamp
from ..compiler.plan import EVALUATION, Plan, Relation, build_plan, member_columns, table
from ..errors import Outcome, RunError
from ..events import Reporter, Silent
from ..spec import model as m
from ..spec.values import utc_z
from . import audiences, statements as st
from .static import load_static_tables
from .tables import RUNS, ensure, output_table, people_columns

EVAL = EVALUATION


def new_run_id(started: dt.datetime) -> str:
    """Sorts in run order: the start time to the microsecond, then a random suffix."""
    return f"{started:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class SegmentResult:
    segment: str
    status: str  # success, error, skipped
    members: int = 0
    entered: int = 0
    exited: int = 0
    updated: int = 0
    seconds: float = 0.0
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    samples: dict[str, list] = field(default_factory=dict)  # diff: the smallest keys entered / exited


@dataclass
class RunResult(Outcome):
    run_id: str
    as_of: dt.datetime
    results: list[SegmentResult]

    def failures(self) -> list[str]:
        return [f"{r.segment} ({r.status}): {r.error}" for r in self.results if r.status != "success"]


class Runner:
    def __init__(self, project: m.ProjectSpec, adapter: Adapter, reporter: Reporter | None = None):
        self.project = project
        self.config = project.config
        self.adapter = adapter
        self.reporter = reporter or Silent()
        self.schema = self.config.output_schema

    # --- preparation ---------------------------------------------------------------------------
    def ensure_tables(self) -> str:
        """Create the output tables if missing; returns the people key's type."""
        self.people_types = people_columns(self.adapter, self.config)
        self.people_columns = list(self.people_types)
        return ensure(self.adapter, self.config, self.people_types)

    def check_people_key(self) -> None:
        """The key must be unique and non-null before anything is applied (fail with a count and examples)."""
        people = self.config.people
        key = exp.column(people.key, quoted=True)
        source = table(people.table)
        nulls = self.adapter.execute(exp.select(exp.Count(this=exp.Star())).from_(source.copy())
                                     .where(exp.Is(this=key.copy(), expression=exp.null())))[0][0]
        dupes = self.adapter.execute(
            exp.select(key.copy(), exp.Count(this=exp.Star()).as_("n")).from_(source.copy())
            .where(exp.not_(exp.Is(this=key.copy(), expression=exp.null())))
            .group_by(key.copy()).having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
            .order_by(key.copy()))
        if nulls or dupes:
            parts = []
            if nulls:
                parts.append(f"{nulls} row(s) with a NULL {people.key}")
            if dupes:
                sample = ", ".join(f"{k!r} ({n} rows)" for k, n in dupes[:5])
                parts.append(f"{len(dupes)} duplicated {people.key} value(s), e.g. {sample}")
            raise RunError(f"people.key '{people.key}' of {people.table} must be unique and non-null: "
                           + "; ".join(parts) + ". Nothing was applied.")

    def last_as_of(self) -> dict[str, dt.datetime]:
        runs = output_table(self.schema, RUNS)
        rows = self.adapter.execute(
            exp.select(exp.column("segment", quoted=True), exp.Max(this=exp.column("as_of", quoted=True)))
            .from_(runs).where(exp.column("status", quoted=True).eq(exp.Literal.string("success")))
            .group_by(exp.column("segment", quoted=True)))
        return {segment: as_of for segment, as_of in rows}

    # --- the run -----------------------------------------------------------------------------------
    def plan(self, selected: list[str], as_of: dt.datetime) -> Plan:
        """The run's plan, with the target's catalog: columns checked, types known."""
        return build_plan(self.config, self.project.segments, selected, as_of, read_catalog(self.adapter, self.config))

    def run(self, selected: list[str], as_of: dt.datetime, fail_fast: bool = False,
            started: Optional[dt.datetime] = None, apply: bool = True, samples: int = 0) -> RunResult:
        """Evaluate every selected segment, then apply all that succeeded in one transaction.
        With apply=False (`diff`), count what would change, keep up to `samples` of the smallest
        keys entered and exited per segment, and write nothing."""
        started = started or utc_now()
        run_id = new_run_id(started)
        self.reporter.event("run_started", run_id=run_id, as_of=utc_z(as_of), segments=len(selected))
        person_type = self.ensure_tables()
        self.check_people_key()
        self.last = self.last_as_of()
        self.as_of = as_of
        plan = self.plan(selected, as_of)
        static = load_static_tables(self.adapter, self.project.root, self.config, plan.segments, plan.static)
        self.broken_static = static.broken
        self.broken_features = self._build_evaluation(plan)
        self.adapter.create_temp(st.DELTA, st.delta_query(person_type))

        results: dict[str, SegmentResult] = {}
        stopped = False
        for name in selected:  # gate -> evaluate
            result = results[name] = SegmentResult(name, "success", notes=static.notes.get(name, []))
            blocked = (("skipped", "skipped: --fail-fast after a failure") if stopped
                       else self._blocked(plan, name, results))
            if blocked:
                result.status, result.error = blocked
            else:
                self._evaluate(plan, name, result)
            stopped = stopped or (fail_fast and result.status == "error")

        applied = [n for n in selected if results[n].status == "success"]  # -> apply
        try:
            self._apply(applied, results, run_id, as_of, started, write=apply)
        except Exception as e:  # noqa: BLE001 - the transaction rolled back: nothing was applied
            for name in applied:
                results[name].status, results[name].error = "error", f"applying the run failed: {_engine_message(e)}"
            if apply:
                self._record(run_id, as_of, started, [results[n] for n in applied])
        if samples and not apply and applied:
            for name, change, person in self.adapter.execute(st.change_samples(samples)):
                results[name].samples.setdefault(change, []).append(person)
        for name in selected:
            r = results[name]
            self.reporter.event("segment_finished", segment=name, status=r.status, members=r.members,
                                entered=r.entered, exited=r.exited, updated=r.updated,
                                seconds=round(r.seconds, 3), error=r.error)
        self._drop_temps()
        return RunResult(run_id, as_of, [results[n] for n in selected])

    def _blocked(self, plan: Plan, name: str, results: dict[str, SegmentResult]) -> Optional[tuple[str, str]]:
        """Why a segment cannot be evaluated in this run, as (status, message), or None."""
        refs = plan.closure(name)[:-1]
        failed_refs = [r for r in refs if r in results and results[r].status != "success"]
        if failed_refs:
            return "skipped", f"skipped: it references failed segment(s) {', '.join(failed_refs)}"
        if plan.problems.get(name):
            return "error", "; ".join(map(str, plan.problems[name]))
        if any(plan.problems.get(r) for r in refs):
            broken = [r for r in refs if plan.problems.get(r)]
            return "skipped", f"skipped: it references segment(s) that read missing columns: {', '.join(broken)}"
        if too_long(name, self.adapter.MAX_IDENTIFIER_LENGTH):
            return "error", (f"the segment name is longer than {self.adapter.MAX_IDENTIFIER_LENGTH} characters, the "
                             f"longest name {self.adapter.dialect} allows for its view; shorten it")
        if name in self.last and self.as_of < self.last[name]:
            return "error", (f"as_of {utc_z(self.as_of)} is earlier than the last successful run of '{name}' "
                             f"({utc_z(self.last[name])}); runs move forward in time only")
        unreadable = [s for s in plan.closure(name) if s in self.broken_static]
        if unreadable:
            return "error", self.broken_static[unreadable[0]]
        features = sorted(plan.features_of(name) & self.broken_features.keys())
        if features:
            return "error", self.broken_features[features[0]]
        return None

    def _build_evaluation(self, plan: Plan) -> dict[str, str]:
        """One row per person with every feature, in one statement (the engine pipelines each
        scan's aggregate into its join). Should that fail, each scan is built alone, and each
        feature of a failing scan alone, to find the broken features. Returns them with the
        reason, so only the segments reading them fail."""
        self.temps = [EVAL]
        try:
            self._create_temp(EVAL, plan.evaluation(lambda scan: scan.query(plan.as_of).subquery()))
            return {}
        except Exception:  # noqa: BLE001 - isolate the failing features below
            pass
        broken: dict[str, str] = {}
        good: list[Relation] = []
        for scan in plan.scans:
            error = self._try_scan(scan)
            if error is None:
                good.append(scan)
                continue
            parts = [(scan, error)] if len(scan.features) == 1 else [(part, self._try_scan(part)) for part in scan.parts()]
            for part, error in parts:
                if error is None:
                    good.append(part)
                else:
                    message = f"{scan.source}: {_engine_message(error)}"
                    broken.update({f.column: message for f in part.features})
        evaluation = plan.evaluation(lambda scan: exp.table_(scan.name, quoted=True), good)
        self._create_temp(EVAL, evaluation)
        return broken

    def _try_scan(self, scan: Relation) -> Optional[Exception]:
        """Build one scan's temp table; the engine's error when it fails."""
        self.temps.append(scan.name)
        try:
            self._create_temp(scan.name, scan.query(self.as_of))
            return None
        except Exception as e:  # noqa: BLE001 - reported against the segments reading it
            return e

    def _create_temp(self, name: str, query: exp.Query) -> None:
        self.adapter.create_temp(name, query)

    def _evaluate(self, plan: Plan, name: str, result: SegmentResult) -> None:
        """Collect one segment's changes; an engine error fails this segment only."""
        segment = plan.segments[name]
        self.reporter.event("segment_started", segment=name)
        t0 = time.perf_counter()
        key = self.config.people.key
        _, fields = member_columns(segment, exp.column(key, quoted=True))

        def split(person: exp.Expression) -> exp.Expression:
            return member_columns(segment, person)[0]

        try:
            self.adapter.execute(st.insert_changes(self.schema, EVAL, name, key, plan.predicate(name), split,
                                                   fields if segment.fields else None,
                                                   self.adapter.json_text))
        except Exception as e:  # noqa: BLE001
            result.status, result.error = "error", _engine_message(e)
        result.seconds = time.perf_counter() - t0

    def _apply(self, names: list[str], results: dict[str, SegmentResult], run_id: str, as_of: dt.datetime,
               started: dt.datetime, write: bool = True) -> None:
        """One transaction: change log, members, views and run records of every evaluated segment."""
        failed = [results[n] for n in results if results[n].status != "success"]
        if not names:
            if write:
                self._record(run_id, as_of, started, failed)
            return
        for name, count in self.adapter.execute(st.member_counts(self.schema, names)):
            results[name].members = count
        for name, change, count in self.adapter.execute(st.change_counts()):
            if name in names:
                setattr(results[name], change, count)
                results[name].members += {"entered": count, "exited": -count}.get(change, 0)
        if not write:
            return
        # Views are replaced every run (the people table may have moved). They are DDL: inside the
        # transaction where DDL is transactional, before it where DDL commits on its own (Snowflake);
        # a view only reads segment_members, so creating it early changes no member anyone sees.
        def replace_views() -> None:
            for name in names:
                self.adapter.replace_view(output_table(self.schema, name), st.segment_view(
                    self.schema, name, table(self.config.people.table), self.config.people.key))
            for statement in audiences.create_schema(self.config):  # opted in: the views Census reads
                self.adapter.execute(statement)
            for view, query in audiences.views(self.config, self.project.segments):
                self.adapter.replace_view(view, query)

        if not self.adapter.TRANSACTIONAL_DDL:
            replace_views()
        with self.adapter.transaction():
            for statement in st.apply_statements(self.schema, run_id, as_of):
                self.adapter.execute(statement)
            if self.adapter.TRANSACTIONAL_DDL:
                replace_views()
            self._insert_runs(run_id, as_of, started, [results[n] for n in names] + failed)

    def _insert_runs(self, run_id: str, as_of: dt.datetime, started: dt.datetime,
                     results: list[SegmentResult]) -> None:
        if not results:
            return
        finished = timestamp(utc_now())
        rows = []
        for r in results:
            segment = self.project.segments[r.segment]
            rows.append(exp.tuple_(
                exp.Literal.string(run_id), exp.Literal.string(r.segment), timestamp(as_of), timestamp(started),
                finished.copy(), exp.Literal.string(r.status),
                *(exp.Literal.number(v) for v in (r.members, r.entered, r.exited, r.updated)),
                exp.Literal.string(segment.definition_hash),
                exp.Literal.string(r.error) if r.error else exp.null()))
        self.adapter.execute(exp.insert(exp.Values(expressions=rows), output_table(self.schema, RUNS)))

    def _record(self, run_id, as_of, started, results: list[SegmentResult]) -> None:
        """Record failed segments in segment_runs; recording must never hide the failure itself."""
        try:
            with self.adapter.transaction():
                self._insert_runs(run_id, as_of, started, results)
        except Exception:  # noqa: BLE001
            pass

    def _drop_temps(self) -> None:
        for name in dict.fromkeys([*self.temps, st.DELTA]):
            self.adapter.drop_temp(name)


def read_catalog(adapter: Adapter, config: m.ProjectConfig) -> Catalog:
    """Column types of the people and stream tables in the target. Column names match
    case-insensitively: rendering folds every name the way its engine folds unquoted names."""
    return Catalog.read(config, adapter.column_types, description=f"({adapter.description})")


def too_long(name: str, limit: int | None) -> bool:
    return limit is not None and len(name) > limit


def _engine_message(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else error!r}"
