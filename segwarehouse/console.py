"""Terminal output: human text with a progress bar on a terminal, or one JSON object per line."""
from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


NUMERIC_COLUMNS = frozenset({"members", "entered", "exited", "updated", "seconds", "count", "rows", "shared",
                             "share_of_segment", "share_of_other", "converted", "conversion_rate",
                             "pending", "sent", "rejected", "retried", "holds", "% of people", "cumulative",
                             "% of previous", "line"})


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

    def error(self, message: str) -> None:
        self.stop()
        self.err.print(f"[red]{_escape(message)}[/red]")

    def table(self, title: str, columns: list[str], rows: list[list[Any]], **data: Any) -> None:
        table = Table(title=title, title_justify="left")
        for c in columns:
            table.add_column(c, justify="right" if c in NUMERIC_COLUMNS else "left")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.out.print(table)


class JsonConsole:
    """One JSON object per line on stdout, for orchestrators: {"ts", "level", "event", ...}."""

    def event(self, name: str, **data: Any) -> None:
        self._emit("info", name, data)

    def _emit(self, level: str, name: str, data: dict) -> None:
        record = {"ts": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"), "level": level,
                  "event": name, **data}
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        sys.stdout.flush()

    def stop(self) -> None:
        pass

    def info(self, message: str, **data: Any) -> None:
        self._emit("info", data.pop("event", "message"), {"message": message, **data})

    def error(self, message: str) -> None:
        self._emit("error", "error", {"message": message})

    def table(self, title: str, columns: list[str], rows: list[list[Any]], **data: Any) -> None:
        self._emit("info", data.get("event", "table"),
                   {"title": title, "rows": [dict(zip(columns, row)) for row in rows]})


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
