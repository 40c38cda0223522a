"""CSV files: one file per sync of a segment, named after the last run it covers
(`<path>/<segment>/<run_id>.csv`, `<run_id>-full.csv` for --full), holding the net changes as
entered / updated / exited rows. Written to a temporary file and renamed when every row is in, so a
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

COLUMNS = ["run_id", "segment", "person_id", "identifier", "change", "changed_at", "split", "fields"]


class CsvFiles(Destination):
    type = "csv"
    batch_size = 10_000
    rate = None
    default_identifier = "key"
    required_settings = ("path",)
    needs_list = False
    concurrency = 1  # rows are written in the order the warehouse gives them
    common_settings = ("type", "max_removal_ratio", "min_removals", "identifier", "batch_size")
    secret_settings = ()  # no credentials: a local path

    def __init__(self, name: str, settings: dict[str, Any]):
        super().__init__(name, settings)
        self._file: Optional[IO[str]] = None
        self._writer: Any = None
        self._target: Optional[Path] = None

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
        self._writer.writerow(COLUMNS)

    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        for c in batch:
            change = "exited" if action == REMOVE else c.change
            if action == EVENT and c.change == "updated":
                change = "updated"
            self._writer.writerow([c.run_id, subscription.segment, c.person_id, c.identifier, change,
                                   c.changed_at.isoformat(), c.split or "",
                                   json.dumps(c.fields, sort_keys=True, default=str)])
        return Outcome()

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
