"""The Python API. Every CLI command is a thin wrapper over a method of `Project`:

    >>> from segwarehouse import Project
    >>> project = Project("path/to/project")
    >>> project.demo()                      # segwarehouse demo
    >>> result = project.run(select=["tag:engagement"])   # segwarehouse run -s tag:engagement
    >>> result.ok, [r.members for r in result.results]
    >>> result.raise_for_failures()         # RunError naming each failed segment (exit code 1)
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import sqlglot
from sqlglot import exp

from . import review, selectors
from .adapters import adapter_for
from .adapters.base import Adapter
from .artifacts import compiled_path
from .breakdown import Breakdown, breakdown_query, read_breakdown
from .compiler.dialects import Unportable, render, render_checked
from .compiler.catalog import Catalog, check, check_config
from .compiler.literals import sql_comment
from .compiler.plan import Plan, build_plan, static_table
from .docs import Figures, Refusal, render_catalogue, write_catalogue
from .errors import Outcome, Problem, RunError, SegwarehouseError, ValidationError, did_you_mean
from .events import Reporter, Silent
from .explain import Step, explain_query, fill
from .compiler.names import table_of
from .materialize.export import export_query, write_csv, write_rows
from .materialize.tables import MEMBERS, RUNS, output_table
from .materialize.runner import RunResult, Runner, read_catalog, utc_now
from .materialize.static import load_static_tables
from .project.loader import LoadedProject, load_project
from .project.revision import project_at, resolve
from .review import DiffResult
from .project.profiles import resolve_target
from .report import Report, build_report
from .spec.values import to_utc, utc_z
from .sync import config as sync_config
from .sync.engine import SyncEngine
from .testing import run_test

DEFAULT_COMPILE_DIALECTS = ("duckdb", "snowflake")


def parse_as_of(value: Any) -> dt.datetime:
    """--as-of: an ISO-8601 date or date/time (UTC unless it says otherwise); default now."""
    if value is None:
        return utc_now()
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value
    stamp = to_utc(value)
    if stamp is None:
        raise ValidationError(f"--as-of {value!r}: expected an ISO-8601 date or date/time, e.g. 2026-11-01T00:00:00Z")
    return stamp


@dataclass
class Explanation:
    segment: str
    person: str
    as_of: dt.datetime
    member: bool
    steps: list[Step]


@dataclass
class Preview:
    segment: str
    as_of: dt.datetime
    count: int
    columns: list[str]
    rows: list[tuple]


class SyncResults(list, Outcome):
    """`Project.sync`'s answer: one SyncResult per (segment, destination), plus `ok` and
    `raise_for_failures()`."""

    noun = "subscription"

    def failures(self) -> list[str]:
        return [f"{r.segment} -> {r.destination}: {r.error}" for r in self if not r.ok]


class TestResults(list, Outcome):
    """`Project.test`'s answer: one TestResult per test, plus `ok` and `raise_for_failures()`."""

    __test__ = False  # not a pytest class
    noun = "test"

    def failures(self) -> list[str]:
        return [f"{r.segment}.{r.name} ({r.file}:{r.line}): "
                f"{r.error or f'expected {r.expected}, got {r.actual}'}" for r in self if not r.passed]


def _existing_duckdb(path: Optional[str]) -> bool:
    return bool(path) and (path == ":memory:" or Path(path).exists())


def compiled_header(plan: Plan, name: str, dialect: str, with_catalog: bool) -> str:
    """The comment lines atop a compiled file, one per item: what it is, and the temporary tables
    it expects to exist (a static segment's values, loaded from its CSV by run/preview/test)."""
    segment = plan.segments[name]
    lines = [f"segment {name}", f"defined in {segment.location}", f"as_of {utc_z(plan.as_of)}",
             f"compiled by segwarehouse for {dialect}"
             + (" against the target's catalog" if with_catalog else " offline (no target catalog)")]
    for static in plan.static_of(name):
        table = render(static_table(static), dialect)
        lines.append(f"expects temporary table {table}: the values of column "
                     f"{plan.segments[static].static.column} of {plan.segments[static].static.csv} "
                     f"(static segment {static})")
    return "".join(sql_comment(line) for line in lines)


