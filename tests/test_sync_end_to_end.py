"""Reverse sync end to end (SPEC section 8): a real DuckDB target, real HTTP to every fake vendor in
tests/fakes/ (discovered, so each new destination joins these tests), membership compared with
segment_members through the destination's identifier. CSV files are replayed from disk."""
from __future__ import annotations

import pytest

from segwarehouse import Project
from segwarehouse.sync.destinations import destination_class

from helpers.sync_project import (FAST, csv_members, cursor, db, expected_members, fake_modules, people,
                                  set_people, write_sync_project)

FAKES = fake_modules()


def scenario(root, destinations, subscriptions, environ, check):
    """Runs that add, remove (one person leaves the people table) and update people, each followed by
    a sync after which check() must hold; then a sync that sends nothing."""
    write_sync_project(root, destinations, subscriptions, environ)
    steps = [
        people(40, set(range(1, 21))),
        # 1-5 leave the segment, 21-26 enter, 8 changes first_name (updated), 9 leaves the people table
        [(i, e, "renamed" if i == 8 else f, p) for i, e, f, p in people(40, set(range(6, 27))) if i != 9],
        # more people, a few come back
        people(60, set(range(1, 4)) | set(range(15, 45))),
    ]
    for n, rows in enumerate(steps):
        set_people(root, rows)
        project = Project(root, environ=environ)
        assert project.run(as_of=f"2026-10-0{n + 1}").ok
        results = Project(root, environ=environ).sync()
        assert all(r.status == "success" for r in results), results
        assert all(r.rejected == 0 for r in results)
        check()
    return Project(root, environ=environ).sync()


@pytest.mark.parametrize("fake_module", FAKES, ids=[m.TYPE for m in FAKES])
def test_sync_makes_the_destination_equal_segment_members(fake_module, tmp_path):
    environ: dict[str, str] = {}
    identifier = destination_class(fake_module.TYPE).default_identifier
    with fake_module.make_fake() as fake:
        destinations = {"dest": {**fake_module.settings(fake.base_url), **FAST}}
        subscriptions = [{"destination": "dest", "list": fake_module.LIST}]

        def check():
            assert fake_module.members(fake, fake_module.LIST) == expected_members(tmp_path / "p", identifier)

        final = scenario(tmp_path / "p", destinations, subscriptions, environ, check)
        requests = len(fake.log)
        assert final[0].sent == 0 and final[0].pending == {}
        assert len(fake.log) == requests  # the last sync sent nothing
        assert expected_members(tmp_path / "p", identifier)  # the check was not vacuous


def test_csv_files_replay_to_segment_members_and_resync_overwrites_identically(tmp_path):
    root, environ = tmp_path / "p", {}
    folder = root / "exports" / "vip"

    def check():
        assert csv_members(folder) == expected_members(root, "key")

    final = scenario(root, {"files": {"type": "csv", "path": "exports"}}, [{"destination": "files"}], environ, check)
    assert final[0].sent == 0
    files = sorted(folder.glob("*.csv"))
    assert len(files) == 3 and not list(folder.glob(".*tmp"))
    before = {f.name: f.read_bytes() for f in files}
    # forget the cursor of the last sync: the same changes are written again, to the same file, identically
    with db(root) as con:
        runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM segwarehouse.segment_runs ORDER BY 1").fetchall()]
        con.execute("UPDATE segwarehouse.segment_sync_state SET synced_through_run_id = ?", [runs[1]])
    assert Project(root, environ=environ).sync()[0].sent > 0
    assert {f.name: f.read_bytes() for f in sorted(folder.glob("*.csv"))} == before
    assert cursor(root, "files") == runs[2]


def test_full_resends_every_member_and_events_are_deduplicated(tmp_path):
    from fakes import customerio

    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as fake:
        write_sync_project(root, {"cio": {**customerio.settings(fake.base_url), **FAST},
                                  "cio_events": {**customerio.settings(fake.base_url), **FAST}},
                           [{"destination": "cio", "list": customerio.LIST},
                            {"destination": "cio_events", "on_enter": "event", "on_exit": "event"}], environ)
        set_people(root, people(20, set(range(1, 11))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        Project(root, environ=environ).sync()
        set_people(root, people(20, set(range(5, 13))))
        assert Project(root, environ=environ).run(as_of="2026-10-02").ok
        Project(root, environ=environ).sync()
        names = sorted(e["name"] for e in fake.events.values())
        assert names.count("Entered segment") == 12 and names.count("Exited segment") == 4
        fake.segments[customerio.LIST].clear()  # someone emptied the list by hand
        events = dict(fake.events)
        results = Project(root, environ=environ).sync(full=True)
        assert [r.pending for r in results] == [{"add": 8}, {"event": 8}]
        assert customerio.members(fake, customerio.LIST) == expected_members(root, "key")
        assert fake.events == events  # the same event ids: Customer.io keeps one of each


def test_dry_run_counts_and_samples_without_sending_or_writing(tmp_path):
    from fakes import customerio

    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as fake:
        write_sync_project(root, {"cio": {**customerio.settings(fake.base_url), **FAST}},
                           [{"destination": "cio", "list": customerio.LIST}], environ)
        set_people(root, people(20, set(range(1, 8))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        [result] = Project(root, environ=environ).sync(dry_run=True)
        assert result.status == "dry-run" and result.pending == {"add": 7}
        assert [(s["person_id"], s["identifier"]) for s in result.sample["add"]] == [(i, str(i)) for i in range(1, 6)]
        assert fake.log == [] and cursor(root, "cio") is None
        assert Project(root, environ=environ).sync()[0].sent == 7
