"""The command line: thin click commands over `segwarehouse.Project`, one error handler, exit codes
0 (success), 1 (a segment, test or sync failed), 2 (bad usage, configuration or validation)."""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import functools
import json
import sys
import time
import traceback
from typing import Any, Callable

import click
import yaml

from . import interrupts, review_output
from .api import Project
from .artifacts import (results_of_compile, results_of_diff, results_of_run, results_of_sync, results_of_tests,
                        unique_id, write_manifest, write_run_results)
from .breakdown import TABLE_COLUMNS, table_rows
from .console import JsonConsole, TextConsole
from .report import render_html
from .errors import EXIT_FAILURE, EXIT_USAGE, SegwarehouseError
from .scaffold import init_project
from .spec.values import utc_z


class State:
    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.console = JsonConsole() if options["log_format"] == "json" else TextConsole()
        self.debug = options["debug"]
        self._project: Project | None = None

    def override(self, given: dict[str, Any]) -> None:
        """Global options written after the command (`segwarehouse run --target pg`) win over those
        before it; the project is not opened yet, so they apply to everything."""
        given = {k: v for k, v in given.items() if v is not None and v is not False}
        self.options.update(given)
        if "log_format" in given:
            self.console = JsonConsole() if given["log_format"] == "json" else TextConsole()
        self.debug = self.options["debug"]

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project(self.options["project_dir"], profiles_dir=self.options["profiles_dir"],
                                    target=self.options["target"], vars=self.options["vars"],
                                    reporter=self.console, target_path=self.options["target_path"])
        return self._project


def _parse_vars(ctx, param, value):
    if value is None:
        return None
    if not value:
        return {}
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise click.BadParameter(f"not YAML: {e}") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("expected a YAML mapping, e.g. --vars '{min_order: 100}'")
    return parsed


# Global options: before the command, or after it as in dbt (`segwarehouse run --target pg`).
GLOBAL_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--project-dir",), dict(default=".", show_default=True, help="Directory holding segwarehouse.yml.")),
    (("--profiles-dir",), dict(default=None, help="Directory holding profiles.yml.")),
    (("--target", "-t"), dict(default=None, help="Target of the profile to use.")),
    (("--target-path",), dict(default=None, envvar="SEGWAREHOUSE_TARGET_PATH",
                              help="Where compiled SQL and artifacts go (default: <project>/target).")),
    (("--vars",), dict(default=None, callback=_parse_vars, help="YAML mapping overriding project vars.")),
    (("--log-format",), dict(type=click.Choice(["text", "json"]), default="text", show_default=True,
                             help="json: one JSON object per event line, for orchestrators.")),
    (("--debug",), dict(is_flag=True, help="Show tracebacks.")),
]
GLOBAL_NAMES = ("project_dir", "profiles_dir", "target", "target_path", "vars", "log_format", "debug")


def global_options(after_command: bool) -> Callable:
    """The global options; after the command they default to None, meaning 'as given before it'."""

    def add(fn: Callable) -> Callable:
        for decls, settings in reversed(GLOBAL_OPTIONS):
            if after_command:
                settings = {k: v for k, v in settings.items() if k not in ("envvar", "show_default")}
                settings["default"] = False if settings.get("is_flag") else None
            fn = click.option(*decls, **settings)(fn)
        return fn

    return add


class Selectors(click.Option):
    """-s/--select and --exclude as dbt takes them: `-s a b` is two selectors (the words after the
    option up to the next option), like `-s a -s b` and `-s "a b"`. Click has no variadic option, so
    the parser's handler of this option is wrapped to take the following words too."""

    def __init__(self, decls: Any, **settings: Any):
        super().__init__(decls, multiple=True, **settings)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        option = parser._long_opt.get(self.opts[0]) or parser._short_opt.get(self.opts[0])
        take = option.process

        def process(value: str, state: Any) -> None:
            words = [value]
            while state.rargs and not state.rargs[0].startswith("-"):
                words.append(state.rargs.pop(0))
            take(" ".join(words), state)  # selectors.select splits on spaces

        option.process = process


