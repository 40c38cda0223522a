"""`export`: a segment's current members to CSV, streamed so memory stays flat."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO, Iterable, Sequence

from sqlglot import exp

from ..compiler.plan import table
from ..spec import model as m
from .tables import MEMBERS, output_table


def export_query(config: m.ProjectConfig, segment: str, columns: Sequence[str]) -> exp.Select:
    people = config.people
    return (exp.select(*(exp.column(c, table="p", quoted=True) for c in columns))
            .from_(exp.alias_(output_table(config.output_schema, MEMBERS), "m", table=True))
            .join(exp.alias_(table(people.table), "p", table=True),
                  on=exp.column(people.key, table="p", quoted=True).eq(exp.column("person_id", table="m", quoted=True)))
            .where(exp.column("segment", table="m", quoted=True).eq(exp.Literal.string(segment)))
            .order_by(exp.column(people.key, table="p", quoted=True)))


def write_rows(rows: Iterable[tuple], columns: Sequence[str], handle: IO[str]) -> int:
    """The header and every row to an open text stream (a file, or standard output); the row count."""
    writer = csv.writer(handle)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        count += 1
    return count


def write_csv(rows: Iterable[tuple], columns: Sequence[str], path: Path) -> int:
    """Write atomically: a reader never sees half a file, a failure leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            count = write_rows(rows, columns, handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count
