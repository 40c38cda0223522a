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
from ..compiler.literals import timestamp
from ..compiler.plan import Scan, evaluation_query, members_query, plan_scans, static_table, table
from ..errors import RunError
from ..events import Reporter, Silent
from ..project.loader import LoadedProject
from ..spec import model as m
from . import statements as st
from .static import read_static
from .tables import RUNS, create_schema, definitions, output_table

EVAL = "_sw_people"


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
class RunResult:
    run_id: str
    as_of: dt.datetime
    results: list[SegmentResult]

    @property
    def ok(self) -> bool:
        return all(r.status == "success" for r in self.results)


class Runner:
    def __init__(self, project: LoadedProject, adapter: Adapter, reporter: Reporter | None = None):
        self.project = project
        self.config = project.config
        self.adapter = adapter
        self.reporter = reporter or Silent()
        self.schema = self.config.output_schema

    # --- preparation ---------------------------------------------------------------------------
    def ensure_tables(self) -> None:
        people = self.config.people
        columns = self.adapter.column_types(people.table)
        if columns is None:
            raise RunError(f"the people table {people.table} does not exist in the target "
                           f"({self.adapter.description}); run `segwarehouse demo` for demo data, or fix "
                           "`people.table` in segwarehouse.yml")
        if people.key not in columns:
            raise RunError(f"the people table {people.table} has no column '{people.key}' (people.key in "
                           f"segwarehouse.yml); columns: {', '.join(columns)}")
        self.adapter.execute(create_schema(self.schema))
        for statement in definitions(self.schema, columns[people.key]).values():
            self.adapter.execute(statement)

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

    def load_static(self, names: list[str]) -> dict[str, list[str]]:
        """Temp tables of static segments' values; returns notes (duplicates, unmatched) per segment."""
        notes: dict[str, list[str]] = {}
        for name in names:
            segment = self.project.segments[name]
            values = read_static(self.project.root, segment)
            target = static_table(name)
            self.adapter.execute(st.create_temp(
                target.name, exp.select(exp.cast(exp.null(), "VARCHAR").as_("value", quoted=True)).limit(0)))
            self.adapter.insert_rows(target, ["value"], [(v,) for v in values.values])
            column = exp.column(self.config.people.column_for(segment.static.match_on), quoted=True)
            matched = self.adapter.execute(
                exp.select(exp.Count(this=exp.Star())).from_(target.copy())
                .where(exp.column("value", quoted=True).isin(
                    query=exp.select(exp.cast(column, "VARCHAR")).from_(table(self.config.people.table)))))[0][0]
            notes[name] = [f"{values.rows} CSV rows, {values.duplicates} duplicate value(s), "
                           f"{len(values.values) - matched} value(s) matching nobody"]
        return notes

    # --- the run -----------------------------------------------------------------------------------
    def run(self, selected: list[str], as_of: dt.datetime, fail_fast: bool = False,
            started: Optional[dt.datetime] = None) -> RunResult:
        started = started or utc_now()
        run_id = new_run_id(started)
        self.reporter.event("run_started", run_id=run_id, as_of=as_of.isoformat(), segments=len(selected))
        self.ensure_tables()
        self.check_people_key()
        last = self.last_as_of()
        segments = self.project.segments

        compiler = ConditionCompiler(self.config, segments, as_of, static_table)
        predicates = {name: compiler.segment(name) for name in selected}
        needed = _closure(segments, selected)
        static_notes = self.load_static([n for n in needed if segments[n].static])
        scans = plan_scans(list(compiler.features.values()), self.config.streams, as_of)
        broken = self._build_evaluation(scans, as_of)

        results: dict[str, SegmentResult] = {}
        for name in selected:
            t0 = time.perf_counter()
            segment = segments[name]
            failed_refs = [r for r in _closure(segments, [name])[:-1] if r in results and results[r].status != "success"]
            features = {c.name for c in predicates[name].find_all(exp.Column)} & set(compiler.features)
            result = SegmentResult(name, "success", notes=static_notes.get(name, []))
            if failed_refs:
                result.status, result.error = "skipped", f"skipped: it references failed segment(s) {', '.join(failed_refs)}"
            elif name in last and as_of < last[name]:
                result.status = "error"
                result.error = (f"as_of {as_of.isoformat()} is earlier than the last successful run of '{name}' "
                                f"({last[name].isoformat()}); runs move forward in time only")
            elif features & broken.keys():
                result.status, result.error = "error", broken[next(iter(features & broken.keys()))]
            else:
                self.reporter.event("segment_started", segment=name)
                try:
                    self._apply(segment, predicates[name], run_id, as_of, started, result)
                except Exception as e:  # noqa: BLE001 - an engine error fails this segment only
                    result.status, result.error = "error", _engine_message(e)
            result.seconds = time.perf_counter() - t0
            if result.status != "success":
                self._record_failure(segment, run_id, as_of, started, result)
            results[name] = result
            self.reporter.event("segment_finished", segment=name, status=result.status, members=result.members,
                                entered=result.entered, exited=result.exited, updated=result.updated,
                                seconds=round(result.seconds, 3), error=result.error)
            if fail_fast and result.status == "error":
                for rest in selected[selected.index(name) + 1:]:
                    results[rest] = SegmentResult(rest, "skipped", error="skipped: --fail-fast after a failure")
                break
        self._drop_temps(scans)
        return RunResult(run_id, as_of, [results[n] for n in selected if n in results])

    def _build_evaluation(self, scans: list[Scan], as_of: dt.datetime) -> dict[str, str]:
        """Materialize every scan, then one row per person with all features. Returns the features
        whose scan failed, with the reason, so only the segments reading them fail."""
        broken: dict[str, str] = {}
        good = []
        for scan in scans:
            try:
                self.adapter.execute(st.create_temp(scan.name, scan.query(as_of)))
                good.append(scan)
            except Exception as e:  # noqa: BLE001
                message = f"stream '{scan.stream.name}' ({scan.stream.table}): {_engine_message(e)}"
                broken.update({f.column: message for f in scan.features})
        evaluation = evaluation_query(self.config, good, lambda scan: exp.table_(scan.name, quoted=True))
        self.adapter.execute(st.create_temp(EVAL, evaluation))
        return broken

    def _apply(self, segment: m.Segment, predicate: exp.Expression, run_id: str, as_of: dt.datetime,
               started: dt.datetime, result: SegmentResult) -> None:
        schema, name = self.schema, segment.name
        query = members_query(segment, self.config.people, predicate, exp.table_(EVAL, quoted=True))
        with self.adapter.transaction():
            self.adapter.execute(st.create_temp(st.NEW, query))
            self.adapter.execute(st.create_temp(st.DELTA, st.delta_query(schema, name)))
            counts = dict(self.adapter.execute(
                exp.select(exp.column("change", quoted=True), exp.Count(this=exp.Star()))
                .from_(exp.table_(st.DELTA, quoted=True)).group_by(exp.column("change", quoted=True))))
            result.members = self.adapter.execute(
                exp.select(exp.Count(this=exp.Star())).from_(exp.table_(st.NEW, quoted=True)))[0][0]
            result.entered, result.exited, result.updated = (counts.get(k, 0) for k in ("entered", "exited", "updated"))
            for statement in st.apply_statements(schema, name, run_id, as_of):
                self.adapter.execute(statement)
            self.adapter.execute(st.segment_view(schema, name, table(self.config.people.table),
                                                 self.config.people.key))
            self._insert_run_row(segment, run_id, as_of, started, result)
            self.adapter.execute(st.drop_temp(st.NEW))
            self.adapter.execute(st.drop_temp(st.DELTA))

    def _insert_run_row(self, segment: m.Segment, run_id: str, as_of: dt.datetime, started: dt.datetime,
                        result: SegmentResult) -> None:
        row = [exp.Literal.string(run_id), exp.Literal.string(segment.name), timestamp(as_of), timestamp(started),
               timestamp(utc_now()), exp.Literal.string(result.status)]
        row += [exp.Literal.number(v) for v in (result.members, result.entered, result.exited, result.updated)]
        row += [exp.Literal.string(segment.definition_hash),
                exp.Literal.string(result.error) if result.error else exp.null()]
        self.adapter.execute(exp.insert(exp.Values(expressions=[exp.tuple_(*row)]), output_table(self.schema, RUNS)))

    def _record_failure(self, segment, run_id, as_of, started, result) -> None:
        try:
            with self.adapter.transaction():
                self._insert_run_row(segment, run_id, as_of, started, result)
        except Exception:  # noqa: BLE001 - recording the failure must not hide it
            pass

    def _drop_temps(self, scans: list[Scan]) -> None:
        for name in [EVAL, *(s.name for s in scans)]:
            self.adapter.execute(st.drop_temp(name))


def _closure(segments: dict[str, m.Segment], names: list[str]) -> list[str]:
    """The named segments and every segment they reference, references first."""
    ordered: dict[str, None] = {}

    def add(name: str) -> None:
        for ref in segments[name].depends_on:
            if ref not in ordered:
                add(ref)
        ordered.setdefault(name, None)

    for name in names:
        add(name)
    return list(ordered)


def _engine_message(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else error!r}"