def select_option(fn: Callable) -> Callable:
    return click.option("--select", "-s", cls=Selectors, help="Selector(s): -s a b, -s a -s b or -s 'a b'.")(fn)


def state_option(fn: Callable) -> Callable:
    return click.option("--state", "state_ref", default=None, metavar="REF",
                        help="Git revision that `-s state:modified` compares the definitions with.")(fn)


def exclude_option(fn: Callable) -> Callable:
    return click.option("--exclude", cls=Selectors, help="Selector(s) to leave out, as for --select.")(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options(after_command=False)
@click.version_option(package_name="segwarehouse")
@click.pass_context
def cli(ctx: click.Context, **options: Any) -> None:
    """Dynamic audience segmentation as code, inside your warehouse."""
    ctx.obj = State(options)


def command(name: str, writes_manifest: bool = False, one_transaction: bool = False,
            committed: Callable[[int], str] | None = None) -> Callable:
    """Wrap a command: one error handler, run_results.json (and manifest.json), exit codes.
    one_transaction: the command writes in one transaction, and once it committed an interrupt
    no longer stops it (`run`). committed: names what n earlier commits wrote, for the line an
    interrupted command prints (`sync`: n subscriptions)."""

    def wrap(fn: Callable) -> Callable:
        @cli.command(name, help=fn.__doc__)
        @global_options(after_command=True)
        @click.pass_obj
        @functools.wraps(fn)
        def wrapper(state: State, **kwargs: Any) -> None:
            state.override({k: kwargs.pop(k) for k in GLOBAL_NAMES})
            interrupts.install(final_commit=one_transaction, committed=committed)
            started = time.perf_counter()
            results: list[dict] = []
            code = 0
            try:
                code = fn(state, results, **kwargs) or 0
                interrupts.check()  # a library that swallowed the signal (DuckDB in `test`) does not hide it
            except (Exception, KeyboardInterrupt) as e:
                if not interrupts.caused(e):
                    code = _failed(state, e)
                else:  # rolled back and closed on the way here; no artifacts either: nothing is written
                    _say_interrupted(state, interrupts.message())
                    sys.exit(interrupts.EXIT_INTERRUPTED)
            finally:
                state.console.stop()
            if interrupts.late():
                state.console.info(f"{name} was interrupted after it committed: it completed", event="interrupted_late")
            _write_artifacts(state, name, results, time.perf_counter() - started, kwargs, code, writes_manifest)
            sys.exit(code)

        return wrapper

    return wrap


def _say_interrupted(state: State, line: str) -> None:
    """The one line of an interrupted command (a JSON error event with --log-format json)."""
    try:
        state.console.error(line)
    except Exception:  # noqa: BLE001 - a console broken by the interrupt: plain text
        print(line, file=sys.stderr, flush=True)


def _failed(state: State, error: BaseException) -> int:
    """The message and exit code of an error a command did not handle itself."""
    try:
        raise error
    except SegwarehouseError as e:
        state.console.error(str(e), problems=getattr(e, "problems", None))
        return e.exit_code
    except BrokenPipeError:  # `... | head`: the reader has what it wanted
        sys.stdout = None  # type: ignore[assignment]  # nothing more can be written there
        return 0
    except Exception as e:  # noqa: BLE001 - never a traceback without --debug
        if state.debug:
            traceback.print_exc()
        state.console.error(f"internal error: {type(e).__name__}: {e} (run with --debug for a traceback)")
        return EXIT_FAILURE


def _write_artifacts(state: State, name: str, results: list[dict], elapsed: float, args: dict, code: int,
                     writes_manifest: bool) -> None:
    project = state.project
    if name == "init" or not (project.dir / "segwarehouse.yml").is_file():
        return
    try:
        write_run_results(project.target_path, name, results, elapsed, {k: v for k, v in args.items()}, code == 0)
        if writes_manifest and "loaded" in project.__dict__:
            write_manifest(project.target_path, project.loaded.config, project.segments, name,
                           dialect=args.get("dialect") or "duckdb")
    except OSError as e:
        state.console.error(f"could not write artifacts to {project.target_path}: {e}")


# --- commands ------------------------------------------------------------------------------------
@command("demo")
@click.option("--people", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--anchor", default=None, help="'Now' of the data set (default: today, midnight UTC).")
def demo(state: State, results: list, people: int, seed: int, anchor: str | None) -> int:
    """Write the deterministic demo data set into the target."""
    t0 = time.perf_counter()
    counts = state.project.demo(people=people, seed=seed, anchor=anchor)
    state.console.table("demo data", ["table", "rows"], [[t, n] for t, n in counts.items()], event="demo")
    state.console.info(f"demo data written in {time.perf_counter() - t0:.1f}s", event="demo_finished")
    return 0


@command("init")
@click.argument("directory")
def init(state: State, results: list, directory: str) -> int:
    """Scaffold a new project in DIRECTORY."""
    created = init_project(directory)
    state.console.info(f"created {created}: edit segwarehouse.yml, then add segments under segments/",
                       event="init")
    return 0


@command("validate", writes_manifest=True)
@click.option("--catalog", is_flag=True, help="Also check every column segments read against the target's tables.")
def validate(state: State, results: list, catalog: bool) -> int:
    """Parse everything; errors as FILE:LINE: message."""
    loaded = state.project.validate()
    segments = loaded.segments
    if catalog:
        state.project.check_catalog()
    for warning in loaded.warnings:
        state.console.info(f"warning: {warning}", event="validation_warning", file=warning.file, line=warning.line)
    state.console.info(f"ok: {len(segments)} segment(s) valid" + (", every column found in the target" if catalog else ""),
                       event="validated", segments=len(segments))
    return 0


@command("ls")
@select_option
@exclude_option
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@state_option
def ls(state: State, results: list, select: tuple, exclude: tuple, output: str, state_ref: str | None) -> int:
    """List segments."""
    project = state.project
    names = project.select(select, exclude, include_disabled=True, state=state_ref)
    if output == "json":
        for n in names:
            s = project.segments[n]
            click.echo(json.dumps({"name": n, "unique_id": unique_id(project.loaded.config.name, n),
                                   "file": s.file, "tags": list(s.tags), "enabled": s.enabled,
                                   "depends_on": list(s.depends_on), "description": s.description}))
        return 0
    rows = [[n, project.segments[n].file, ",".join(project.segments[n].tags),
             "static" if project.segments[n].static else "dynamic",
             "yes" if project.segments[n].enabled else "no"] for n in names]
    state.console.table(f"{len(names)} segment(s)", ["segment", "file", "tags", "kind", "enabled"], rows, event="ls")
    return 0


@command("compile", writes_manifest=True)
@select_option
@click.option("--dialect", default=None, help="Any sqlglot dialect (default: duckdb and snowflake).")
@click.option("--as-of", default=None, help="Evaluation time written into the SQL (default: now).")
@state_option
def compile_(state: State, results: list, select: tuple, dialect: str | None, as_of: str | None,
             state_ref: str | None) -> int:
    """Write target/compiled/<dialect>/<segment>.sql."""
    compiled = state.project.compile(select, dialect=dialect, as_of=as_of, state=state_ref)
    results += results_of_compile(state.project.loaded.config.name, state.project.target_path, compiled)
    count = len(next(iter(compiled.values()), {}))
    state.console.info(f"compiled {count} segment(s) for {', '.join(compiled)} into "
                       f"{state.project.target_path / 'compiled'}", event="compiled")
    return 0


@command("run", writes_manifest=True, one_transaction=True)
@select_option
@exclude_option
@click.option("--as-of", default=None, help="Evaluation time, ISO-8601 (default: now, UTC).")
@click.option("--threads", default=None, type=click.IntRange(min=1), help="Engine threads.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing segment.")
@click.option("--wait", is_flag=True, help="Wait for a concurrent run to finish instead of failing.")
@state_option
def run(state: State, results: list, select: tuple, exclude: tuple, as_of: str | None, threads: int | None,
        fail_fast: bool, wait: bool, state_ref: str | None) -> int:
    """Evaluate segments and update membership and change tables."""
    project = state.project
    result = project.run(select, exclude, as_of=as_of, fail_fast=fail_fast, wait=wait, threads=threads,
                         state=state_ref)
    results += results_of_run(project.loaded.config.name, result)
    state.console.table(f"run {result.run_id} at {utc_z(result.as_of)}", RUN_COLUMNS, _run_rows(result),
                        event="run_summary")
    for r in result.results:
        for note in r.notes:
            state.console.info(f"{r.segment}: {note}", event="segment_note", segment=r.segment)
        if r.error:
            state.console.error(f"{r.segment}: {r.error}")
    ok = sum(r.status == "success" for r in result.results)
    state.console.info(f"{ok} of {len(result.results)} segment(s) succeeded", event="run_finished",
                       run_id=result.run_id, success=result.ok)
    return 0 if result.ok else EXIT_FAILURE


def _run_rows(result) -> list[list]:
    """Numbers stay numbers: the console formats them for people and writes them as JSON numbers. A
    segment that failed or was skipped shows no counts (blank, null): its members stay as they were."""
    return [[r.segment, r.status, *([r.members, r.entered, r.exited, r.updated] if r.status == "success"
                                    else [None] * 4), round(r.seconds, 3)]
            for r in result.results]


RUN_COLUMNS = ["segment", "status", "members", "entered", "exited", "updated", "seconds"]


@command("diff")
@select_option
@exclude_option
@click.option("--as-of", default=None, help="Evaluation time, ISO-8601 (default: now, UTC).")
@click.option("--against", default=None, metavar="REF",
              help="A git revision: compare the segments as defined there with the working tree, on the same data.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--samples", default=5, show_default=True, type=click.IntRange(min=0),
              help="How many keys (the smallest) to show of those entering and exiting each segment.")
@state_option
def diff(state: State, results: list, select: tuple, exclude: tuple, as_of: str | None, against: str | None,
         fmt: str, samples: int, state_ref: str | None) -> int:
    """What a run would change, or (--against REF) what a change to the definitions changes; writes nothing."""
    result = state.project.diff(select, exclude, as_of=as_of, against=against, samples=samples, state=state_ref)
    results += results_of_diff(state.project.loaded.config.name, result)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), default=_plain))
    elif fmt == "markdown":
        click.echo(review_output.markdown(result), nl=False)
    else:
        state.console.table(review_output.title(result), review_output.columns(result), review_output.rows(result),
                            event="diff")
    for s in result.segments:
        if s.error:
            state.console.error(f"{s.segment}: {s.error}")
    return 0 if result.ok else EXIT_FAILURE


