"""Terminal output: human text with a progress bar on a terminal, or one JSON object per line."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from typing import Any, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .spec.values import utc_z


NUMERIC_COLUMNS = frozenset({"members", "entered", "exited", "updated", "seconds", "count", "rows", "shared",
                             "share_of_segment", "share_of_other", "converted", "conversion_rate",
                             "pending", "sent", "rejected", "retried", "holds", "% of people", "cumulative",
                             "% of previous", "line", "before", "after"})


class TextConsole:
    """Events for people: a progress bar while segments run (only on a terminal), then tables."""

    def __init__(self) -> None:
        # soft_wrap: never break a FILE:LINE: message over lines, whatever the terminal width
        self.out = Console(highlight=False, soft_wrap=True)
        if not self.out.is_terminal:  # a log or a pipe: wide enough that names are never cut
            self.out = Console(highlight=False, soft_wrap=True, width=160)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._progress: Optional[Progress] = None
        self._task = None

    def event(self, name: str, **data: Any) -> None:
        if name == "run_started" and self.err.is_terminal and data.get("segments"):
            self._progress = Progress(TextColumn("[bold]run"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=self.err, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("", total=data["segments"])
        elif name == "segment_started" and self._progress:
            self._progress.update(self._task, description=data["segment"])
        elif name == "segment_finished" and self._progress:
            self._progress.advance(self._task)
            if self._progress.finished:
                self.stop()
        elif name == "sync_started" and self.err.is_terminal and data.get("subscriptions"):
            self._progress = Progress(TextColumn("[bold]sync"), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=self.err, transient=True)
            self._progress.start()
            self._tasks: dict = {}
        elif name == "subscription_progress" and self._progress:
            key = (data["segment"], data["destination"])
            if key not in self._tasks:  # one bar per (segment, destination)
                self._tasks[key] = self._progress.add_task(f"{key[0]} -> {key[1]}", total=data["total"] or 1)
            self._progress.update(self._tasks[key], completed=data["done"] if data["total"] else 1)
        elif name == "sync_finished":
            self.stop()

    def stop(self) -> None:
        if self._progress:
            self._progress.stop()
            self._progress = None

    def info(self, message: str, **data: Any) -> None:
        self.out.print(message, markup=False)

    def error(self, message: str, problems: Optional[list] = None) -> None:
        """`message` in red on standard error (`problems`, the located ones, are in it already)."""
        self.stop()
        self.err.print(f"[red]{_escape(message)}[/red]")

    def table(self, title: str, columns: list[str], rows: list[list[Any]], **data: Any) -> None:
        # Text, not markup: a condition's "[pro, team]" or a key's brackets print as written
        table = Table(title=Text(title), title_justify="left")
        for c in columns:
            table.add_column(c, justify="right" if c in NUMERIC_COLUMNS else "left")
        for row in rows:
            table.add_row(*(Text(_cell(c, v)) for c, v in zip(columns, row)))
        self.out.print(table)


class JsonConsole:
    """One JSON object per line on stdout, for orchestrators: {"ts", "level", "event", ...}. Counts and
    durations are JSON numbers, times ISO-8601 UTC with a Z; an event about something that failed
    (`status` error) is at level error, one that was skipped at warn."""

    LEVELS = {"error": "error", "skipped": "warn"}

    def event(self, name: str, **data: Any) -> None:
        self._emit(self.LEVELS.get(str(data.get("status")), "info"), name, data)

    def _emit(self, level: str, name: str, data: dict) -> None:
        record = {"ts": utc_z(dt.datetime.now(dt.timezone.utc)), "level": level, "event": name, **data}
        sys.stdout.write(json.dumps(record, default=_json_value) + "\n")
        sys.stdout.flush()

    def stop(self) -> None:
        pass

    def info(self, message: str, **data: Any) -> None:
        self._emit("info", data.pop("event", "message"), {"message": message, **data})

    def error(self, message: str, problems: Optional[list] = None) -> None:
        """An error event; with `problems` (validation), also each as {file, line, message}."""
        data: dict[str, Any] = {"message": message}
        if problems:
            data["errors"] = [{"file": p.file, "line": p.line, "message": p.message} for p in problems]
        self._emit("error", "validation_failed" if problems else "error", data)

    def table(self, title: str, columns: list[str], rows: list[list[Any]], **data: Any) -> None:
        self._emit("info", data.get("event", "table"),
                   {"title": title, "rows": [dict(zip(columns, row)) for row in rows]})


def _cell(column: str, value: Any) -> str:
    """A table cell for people: counts with thousands separators, seconds to the hundredth,
    times in UTC with a Z, {action: n} as "add 3, remove 1". Other columns (keys) as they are."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return utc_z(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(column, v)}" for k, v in sorted(value.items())) or "-"
    if column in NUMERIC_COLUMNS and not isinstance(value, bool):
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.2f}"
    return str(value)


def _json_value(value: Any) -> Any:
    """What json.dumps cannot write itself: decimals as numbers, times in UTC with a Z, else text."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return utc_z(value)
    return str(value)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
