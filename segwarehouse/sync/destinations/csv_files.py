"""CSV files: one file per sync of a segment, named after the last run it covers
(`<path>/<segment>/<run_id>.csv`, `<run_id>-full.csv` for --full), holding the net changes as
entered / updated / exited rows. `changed_at` is UTC with a `Z`. The fields ride along as one JSON
column, `fields`, unless `columns:` lists them: then each listed field is a column of its own, after
the identifier (a field a change lacks is left empty), for tools that read plain columns. Written to a temporary file and renamed when every row is in, so a
reader never sees half a file; a sync repeated after a crash covers the same changes in the same
order and overwrites the file with identical content."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import IO, Any, Optional, Sequence

from ..records import EVENT, REMOVE, Change, Outcome, Subscription
from .base import Destination
from .replies import jsonable, utc_z

COLUMNS = ["run_id", "segment", "person_id", "identifier", "change", "changed_at", "split", "fields"]


class CsvFiles(Destination):
    type = "csv"
    batch_size = 10_000
    rate = None
    default_identifier = "key"
    required_settings = ("path",)
    optional_settings = ("columns",)  # fields written as columns of their own, e.g. [email, first_name]
    needs_list = False
    concurrency = 1  # rows are written in the order the warehouse gives them
    common_settings = ("type", "max_removal_ratio", "min_removals", "identifier", "batch_size")
    secret_settings = ()  # no credentials: a local path

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self._file: Optional[IO[str]] = None
        self._writer: Any = None
        self._target: Optional[Path] = None
        self.columns: list[str] = [str(c) for c in settings.get("columns") or []]

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        columns = settings.get("columns")
        if columns is None:
            return []
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
            return [("columns", "`columns` is a list of field names, e.g. columns: [email, first_name]")]
        fixed = set(COLUMNS) - {"fields"}
        clash = [c for c in columns if c in fixed]
        if clash:
            return [("columns", f"`columns` cannot hold {clash[0]!r}: every file already has "
                                f"{', '.join(c for c in COLUMNS if c != 'fields')}")]
        if len(set(columns)) != len(columns):
            return [("columns", "`columns` lists a field twice")]
        return []

    @property
    def header(self) -> list[str]:
        return COLUMNS[:-1] + self.columns if self.columns else COLUMNS

    def folder(self, segment: str) -> Path:
        path = Path(str(self.settings["path"]))
        if not path.is_absolute() and self.root is not None:
            path = Path(self.root) / path
        return path / segment

    def begin(self, subscription: Subscription, through_run_id: str, full: bool) -> None:
        folder = self.folder(subscription.segment)
        folder.mkdir(parents=True, exist_ok=True)
        self._target = folder / f"{through_run_id}{'-full' if full else ''}.csv"
        self._file = (folder / f".{self._target.name}.{os.getpid()}.tmp").open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.header)

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        for c in batch:
            change = "exited" if action == REMOVE else c.change
            if action == EVENT and c.change == "updated":
                change = "updated"
            row = [c.run_id, subscription.segment, c.person_id, c.identifier, change, utc_z(c.changed_at),
                   c.split or ""]
            if self.columns:
                row += [self._cell(c.fields.get(name)) for name in self.columns]
            else:
                row.append(json.dumps(c.fields, sort_keys=True, default=str))
            self._writer.writerow(row)
        return Outcome()

    @staticmethod
    def _cell(value: Any) -> Any:
        """A field as one CSV cell: empty for NULL, JSON for lists and objects, ISO 8601 for times."""
        value = jsonable(value)
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True)
        return value

    def finish(self, subscription: Subscription, acknowledged: bool) -> None:
        if self._file is None:
            return
        temp = Path(self._file.name)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        if acknowledged and self._target is not None:
            os.replace(temp, self._target)
        else:
            temp.unlink(missing_ok=True)