@command("sync", committed=lambda n: f"{n} subscription(s)")
@select_option
@click.option("--destination", default=None, help="Only this destination (a name under `destinations:`).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent (counts and a sample); send and write nothing.")
@click.option("--full", is_flag=True, help="Re-send every current member, then advance the cursor.")
@click.option("--allow-mass-removal", is_flag=True, help="Let a sync remove more than max_removal_ratio of a list.")
@click.option("--wait", is_flag=True, help="Wait for a concurrent run or sync to finish instead of failing.")
def sync(state: State, results: list, select: tuple, destination: str | None, dry_run: bool, full: bool,
         allow_mass_removal: bool, wait: bool) -> int:
    """Send segments' changes to their destinations."""
    project = state.project
    outcome = project.sync(select, destination=destination, dry_run=dry_run, full=full,
                           allow_mass_removal=allow_mass_removal, wait=wait)
    results += results_of_sync(project.loaded.config.name, outcome)
    title = "sync (dry run: nothing sent, nothing written)" if dry_run else "sync"
    rows = [[r.segment, r.destination, r.status, dict(r.pending), r.sent, r.rejected, r.retried, round(r.seconds, 3)]
            for r in outcome]
    state.console.table(title, ["segment", "destination", "status", "pending", "sent", "rejected", "retried",
                                "seconds"], rows, event="sync_summary")
    for r in outcome:
        for action, records in r.sample.items():
            shown = ", ".join(str(x["person_id"]) if str(x["identifier"]) == str(x["person_id"])  # key as id
                              else f"{x['person_id']} ({x['identifier']})" for x in records)
            state.console.info(f"{r.segment} -> {r.destination}: would {action} {r.pending.get(action, 0):,}, "
                               f"e.g. {shown}", event="sync_sample", segment=r.segment,
                               destination=r.destination, action=action, count=r.pending.get(action, 0),
                               sample=records)
        if r.unconfirmed:
            state.console.info(f"{r.segment} -> {r.destination}: {r.unconfirmed:,} id(s) sent without creating "
                               "the people first (create_people: false); the vendor ignores those it does "
                               "not know and does not say which", event="sync_unconfirmed",
                               segment=r.segment, destination=r.destination, count=r.unconfirmed)
        if r.error:
            state.console.error(f"{r.segment} -> {r.destination}: {r.error}")
    if not outcome:
        state.console.info("no segment selected subscribes to a destination (add `sync:` to a segment)",
                           event="sync_nothing")
    failed = sum(not r.ok for r in outcome)
    done = "checked (dry run: nothing sent)" if dry_run else "synced"
    state.console.info(f"{len(outcome) - failed} of {len(outcome)} subscription(s) {done}", event="sync_done",
                       success=not failed)
    return EXIT_FAILURE if failed else 0