class Project:
    def __init__(self, project_dir: str | os.PathLike = ".", *, profiles_dir: Optional[str] = None,
                 target: Optional[str] = None, vars: Optional[Mapping[str, Any]] = None,
                 reporter: Optional[Reporter] = None, environ: Optional[Mapping[str, str]] = None,
                 target_path: Optional[str] = None):
        self.dir = Path(project_dir).resolve()
        self.profiles_dir = profiles_dir
        self.target_name = target
        self.vars = dict(vars or {})
        self.reporter = reporter or Silent()
        self.environ = environ
        self.target_path = Path(target_path or os.environ.get("SEGWAREHOUSE_TARGET_PATH") or self.dir / "target")

    # --- loading -----------------------------------------------------------------------------------
    @cached_property
    def loaded(self) -> LoadedProject:
        """Parse and validate the whole project (raises ValidationError listing every problem)."""
        loaded = load_project(self.dir, self.vars, self.environ, checks=[sync_config.check])
        loaded.warnings += sync_config.subscription_warnings(loaded.segments, loaded.config.destinations)
        return loaded

    def validate(self) -> LoadedProject:
        return self.loaded

    @property
    def segments(self):
        return self.loaded.segments

    def select(self, select: Optional[Sequence[str]] = None, exclude: Optional[Sequence[str]] = None,
               include_disabled: bool = False, state: Optional[str] = None, as_of: Any = None) -> list[str]:
        """Selected segment names; `state` is the git revision `state:modified` compares with."""
        return selectors.select(self.segments, select, exclude, include_disabled,
                                state=self._modified(select, exclude, state, as_of))

    def _modified(self, select: Optional[Sequence[str]], exclude: Optional[Sequence[str]], state: Optional[str],
                  as_of: Any) -> Optional[set[str]]:
        """The segments `state:modified` stands for: computed only when a selector uses it."""
        if state is None:
            return None
        if not selectors.uses_state([*(select or []), *(exclude or [])]):
            resolve(self.dir, state)  # unused, but a bad REF is still a mistake to report
            return None
        with project_at(self.dir, state, self.vars, self.environ) as (_, previous):
            return review.modified_since(self.loaded, previous, parse_as_of(as_of))

    @cached_property
    def target(self) -> dict[str, Any]:
        profile = self.loaded.config.profile if (self.dir / "segwarehouse.yml").is_file() else "default"
        return resolve_target(self.dir, profile, self.target_name, self.profiles_dir, self.loaded.renderer)

    def connect(self, wait: bool = False, lock: bool = False) -> Adapter:
        """An open adapter of the target; lock=True also takes the run lock (fails at once when
        another run holds it, or waits with wait=True)."""
        adapter = adapter_for(self.target)
        adapter.connect(wait=wait, lock=lock)
        return adapter

    # --- commands ----------------------------------------------------------------------------------
    def compile(self, select: Optional[Sequence[str]] = None, dialect: Optional[str] = None,
                as_of: Any = None, write: bool = True, offline: bool = False,
                state: Optional[str] = None) -> dict[str, dict[str, str]]:
        """{dialect: {segment: SQL}}; written to target/compiled/<dialect>/<segment>.sql. With a
        reachable target (unless offline) the plan is the one run would build: columns checked
        against its catalog (a miss is exit 2), people columns spelled and typed as the target has them."""
        dialects = [dialect] if dialect else list(DEFAULT_COMPILE_DIALECTS)
        for d in dialects:
            try:
                sqlglot.Dialect.get_or_raise(d)
            except ValueError:
                raise ValidationError(f"--dialect {d}: not a dialect sqlglot knows") from None
        as_of = parse_as_of(as_of)
        names = self.select(select, include_disabled=True, state=state, as_of=as_of)
        config, segments = self.loaded.config, self.segments
        catalog = None if offline else self._reachable_catalog()
        plan = build_plan(config, segments, names, as_of, catalog)
        if plan.problems:
            raise ValidationError(dict.fromkeys(p for problems in plan.problems.values() for p in problems))
        out: dict[str, dict[str, str]] = {}
        unportable: list[Problem] = []
        for d in dialects:
            out[d] = {}
            for name in names:
                query = plan.standalone(name)
                try:
                    sql = render_checked(query, d, segments[name], segments, source_dialect=config.source_dialect,
                                         pretty=True)
                except Unportable as error:
                    unportable.append(error.problem)
                    continue
                out[d][name] = compiled_header(plan, name, d, catalog is not None) + sql + ";\n"
        if unportable:  # a known difference: an error at compile time, never different members
            raise ValidationError(dict.fromkeys(unportable))
        if write:
            for d, compiled in out.items():
                for name, text in compiled.items():
                    path = compiled_path(self.target_path, d, name)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
        return out

    def _reachable_catalog(self) -> Optional[Catalog]:
        """The target's catalog when one can be reached without side effects; None keeps compile
        offline (no profile, a DuckDB file that does not exist yet, a target that refuses us)."""
        try:
            target = self.target
            if target.get("type") == "duckdb" and not _existing_duckdb(target.get("path")):
                return None  # opening it would create the file
            with self.connect() as adapter:
                catalog = read_catalog(adapter, self.loaded.config)
        except SegwarehouseError:
            return None
        return catalog if catalog.columns(self.loaded.config.people.table) is not None else None

    def _plan(self, adapter: Adapter, segment: str, as_of: dt.datetime) -> Plan:
        """The plan of one segment against the target, its columns checked (a miss: exit 2)."""
        people = self.loaded.config.people
        plan = build_plan(self.loaded.config, self.segments, [segment], as_of, read_catalog(adapter, self.loaded.config))
        if plan.catalog.columns(people.table) is None:
            raise RunError(f"the people table {people.table} does not exist in the target ({adapter.description})")
        if plan.problems_of(segment):
            raise ValidationError(plan.problems_of(segment))
        return plan

    def _fill_static(self, adapter: Adapter, plan: Plan, segment: str) -> None:
        """Temporary tables of the static segments that `segment` reads."""
        load = load_static_tables(adapter, self.loaded.root, plan.config, plan.segments, plan.static_of(segment))
        if load.broken:
            raise RunError("; ".join(load.broken.values()))

    def run(self, select: Optional[Sequence[str]] = None, exclude: Optional[Sequence[str]] = None,
            as_of: Any = None, fail_fast: bool = False, wait: bool = False,
            threads: Optional[int] = None, state: Optional[str] = None) -> RunResult:
        """Evaluate the selected segments at as_of and update the output tables."""
        as_of = parse_as_of(as_of)
        names = self.select(select, exclude, state=state, as_of=as_of)
        if threads:
            self.target["threads"] = threads
        with self.connect(wait=wait, lock=True) as adapter:
            return Runner(self.loaded, adapter, self.reporter).run(names, as_of, fail_fast=fail_fast)

    def sync(self, select: Optional[Sequence[str]] = None, destination: Optional[str] = None,
             dry_run: bool = False, full: bool = False, allow_mass_removal: bool = False,
             wait: bool = False) -> SyncResults:
        """Send each selected segment's net changes to its destinations (`segwarehouse sync`); one
        SyncResult per (segment, destination). dry_run: count and sample what would be sent, write
        nothing; full: re-send every current member; allow_mass_removal: pass the removal guard."""
        if destination is not None and destination not in self.loaded.config.destinations:
            raise ValidationError(f"--destination {destination}: no such destination in segwarehouse.yml"
                                  f"{did_you_mean(destination, self.loaded.config.destinations)}")
        names = self.select(select)
        engine_options = dict(dry_run=dry_run, full=full, allow_mass_removal=allow_mass_removal)
        with self.connect(wait=wait) as adapter:
            return SyncResults(SyncEngine(self.loaded, adapter, self.reporter, **engine_options).run(names,
                                                                                                    destination))

    def diff(self, select: Optional[Sequence[str]] = None, exclude: Optional[Sequence[str]] = None,
             as_of: Any = None, against: Optional[str] = None, samples: int = 5,
             state: Optional[str] = None) -> DiffResult:
        """Without `against`: what a run would change against the members the last run stored.
        With `against` (a git revision): the segments as defined there and in the working tree,
        evaluated at one as_of on the same data (SPEC section 11). Writes nothing either way;
        per segment the status, counts and the `samples` smallest keys entered and exited."""
        as_of = parse_as_of(as_of)
        if against is None:
            names = self.select(select, exclude, state=state, as_of=as_of)
            with self.connect() as adapter:
                run = Runner(self.loaded, adapter, self.reporter).run(names, as_of, apply=False, samples=samples)
            return review.of_run(run)
        modified = self._modified(select, exclude, state, as_of)
        with project_at(self.dir, against, self.vars, self.environ) as (revision, previous):
            with self.connect() as adapter:
                return review.Review(adapter, self.loaded, previous, revision).diff(select, exclude, as_of, samples,
                                                                                    state=modified)

    def _known(self, segment: str) -> None:
        if segment not in self.segments:
            raise ValidationError(f"no segment '{segment}'{did_you_mean(segment, self.segments)}")

    def export(self, segment: str, output: str | os.PathLike, fields: Optional[Sequence[str]] = None) -> int:
        """Write the current members of a segment (key, identifiers, fields) to a CSV file, or to standard
        output when `output` is "-"; returns the number of members. The file can feed a static segment."""
        self._known(segment)
        people = self.loaded.config.people
        columns = list(dict.fromkeys([people.key, *(c for _, c in people.identifiers),
                                      *(self.segments[segment].fields if fields is None else fields)]))
        with self.connect() as adapter:
            if not adapter.table_exists(output_table(self.loaded.config.output_schema, MEMBERS)):
                raise RunError(f"segment '{segment}' has never run on this target: run it first")
            query = export_query(self.loaded.config, segment, columns)
            if str(output) == "-":  # standard output, for a pipe
                count = write_rows(adapter.stream(query), columns, sys.stdout)
                sys.stdout.flush()
                return count
            return write_csv(adapter.stream(query), columns, Path(output))

    def preview(self, segment: str, limit: int = 10, as_of: Any = None) -> Preview:
        """Count and sample the members a run would select now, without writing anything: the
        same standalone query `compile` writes for this target."""
        self._known(segment)
        as_of = parse_as_of(as_of)
        with self.connect() as adapter:
            plan = self._plan(adapter, segment, as_of)
            query = plan.standalone(segment)
            self._fill_static(adapter, plan, segment)
            count = adapter.execute(exp.select(exp.Count(this=exp.Star())).from_(query.subquery("m")))[0][0]
            sample = adapter.execute(exp.select("*").from_(query.subquery("m")).order_by(
                exp.column("person_id", quoted=True)).limit(limit))
        return Preview(segment, as_of, count, ["person_id", "split", "fields"], sample)

    def breakdown(self, segment: str, as_of: Any = None) -> Breakdown:
        """`preview SEGMENT --breakdown`: exact counts at every node of the segment's condition tree
        (holds, and cumulative for the children of an `all`), all from one query that evaluates the
        same member predicate as `run` and `preview`; writes nothing."""
        self._known(segment)
        as_of = parse_as_of(as_of)
        with self.connect() as adapter:
            plan = self._plan(adapter, segment, as_of)
            query, nodes = breakdown_query(plan, segment)
            self._fill_static(adapter, plan, segment)
            row = adapter.execute(query)[0]
        return read_breakdown(segment, as_of, nodes, row)

    def explain(self, segment: str, person: Any, as_of: Any = None) -> Explanation:
        """Every condition of `segment`, true or false for one person, with the values measured."""
        self._known(segment)
        as_of = parse_as_of(as_of)
        with self.connect() as adapter:
            plan = self._plan(adapter, segment, as_of)
            query, steps, columns = explain_query(plan, segment, str(person))
            self._fill_static(adapter, plan, segment)
            rows = adapter.execute(query)
        if not rows:
            raise RunError(f"no person with {self.loaded.config.people.key} = {person!r} in "
                           f"{self.loaded.config.people.table}")
        steps = fill(steps, columns, rows[0])
        return Explanation(segment, str(person), as_of, steps[0].holds, steps)

    def check_catalog(self) -> int:
        """`validate --catalog`: every column the enabled segments read, and the people key and
        identifiers, against the target's tables; raises ValidationError listing every miss.
        Returns the number of segments checked."""
        names = self.select(include_disabled=True)
        with self.connect() as adapter:
            catalog = read_catalog(adapter, self.loaded.config)
        problems = check_config(self.loaded.config, catalog)
        if catalog.columns(self.loaded.config.people.table) is not None:
            found = check(self.loaded.config, self.segments, names, catalog)
            problems += [p for name in names for p in found.get(name, [])]
        if problems:
            raise ValidationError(dict.fromkeys(problems))
        return len(names)

    def test(self, select: Optional[Sequence[str]] = None, state: Optional[str] = None) -> TestResults:
        """Run the selected segments' tests on an in-memory DuckDB."""
        results = TestResults()
        for name in self.select(select, include_disabled=True, state=state):
            segment = self.segments[name]
            for t in segment.tests:
                result = run_test(self.loaded, segment, t)
                self.reporter.event("test_finished", segment=name, test=t.name, passed=result.passed,
                                    error=result.error)
                results.append(result)
        return results

    def docs(self, output: Optional[str | os.PathLike] = None, dialect: str = "duckdb") -> Path:
        """A static HTML catalogue of every segment; returns the path of its index.html."""
        html = render_catalogue(self.loaded.config.name, self.segments, self._compiled_or_refused(dialect), dialect,
                                self._figures())
        return write_catalogue(html, Path(output) if output else self.target_path / "docs")

    def _compiled_or_refused(self, dialect: str) -> dict[str, str | Refusal]:
        """Every segment's SQL; a segment that does not compile (it reads a column the target lacks)
        gets the reason instead, and the others still compile."""
        try:
            return self.compile(dialect=dialect, write=False)[dialect]
        except ValidationError:
            pass
        out: dict[str, str | Refusal] = {}
        for name in self.select(include_disabled=True):
            try:
                out[name] = self.compile([name], dialect=dialect, write=False)[dialect][name]
            except ValidationError as error:
                out[name] = Refusal(str(error))
        return out

    def _figures(self) -> Figures:
        """The output tables' figures for the catalogue, or why there are none: docs works without a target."""
        try:
            target = self.target
            if target.get("type") == "duckdb" and not _existing_duckdb(target.get("path")):
                return Figures(missing=f"the target's database {target.get('path')} does not exist yet")
            schema = self.loaded.config.output_schema
            with self.connect() as adapter:
                if not adapter.table_exists(output_table(schema, RUNS)):
                    return Figures(missing="nothing has run on the target yet (`segwarehouse run`)")
                names = self.select(include_disabled=True)
                return Figures(build_report(adapter, schema, self.segments, names), target=adapter.description)
        except SegwarehouseError as error:
            return Figures(missing=f"no target could be reached ({error})")

    def report(self, select: Optional[Sequence[str]] = None, goal: Optional[str] = None) -> Report:
        """Size over time, entered/exited per run, overlap and conversion by split, from the output tables."""
        for name in [goal] if goal else []:
            if name not in self.segments:
                raise ValidationError(f"--goal: no segment '{name}'{did_you_mean(name, self.segments)}")
        names = self.select(select)
        schema = self.loaded.config.output_schema
        with self.connect() as adapter:
            if not adapter.table_exists(output_table(schema, RUNS)):
                raise RunError("nothing has run on this target yet: `segwarehouse run` first")
            return build_report(adapter, schema, self.segments, names, goal)

    def demo(self, people: int = 20_000, seed: int = 42, anchor: Any = None) -> dict[str, int]:
        """Write the deterministic demo data set into the target (DuckDB)."""
        from .demo import generate_demo

        if anchor is None:
            today = utc_now().date()
            anchor = dt.datetime(today.year, today.month, today.day)
        anchor = parse_as_of(anchor)
        schema = table_of(self.loaded.config.people.table).db or "main"
        with adapter_for(self.target) as adapter:  # demo is what creates a DuckDB file: not connect()
            return generate_demo(adapter.demo_connection(), people=people, seed=seed, anchor=anchor, schema=schema)
