"""Static segments (SPEC section 5): a CSV column read afresh on every run."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError
from ..spec import model as m


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
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or static.column not in reader.fieldnames:
                raise RunError(f"{static.csv}: no column '{static.column}' (static segment '{segment.name}', "
                               f"{segment.location}); columns: {', '.join(reader.fieldnames or [])}")
            seen: dict[str, None] = {}
            rows = 0
            for row in reader:
                value = row.get(static.column)
                if value is None:
                    continue
                rows += 1
                seen.setdefault(value, None)
    except OSError as e:
        raise RunError(f"{static.csv}: cannot read ({e}); static segment '{segment.name}' at {segment.location}") \
            from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise RunError(f"{static.csv}: not a valid UTF-8 CSV file ({e}); static segment '{segment.name}'") from None
    return StaticValues(list(seen), rows, rows - len(seen))