@command("export")
@click.argument("segment")
@click.option("--output", "-o", required=True, help="CSV file to write, or - for standard output.")
@click.option("--fields", default=None, help="Comma-separated people columns (default: the segment's fields).")
def export(state: State, results: list, segment: str, output: str, fields: str | None) -> int:
    """Write a segment's current members (key, identifiers, fields) to CSV."""
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    count = state.project.export(segment, output, chosen)
    if output == "-":  # standard output holds the CSV alone: the note goes to standard error
        click.echo(f"wrote {count:,} member(s) of {segment} to standard output", err=True)
    else:
        state.console.info(f"wrote {count:,} member(s) of {segment} to {output}", event="exported", count=count)
    return 0


def _plain(value: Any) -> str:
    """Decimals as people write them (500, not 5.00E+2); everything else as str()."""
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _measured(value: Any) -> str:
    """A value explain measured: times in UTC with a Z, no value (an aggregate over no rows) said so."""
    if value is None:
        return "no value"
    return utc_z(value) if isinstance(value, dt.datetime) else _plain(value)


@command("explain")
@click.argument("segment")
@click.argument("person")
@click.option("--as-of", default=None, help="Evaluation time, ISO-8601 (default: now, UTC).")
def explain(state: State, results: list, segment: str, person: str, as_of: str | None) -> int:
    """Each condition true/false for one person, with the measured values."""
    e = state.project.explain(segment, person, as_of=as_of)
    rows = [["  " * step.depth + step.label, "true" if step.holds else "false",
             ", ".join(f"{k} = {_measured(v)}" for k, v in step.values.items())] for step in e.steps]
    verdict = "is a member" if e.member else "is not a member"
    state.console.table(f"{e.segment}: person {e.person} {verdict} at {utc_z(e.as_of)}",
                        ["condition", "holds", "measured"], rows, event="explain", member=e.member)
    return 0


