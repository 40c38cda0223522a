"""A small project for sync tests: a people table in DuckDB, one segment (`vip`: plan = 'gold', with
fields) subscribed to the given destinations, secrets passed through env_var() like users must."""
from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import textwrap
from pathlib import Path
from typing import Any, Iterator

import duckdb
import yaml

from segwarehouse.sync.destinations import destination_class

DB = "segwarehouse.duckdb"
FAKES = Path(__file__).resolve().parent.parent / "fakes"
# tiny timeouts and backoffs so fault tests stay fast (HTTP destinations only)
FAST = {"timeout": 0.5, "max_attempts": 40, "backoff": 0.01}


def fake_modules() -> list:
    """Every module under tests/fakes/ that follows the convention of tests/fakes/__init__.py."""
    found = []
    for info in pkgutil.iter_modules([str(FAKES)]):
        module = importlib.import_module(f"fakes.{info.name}")
        if all(hasattr(module, a) for a in ("TYPE", "LIST", "make_fake", "settings", "members")):
            found.append(module)
    return sorted(found, key=lambda m: m.TYPE)


@contextlib.contextmanager
def db(project: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{project / DB}' AS w")
        con.execute("USE w")
        yield con
    finally:
        con.close()


def write_sync_project(root: Path, destinations: dict[str, dict[str, Any]], subscriptions: list[dict],
                       environ: dict[str, str], extra_segments: str = "") -> Path:
    """segwarehouse.yml with `destinations` (secret settings moved into env vars, as users must write
    them) and segments/vip.yml syncing with `subscriptions`."""
    declared = {}
    for name, settings in destinations.items():
        secrets = set(destination_class(settings["type"]).secret_settings)
        out = {}
        for key, value in settings.items():
            if key in secrets:
                var = f"SW_TEST_{name}_{key}".upper()
                environ[var] = str(value)
                out[key] = '{{ env_var("' + var + '") }}'
            else:
                out[key] = value
        declared[name] = out
    root.mkdir(parents=True, exist_ok=True)
    project = {"name": "t", "people": {"table": "main.users", "key": "user_id", "identifiers": {"email": "email"}},
               "destinations": declared}
    (root / "segwarehouse.yml").write_text(yaml.safe_dump(project, sort_keys=False, width=1000))
    (root / "segments").mkdir(exist_ok=True)
    segment = {"name": "vip", "fields": ["email", "first_name"], "where": {"attribute": "plan", "equals": "gold"},
               "sync": subscriptions}
    (root / "segments" / "vip.yml").write_text(yaml.safe_dump(segment, sort_keys=False) + textwrap.dedent(extra_segments))
    return root


def set_people(project: Path, rows: list[tuple[int, str, str, str]]) -> None:
    """Replace main.users with (user_id, email, first_name, plan) rows."""
    with db(project) as con:
        con.execute("CREATE OR REPLACE TABLE main.users (user_id BIGINT, email VARCHAR, first_name VARCHAR, "
                    "plan VARCHAR)")
        if rows:
            con.executemany("INSERT INTO main.users VALUES (?, ?, ?, ?)", rows)


def people(n: int, gold: set[int], offset: int = 0) -> list[tuple[int, str, str, str]]:
    return [(i, f"user{i}@example.com", f"name{i}", "gold" if i in gold else "silver")
            for i in range(1 + offset, n + 1 + offset)]


def expected_members(project: Path, identifier: str, segment: str = "vip") -> set[str]:
    """The segment's current members as the destination knows them (key or email)."""
    with db(project) as con:
        if identifier == "key":
            rows = con.execute("SELECT person_id FROM segwarehouse.segment_members WHERE segment = ?",
                               [segment]).fetchall()
        else:
            rows = con.execute("SELECT u.email FROM segwarehouse.segment_members m JOIN main.users u "
                               "ON u.user_id = m.person_id WHERE m.segment = ?", [segment]).fetchall()
    return {str(r[0]) for r in rows}


def csv_members(folder: Path) -> set[str]:
    """Replay every CSV file of a segment folder in name (= run) order."""
    import csv

    members: set[str] = set()
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                (members.discard if row["change"] == "exited" else members.add)(row["identifier"])
    return members


def rejections(project: Path) -> list[tuple]:
    with db(project) as con:
        return con.execute("SELECT destination, segment, person_id, reason FROM segwarehouse.segment_sync_rejections "
                           "ORDER BY person_id").fetchall()


def cursor(project: Path, destination: str) -> Any:
    with db(project) as con:
        rows = con.execute("SELECT synced_through_run_id FROM segwarehouse.segment_sync_state WHERE destination = ?",
                           [destination]).fetchall()
    return rows[0][0] if rows else None


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
