"""Static segments (SPEC section 5): a CSV column read afresh on every run."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlglot import exp

from ..adapters.base import Adapter
from ..compiler.literals import cast
from ..compiler.plan import static_table, table
from ..errors import RunError
from ..spec import model as m
from . import statements as st


@dataclass
class StaticValues:
    values: list[str]  # distinct, in file order
    rows: int
    duplicates: int


def read_static(root: Path, segment: m.Segment) -> StaticValues:
    """The distinct values of the segment's CSV column, compared later as exact text."""
    static = segment.static
    path = root / static.csv
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or static.column not in header:
                raise RunError(f"{static.csv}: no column '{static.column}' (static segment '{segment.name}', "
                               f"{segment.location}); columns: {', '.join(header or [])}")
            # The last column of that name, as csv.DictReader reads a header naming it twice.
            index = len(header) - 1 - header[::-1].index(static.column)
            # Rows without the column (blank lines, short rows) hold no value; every other value
            # counts as written, empty and surrounded by spaces included (exact text, SPEC 5).
            values = [row[index] for row in reader if len(row) > index]
            seen = dict.fromkeys(values)
            rows = len(values)
    except OSError as e:
        raise RunError(f"{static.csv}: cannot read ({e}); static segment '{segment.name}' at {segment.location}") \
            from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise RunError(f"{static.csv}: not a valid UTF-8 CSV file ({e}); static segment '{segment.name}'") from None
    return StaticValues(list(seen), rows, rows - len(seen))


@dataclass
class StaticLoad:
    notes: dict[str, list[str]]  # per segment: CSV rows, duplicates, values matching nobody
    broken: dict[str, str]       # segments whose CSV could not be read, with the reason


def load_static_tables(adapter: Adapter, root: Path, config: m.ProjectConfig, segments: dict[str, m.Segment],
                       names: list[str], naming: Callable[[str], exp.Table] = static_table) -> StaticLoad:
    """Fill the temporary table `_sw_static_<segment>` of every named static segment with its CSV
    column's distinct values, in bulk (the adapter's fastest load path), and count what matches.
    run, preview, explain and test all load through here."""
    load = StaticLoad({}, {})
    for name in names:
        segment = segments[name]
        try:
            values = read_static(root, segment)
        except RunError as e:
            load.broken[name] = str(e)
            continue
        target = naming(name)
        adapter.create_temp(target.name, st.static_values_query())
        adapter.load_text_column(target, "value", values.values)
        column = exp.column(config.people.column_for(segment.static.match_on), quoted=True)
        people = exp.select(cast(column, "VARCHAR")).from_(table(config.people.table))
        matched = adapter.execute(exp.select(exp.Count(this=exp.Star())).from_(target.copy())
                                  .where(exp.column("value", quoted=True).isin(query=people)))[0][0]
        load.notes[name] = [f"{values.rows} CSV rows, {values.duplicates} duplicate value(s), "
                            f"{len(values.values) - matched} value(s) matching nobody"]
    return load