@command("preview")
@click.argument("segment")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=0))
@click.option("--as-of", default=None, help="Evaluation time, ISO-8601 (default: now, UTC).")
@click.option("--breakdown", is_flag=True, help="Exact counts at every node of the condition tree (the funnel "
                                                "of an `all`) instead of a sample, from one query.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def preview(state: State, results: list, segment: str, limit: int, as_of: str | None, breakdown: bool,
            fmt: str) -> int:
    """Count and sample members, without writing."""
    if breakdown:
        b = state.project.breakdown(segment, as_of=as_of)
        if fmt == "json":
            click.echo(json.dumps(b.as_json()))
        else:
            state.console.table(f"{b.segment}: {b.count:,} member(s) of {b.people:,} people at {utc_z(b.as_of)}",
                                TABLE_COLUMNS, table_rows(b), event="breakdown", count=b.count)
        return 0
    p = state.project.preview(segment, limit=limit, as_of=as_of)
    if fmt == "json":
        click.echo(json.dumps({"segment": p.segment, "as_of": utc_z(p.as_of), "count": p.count,
                               "members": [dict(zip(p.columns, _json_member(row))) for row in p.rows]},
                              default=_plain))
        return 0
    state.console.table(f"{p.segment}: {p.count:,} member(s) at {utc_z(p.as_of)}", p.columns,
                        [list(r) for r in p.rows], event="preview", count=p.count)
    return 0


