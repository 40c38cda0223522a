"""Per-subscription sync behaviour (SPEC section 8): `splits:` on a `sync:` entry, the mass-removal
guard's floor, an unknown list that stops the subscription, and their load-time checks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from fakes import iterable
from helpers.sync_project import cursor, db, people, rejections, set_people, write_sync_project
from segwarehouse import Project

ITERABLE = {**iterable.settings("http://unused"), "timeout": 2}


def fake_iterable(*lists: str) -> iterable.FakeIterable:
    return iterable.FakeIterable(lists=lists).without_window()


def with_segment(root: Path, **changes) -> None:
    """Edit segments/vip.yml (written by write_sync_project)."""
    path = root / "segments" / "vip.yml"
    segment = yaml.safe_load(path.read_text())
    segment.update(changes)
    path.write_text(yaml.safe_dump(segment, sort_keys=False))


def members_by_split(root: Path) -> dict[str, set[str]]:
    with db(root) as con:
        rows = con.execute("SELECT m.split, u.email FROM segwarehouse.segment_members m JOIN main.users u "
                           "ON u.user_id = m.person_id WHERE m.segment = 'vip'").fetchall()
    found: dict[str, set[str]] = {}
    for split, email in rows:
        found.setdefault(split, set()).add(email)
    return found


def validate(root: Path, environ: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "validate"],
                          env={**os.environ, **environ, "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=60)


# --- splits -----------------------------------------------------------------------------------------
def test_splits_sync_only_their_groups_and_a_move_is_an_exit_and_an_entry(tmp_path):
    root, environ = tmp_path / "p", {}
    with fake_iterable("1", "2") as fake:
        settings = {**ITERABLE, "base_url": fake.base_url}
        write_sync_project(root, {"it_a": settings, "it_b": settings},
                           [{"destination": "it_a", "list": "1", "splits": ["a"]},
                            {"destination": "it_b", "list": "2", "splits": ["b"]}], environ)
        with_segment(root, splits={"salt": "s", "groups": {"a": 50, "b": 50}})
        set_people(root, people(40, set(range(1, 41))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        assert all(r.ok for r in Project(root, environ=environ).sync())
        groups = members_by_split(root)
        assert groups["a"] and groups["b"]
        assert iterable.members(fake, "1") == groups["a"] and iterable.members(fake, "2") == groups["b"]

        # one person of group a leaves, then comes back after the split was changed: now in group b
        mover = min(groups["a"])
        number = int(mover.removeprefix("user").split("@")[0])
        set_people(root, people(40, set(range(1, 41)) - {number}))
        assert Project(root, environ=environ).run(as_of="2026-10-02").ok
        with_segment(root, splits={"salt": "s", "groups": {"a": 0, "b": 100}})
        set_people(root, people(40, set(range(1, 41))))
        assert Project(root, environ=environ).run(as_of="2026-10-03").ok
        assert mover in members_by_split(root)["b"]
        assert all(r.ok for r in Project(root, environ=environ).sync())
        assert iterable.members(fake, "1") == groups["a"] - {mover}
        assert iterable.members(fake, "2") == groups["b"] | {mover}


def test_splits_are_checked_against_the_segments_groups(tmp_path):
    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"it": ITERABLE}, [{"destination": "it", "list": "1", "splits": ["varaint_a"]}],
                       environ)
    with_segment(root, splits={"groups": {"control": 10, "variant_a": 90}})
    done = validate(root, environ)
    err = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("segments/vip.yml:11: segment 'vip': unknown split group 'varaint_a' in the sync to 'it' "
            "(did you mean 'variant_a'?); groups: control, variant_a") in err, err
    with_segment(root, splits=None)
    segment = yaml.safe_load((root / "segments" / "vip.yml").read_text())
    del segment["splits"]
    (root / "segments" / "vip.yml").write_text(yaml.safe_dump(segment, sort_keys=False))
    err = " ".join(validate(root, environ).stderr.split())
    assert "the sync to 'it' has `splits`, but the segment has none" in err, err


def test_two_entries_to_one_destination_are_refused(tmp_path):
    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"it": ITERABLE}, [{"destination": "it", "list": "1"},
                                                {"destination": "it", "list": "2"}], environ)
    err = " ".join(validate(root, environ).stderr.split())
    assert "segment 'vip' syncs to 'it' twice; one entry per destination" in err, err


# --- the mass-removal guard --------------------------------------------------------------------------
def csv_project(root: Path, environ: dict, **entry) -> None:
    write_sync_project(root, {"files": {"type": "csv", "path": "out"}}, [{"destination": "files", **entry}],
                       environ)


def turn_over(root: Path, environ: dict, n: int) -> list:
    """n members synced, then all of them leave: the next sync would remove every one."""
    set_people(root, people(n, set(range(1, n + 1))))
    assert Project(root, environ=environ).run(as_of="2026-10-01").ok
    assert all(r.ok for r in Project(root, environ=environ).sync())
    set_people(root, people(n, set()))
    assert Project(root, environ=environ).run(as_of="2026-10-02").ok
    return Project(root, environ=environ).sync()


def test_a_small_list_turning_over_passes_the_guard_below_its_floor(tmp_path):
    root, environ = tmp_path / "p", {}
    csv_project(root, environ)
    results = turn_over(root, environ, 8)  # 8 of 8 removed, at or below the default floor of 10
    assert all(r.ok for r in results), results[0].error


def test_above_the_floor_the_ratio_stops_and_the_message_has_no_none(tmp_path):
    root, environ = tmp_path / "p", {}
    csv_project(root, environ, min_removals=3)  # the `sync:` entry's floor wins over the default
    [result] = turn_over(root, environ, 8)
    assert not result.ok
    assert result.error.startswith("would remove 8 of 8 member(s) (100%) from 'files', above max_removal_ratio "
                                   "0.5 (guarded above min_removals 3)"), result.error
    assert "None" not in result.error


def test_the_destinations_floor_and_the_entrys_ratio(tmp_path):
    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"files": {"type": "csv", "path": "out", "min_removals": 0}},
                       [{"destination": "files", "max_removal_ratio": 0.99}], environ)
    [result] = turn_over(root, environ, 4)
    assert not result.ok and "above max_removal_ratio 0.99 (guarded above min_removals 0)" in result.error


def test_guard_settings_are_checked_at_load_time(tmp_path):
    root, environ = tmp_path / "p", {}
    write_sync_project(root, {"files": {"type": "csv", "path": "out", "min_removals": -1}},
                       [{"destination": "files", "min_removals": 2.5, "max_removal_ratio": 3}], environ)
    err = " ".join(validate(root, environ).stderr.split())
    assert "destination 'files': `min_removals` is a whole number, 0 or more, got -1" in err, err
    assert "`min_removals` is a whole number, 0 or more, got 2.5" in err
    assert "`max_removal_ratio` is a number from 0 to 1, got 3" in err


# --- an unknown list ---------------------------------------------------------------------------------
def test_an_unknown_list_stops_the_subscription_with_its_file_and_line(tmp_path):
    root, environ = tmp_path / "p", {}
    with fake_iterable("1") as fake:
        settings = {**ITERABLE, "base_url": fake.base_url}
        write_sync_project(root, {"it": settings, "wrong": settings}, [{"destination": "it", "list": "1"},
                                                                       {"destination": "wrong", "list": "999"}],
                           environ)
        set_people(root, people(30, set(range(1, 21))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        good, bad = Project(root, environ=environ).sync()
        assert good.ok and len(iterable.members(fake, "1")) == 20
        assert not bad.ok
        assert "list '999' does not exist" in bad.error and "segments/vip.yml:" in bad.error, bad.error
        assert "check `list:`" in bad.error
        # one request, not a batch split down to single records, and nothing written off
        refused = [entry for entry in fake.log if entry[2] == 400]
        assert len(refused) == 1
        assert rejections(root) == []
        with db(root) as con:
            state = con.execute("SELECT count(*) FROM segwarehouse.segment_sync_state").fetchone()[0]
        assert state == 1  # only the good subscription's cursor moved
    assert cursor(root, "it") is not None
