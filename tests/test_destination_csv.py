"""The CSV destination's columns and times, and `export --output -` (issue 10, point 12)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

from segwarehouse import Project
from segwarehouse.sync.destinations import destination_for
from segwarehouse.sync.records import Change, Subscription

from helpers.sync_project import people, set_people, write_sync_project

SUB = Subscription("vip", "files", None)
AT = dt.datetime(2026, 11, 23, 3, 0, 0)


def write(tmp_path: Path, changes: list[Change], **settings) -> list[dict[str, str]]:
    dest = destination_for("files", {"type": "csv", "path": str(tmp_path / "out"), **settings})
    dest.begin(SUB, "run-9", False)
    dest.send(SUB, "add", changes)
    dest.finish(SUB, acknowledged=True)
    with (tmp_path / "out" / "vip" / "run-9.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_by_default_fields_ride_in_one_json_column_and_changed_at_has_its_z(tmp_path):
    aware = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = write(tmp_path, [Change(1, "1", "entered", AT, "run-9", fields={"email": "a@x.io"}),
                            Change(2, "2", "entered", aware, "run-9")])
    assert list(rows[0]) == ["run_id", "segment", "person_id", "identifier", "change", "changed_at", "split", "fields"]
    assert [r["changed_at"] for r in rows] == ["2026-11-23T03:00:00Z", "2026-11-23T03:00:00Z"]
    assert rows[0]["fields"] == '{"email": "a@x.io"}'


def test_columns_puts_each_listed_field_in_a_column_of_its_own(tmp_path):
    rows = write(tmp_path, [Change(1, "a@x.io", "entered", AT, "run-9",
                                   fields={"first_name": "Ann", "seats": 3, "tags": ["a"], "signed_up": dt.date(2026, 1, 2)}),
                            Change(2, "b@x.io", "updated", AT, "run-9", fields={"first_name": None})],
                 columns=["first_name", "seats", "tags", "signed_up"])
    assert list(rows[0]) == ["run_id", "segment", "person_id", "identifier", "change", "changed_at", "split",
                             "first_name", "seats", "tags", "signed_up"]
    assert [(r["identifier"], r["first_name"], r["seats"], r["tags"], r["signed_up"]) for r in rows] == [
        ("a@x.io", "Ann", "3", '["a"]', "2026-01-02"), ("b@x.io", "", "", "", "")]


def cli(root: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **env})


def test_a_bad_columns_setting_is_a_file_line_error(tmp_path):
    root = tmp_path / "p"
    write_sync_project(root, {"files": {"type": "csv", "path": "out", "columns": ["email", "change"]}},
                       [{"destination": "files"}], {})
    done = cli(root, "validate", env={})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "segwarehouse.yml:" in done.stderr and "`columns` cannot hold 'change'" in " ".join(done.stderr.split())


def test_export_to_standard_output_writes_the_csv_alone(tmp_path):
    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"files": {"type": "csv", "path": "out"}}, [{"destination": "files"}], environ)
    set_people(root, people(10, {2, 5, 7}))
    assert Project(root, environ=environ).run(as_of="2026-10-01").ok
    done = cli(root, "export", "vip", "--output", "-", env=environ)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["user_id"], r["email"]) for r in rows] == [(str(i), f"user{i}@example.com") for i in (2, 5, 7)]
    assert "wrote 3 member(s) of vip to standard output" in done.stderr
    assert not (root / "-").exists()