def _json_member(row: tuple) -> list:
    """(person_id, split, fields) with fields as a JSON object, however the driver returned it."""
    person, split, fields = row
    if isinstance(fields, str):
        fields = json.loads(fields)
    return [person, split, fields]


@command("test")
@select_option
@state_option
def test(state: State, results: list, select: tuple, state_ref: str | None) -> int:
    """Run segment tests on an in-memory DuckDB."""
    outcomes = state.project.test(select, state=state_ref)
    results += results_of_tests(outcomes)
    rows = [[r.segment, r.name, "pass" if r.passed else "FAIL",
             r.error or ("" if r.passed else f"{r.file}:{r.line}: expected {r.expected}, got {r.actual}")]
            for r in outcomes]
    state.console.table(f"{len(outcomes)} test(s)", ["segment", "test", "result", "detail"], rows, event="tests")
    failed = sum(not r.passed for r in outcomes)
    state.console.info(f"{len(outcomes) - failed} passed, {failed} failed", event="tests_finished")
    return EXIT_FAILURE if failed else 0


@command("docs")
@click.option("--output", default=None, help="Directory to write index.html into (default: target/docs).")
def docs(state: State, results: list, output: str | None) -> int:
    """Write a static HTML catalogue of segments."""
    path = state.project.docs(output)
    state.console.info(f"wrote the catalogue of {len(state.project.segments)} segment(s) to {path}", event="docs",
                       path=str(path))
    return 0


@command("report")
@select_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table",
              show_default=True, help="html: one page with the catalogue's charts, on stdout.")
@click.option("--goal", default=None, help="Segment whose members count as converted (split conversion); "
                                           "default: leaving the segment counts as converted.")
def report(state: State, results: list, select: tuple, fmt: str, goal: str | None) -> int:
    """Size over time, entered/exited per run, overlap, conversion by split."""
    r = state.project.report(select, goal=goal)
    if fmt == "json":
        click.echo(json.dumps({"goal": r.goal, **{name: rows for name, (_, rows) in r.sections().items()}},
                              default=_plain))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["section", "segment", "key", "metric", "value"])
        writer.writerows([*row[:4], _plain(row[4]) if row[4] is not None else ""] for row in r.long_rows())
    elif fmt == "html":
        click.echo(render_html(state.project.loaded.config.name, r, state.project.select(select)), nl=False)
    else:  # people read 10.3% and 12,345; JSON log lines keep the numbers
        raw = {name: (columns, [[row[c] for c in columns] for row in rows]) for name, (columns, rows) in r.sections().items()}
        for name, (columns, rows) in (r.display() if isinstance(state.console, TextConsole) else raw).items():
            state.console.table(name, columns, rows, event=f"report_{name}")
    return 0


def main() -> None:
    interrupts.install()
    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # outside a command; click turns it into Abort
        interrupts.exit_now()
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except SystemExit as e:
        if e.code == interrupts.EXIT_INTERRUPTED and interrupts.requested():
            interrupts.exit_now(line="")  # said already; threads still sending must not hold the exit up
        interrupts.ignore()  # the command is over: a signal now must not turn its exit code into -15
        raise


if __name__ == "__main__":
    main()
