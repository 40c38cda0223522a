"""`segwarehouse init DIR`: a new project that validates and runs as soon as its tables exist."""
from __future__ import annotations

from pathlib import Path

from .errors import ValidationError

FILES = {
    "segwarehouse.yml": """\
name: {name}
source_dialect: duckdb
output_schema: segwarehouse
people:
  table: main.users
  key: user_id
  identifiers: {{email: email}}
streams:
  event: {{table: main.events, key: user_id, timestamp: occurred_at, name: event_name, properties: properties}}
vars: {{}}
destinations: {{}}
""",
    "segments/active_buyers.yml": """\
name: active_buyers
description: Bought at least twice in the last 30 days
tags: [example]
where:
  event: purchase
  within: 30d
  count: {gte: 2}
tests:
  - name: two_recent_purchases
    as_of: 2026-11-01T00:00:00Z
    given:
      people: [{user_id: 1}, {user_id: 2}]
      event:
        - {user_id: 1, event_name: purchase, occurred_at: 2026-10-20T10:00:00Z}
        - {user_id: 1, event_name: purchase, occurred_at: 2026-10-25T10:00:00Z}
        - {user_id: 2, event_name: purchase, occurred_at: 2026-08-01T10:00:00Z}
    expect: [1]
""",
    "macros/.gitkeep": "",
    "profiles.example.yml": """\
# Copy to profiles.yml (never commit it); secrets come from environment variables.
{name}:
  target: dev
  outputs:
    dev: {{type: duckdb, path: segwarehouse.duckdb}}
""",
    ".gitignore": "target/\nprofiles.yml\n*.duckdb\n*.duckdb.wal\n",
}


def init_project(directory: str) -> Path:
    root = Path(directory)
    if (root / "segwarehouse.yml").exists():
        raise ValidationError(f"{root / 'segwarehouse.yml'} already exists; init never overwrites a project")
    name = "".join(c if c.isalnum() else "_" for c in root.resolve().name.lower()).strip("_") or "project"
    if not name[0].isalpha():
        name = f"p_{name}"
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name) if "{name}" in text else text)
    return root
