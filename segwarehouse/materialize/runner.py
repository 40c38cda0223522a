"""A run: evaluate the selected segments at one as_of and apply each one atomically (SPEC section 7)."""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Optional

from sqlglot import exp

from ..adapters.base import Adapter
from ..compiler.conditions import ConditionCompiler
from ..compiler.literals import cast, timestamp
from ..compiler.plan import EVALUATION, Scan, evaluation_query, member_columns, plan_scans, static_table, table
from ..errors import Outcome, RunError
from ..events import Reporter, Silent
from ..spec import model as m
from ..spec.graph import closure
from . import statements as st
from .static import read_static
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

    def load_static(self, names: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Temp tables of static segments' values. Returns notes (duplicates, unmatched) per segment
        and the segments whose CSV could not be read, with the reason."""
        notes: dict[str, list[str]] = {}
        broken: dict[str, str] = {}
        for name in names:
            segment = self.project.segments[name]
            try:
                values = read_static(self.project.root, segment)
            except RunError as e:
                broken[name] = str(e)
                continue
            target = static_table(name)
            self.adapter.create_temp(target.name, st.static_values_query())
            self.adapter.insert_rows(target, ["value"], [(v,) for v in values.values])
            column = exp.column(self.config.people.column_for(segment.static.match_on), quoted=True)
            matched = self.adapter.execute(
                exp.select(exp.Count(this=exp.Star())).from_(target.copy())
                .where(exp.column("value", quoted=True).isin(
                    query=exp.select(cast(column, "VARCHAR")).from_(table(self.config.people.table)))))[0][0]
            notes[name] = [f"{values.rows} CSV rows, {values.duplicates} duplicate value(s), "
                           f"{len(values.values) - matched} value(s) matching nobody"]
        return notes, broken

    # --- the run -----------------------------------------------------------------------------------
    def run(self, selected: list[str], as_of: dt.datetime, fail_fast: bool = False,
            started: Optional[dt.datetime] = None, apply: bool = True) -> RunResult:
        """Evaluate every selected segment, then apply all that succeeded in one transaction.
        With apply=False (`diff`), count what would change and write nothing."""
        started = started or utc_now()
        run_id = new_run_id(started)
        self.reporter.event("run_started", run_id=run_id, as_of=as_of.isoformat(), segments=len(selected))
        person_type = self.ensure_tables()
        self.check_people_key()
        last = self.last_as_of()
        segments = self.project.segments

        compiler = ConditionCompiler(self.config, segments, as_of, static_table, self.people_types)
        predicates = {name: compiler.segment(name) for name in selected}
        static_notes, broken_static = self.load_static([n for n in closure(segments, selected) if segments[n].static])
        scans = plan_scans(list(compiler.features.values()), self.config.streams, as_of)
        read = _columns_read(list(predicates.values()), [segments[n] for n in selected], self.people_columns)
        broken = self._build_evaluation(scans, as_of, read)
        self.adapter.create_temp(st.DELTA, st.delta_query(person_type))

        results: dict[str, SegmentResult] = {}
        stopped = False
        for name in selected:
            result = results[name] = SegmentResult(name, "success", notes=static_notes.get(name, []))
            failed_refs = [r for r in closure(segments, [name])[:-1] if r in results and results[r].status != "success"]
            features = {c.name for c in predicates[name].find_all(exp.Column)} & broken.keys()
            unreadable = [s for s in closure(segments, [name]) if s in broken_static]
            if stopped:
                result.status, result.error = "skipped", "skipped: --fail-fast after a failure"
            elif failed_refs:
                result.status, result.error = "skipped", f"skipped: it references failed segment(s) {', '.join(failed_refs)}"
            elif too_long(name, self.adapter.MAX_IDENTIFIER_LENGTH):
                result.status = "error"
                result.error = (f"the segment name is longer than {self.adapter.MAX_IDENTIFIER_LENGTH} characters, the "
                                f"longest name {self.adapter.dialect} allows for its view; shorten it")
            elif name in last and as_of < last[name]:
                result.status = "error"
                result.error = (f"as_of {as_of.isoformat()} is earlier than the last successful run of '{name}' "
                                f"({last[name].isoformat()}); runs move forward in time only")
            elif unreadable:
                result.status, result.error = "error", broken_static[unreadable[0]]
            elif features:
                result.status, result.error = "error", broken[next(iter(features))]
            else:
                self._evaluate(segments[name], predicates[name], result)
            stopped = stopped or (fail_fast and result.status == "error")

        applied = [n for n in selected if results[n].status == "success"]
        try:
            self._apply(applied, results, run_id, as_of, started, write=apply)
        except Exception as e:  # noqa: BLE001 - the transaction rolled back: nothing was applied
            for name in applied:
                results[name].status, results[name].error = "error", f"applying the run failed: {_engine_message(e)}"
            if apply:
                self._record(run_id, as_of, started, [results[n] for n in applied])
        for name in selected:
            r = results[name]
            self.reporter.event("segment_finished", segment=name, status=r.status, members=r.members,
                                entered=r.entered, exited=r.exited, updated=r.updated,
                                seconds=round(r.seconds, 3), error=r.error)
        self._drop_temps(scans)
        return RunResult(run_id, as_of, [results[n] for n in selected])

    def _build_evaluation(self, scans: list[Scan], as_of: dt.datetime, columns: list[str]) -> dict[str, str]:
        """One row per person with every feature, in one statement (the engine pipelines each
        scan's aggregate into its join). Should that fail, each scan is built alone to find the
        broken ones. Returns the features whose scan failed, with the reason, so only the segments
        reading them fail."""
        try:
            self._create_temp(EVAL, evaluation_query(self.config, scans, lambda scan: scan.query(as_of).subquery(),
                                                     columns))
            return {}
        except Exception:  # noqa: BLE001 - isolate the failing scans below
            pass
        broken: dict[str, str] = {}
        good = []
        for scan in scans:
            try:
                self._create_temp(scan.name, scan.query(as_of))
                good.append(scan)
            except Exception as e:  # noqa: BLE001
                message = f"stream '{scan.stream.name}' ({scan.stream.table}): {_engine_message(e)}"
                broken.update({f.column: message for f in scan.features})
        evaluation = evaluation_query(self.config, good, lambda scan: exp.table_(scan.name, quoted=True), columns)
        self._create_temp(EVAL, evaluation)
        return broken

    def _create_temp(self, name: str, query: exp.Query) -> None:
        self.adapter.create_temp(name, query)

    def _execute_all(self, statements: list[exp.Expression]) -> None:
        for statement in statements:
            self.adapter.execute(statement)

    def _evaluate(self, segment: m.Segment, predicate: exp.Expression, result: SegmentResult) -> None:
        """Collect one segment's changes; an engine error fails this segment only."""
        self.reporter.event("segment_started", segment=segment.name)
        t0 = time.perf_counter()
        key = self.config.people.key
        _, fields = member_columns(segment, exp.column(key, quoted=True))

        def split(person: exp.Expression) -> exp.Expression:
            return member_columns(segment, person)[0]

        try:
            self.adapter.execute(st.insert_changes(self.schema, EVAL, segment.name, key, predicate, split,
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

    def _drop_temps(self, scans: list[Scan]) -> None:
        for name in [EVAL, st.DELTA, *(s.name for s in scans)]:
            self.adapter.drop_temp(name)


def _columns_read(predicates: list[exp.Expression], segments: list[m.Segment], people: list[str]) -> list[str]:
    """The people columns that predicates and fields read (a struct column for `col.field`), so the
    per-run evaluation table carries only those. Names not in the people table are left for the
    engine to report against the segment that uses them."""
    by_lower = {c.lower(): c for c in people}
    names = [f for s in segments for f in s.fields]
    for predicate in predicates:
        for column in predicate.find_all(exp.Column):
            names.append(column.parts[0].name if column.table else column.name)
    return list(dict.fromkeys(by_lower[n.lower()] for n in names if n.lower() in by_lower))


def too_long(name: str, limit: int | None) -> bool:
    return limit is not None and len(name) > limit


def _engine_message(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else error!r}"
