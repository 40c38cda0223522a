"""Sync under faults (SPEC section 8): injected 429/500/timeouts/drops, a sync process killed at random
points and run again, the mass-removal guard, per-record rejections and their retry, a batch refused
as a whole split in halves, and an unreachable destination that leaves the cursor where it was."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from segwarehouse import Project

from fakes import customerio, webhook
from fakes.server import Faults, Response
from helpers.sync_project import (FAST, cursor, db, expected_members, people, rejections, set_people,
                                  write_sync_project)

HELPERS = Path(__file__).resolve().parent / "helpers"


def cio_project(root: Path, fake, environ: dict, **settings) -> Path:
    return write_sync_project(root, {"cio": {**customerio.settings(fake.base_url), **FAST, **settings}},
                              [{"destination": "cio", "list": customerio.LIST}], environ)


def latest_run(root: Path) -> str:
    with db(root) as con:
        return con.execute("SELECT max(run_id) FROM segwarehouse.segment_runs").fetchone()[0]


def test_twenty_percent_faults_end_exact(tmp_path):
    root, environ = tmp_path / "p", {}
    faults = Faults(too_many=0.05, server_error=0.05, timeout=0.05, drop=0.05, timeout_seconds=0.4, seed=7)
    with customerio.make_fake(faults) as fake:
        cio_project(root, fake, environ, batch_size=10, timeout=0.25)
        retried = 0
        for day, gold in enumerate([set(range(1, 151)), set(range(60, 200))], start=1):
            set_people(root, people(220, gold))
            assert Project(root, environ=environ).run(as_of=f"2026-10-0{day}").ok
            [result] = Project(root, environ=environ).sync()
            assert result.status == "success", result.error
            assert customerio.members(fake, customerio.LIST) == expected_members(root, "key")
            retried += result.retried
        assert retried > 0
        assert any(status in (429, 500) for *_, status in fake.log)
        assert cursor(root, "cio") == latest_run(root)


def armed_sync(root: Path, environ: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(HELPERS / "cli_on_signal.py"), "--project-dir", str(root), "sync"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **environ})
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_sync_killed_at_random_points_then_rerun_ends_exact(tmp_path):
    root, environ = tmp_path / "p", {}
    rng = random.Random(11)
    killed = 0
    with customerio.make_fake() as fake:
        cio_project(root, fake, environ, batch_size=5)
        for day in range(1, 5):
            gold = set(rng.sample(range(1, 301), 150 + 10 * day))
            set_people(root, people(300, gold))
            assert Project(root, environ=environ).run(as_of=f"2026-10-0{day}").ok
            proc = armed_sync(root, environ)
            # Kill after a random number of requests reached the vendor (a clock delay missed the
            # sync altogether on a fast machine): somewhere between the first batch and the cursor.
            seen, after = len(fake.log), rng.randint(1, 12)
            proc.stdin.write("go\n")
            proc.stdin.flush()
            deadline = time.monotonic() + 60
            while proc.poll() is None and len(fake.log) < seen + after and time.monotonic() < deadline:
                time.sleep(0.002)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate(timeout=60)
        code = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "sync"],
                              env={**os.environ, **environ}, capture_output=True, text=True, timeout=120)
        assert code.returncode == 0, code.stdout + code.stderr
        assert customerio.members(fake, customerio.LIST) == expected_members(root, "key")
        assert cursor(root, "cio") == latest_run(root)
    assert killed >= 2, "the kills did not land during syncs"


def test_mass_removal_guard_stops_then_allow_mass_removal_lets_it_through(tmp_path):
    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as fake:
        cio_project(root, fake, environ)
        set_people(root, people(30, set(range(1, 21))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        Project(root, environ=environ).sync()
        synced = cursor(root, "cio")
        set_people(root, people(30, {1, 2}))  # an upstream bug: the plan column was mostly wiped
        assert Project(root, environ=environ).run(as_of="2026-10-02").ok
        requests = len(fake.log)
        env = {**os.environ, **environ}
        done = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "sync"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "would remove 18 of 20 member(s) (90%)" in done.stderr and "--allow-mass-removal" in done.stderr
        assert len(fake.log) == requests and cursor(root, "cio") == synced
        assert len(customerio.members(fake, customerio.LIST)) == 20
        done = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(root), "sync",
                               "--allow-mass-removal"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert customerio.members(fake, customerio.LIST) == {"1", "2"}


def test_rejected_records_are_recorded_the_rest_goes_through_and_they_are_retried(tmp_path):
    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as fake:
        cio_project(root, fake, environ)
        rows = people(30, set(range(1, 21)))
        bad = {4, 17}
        set_people(root, [(i, "not-an-email" if i in bad else e, f, p) for i, e, f, p in rows])
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        [result] = Project(root, environ=environ).sync()
        assert result.status == "success" and result.sent == 18 and result.rejected == 2
        found = rejections(root)
        assert [r[2] for r in found] == [4, 17]
        assert all(r[:2] == ("cio", "vip") and "invalid email" in r[3] for r in found)
        assert customerio.members(fake, customerio.LIST) == expected_members(root, "key") - {"4", "17"}
        # the next sync, with nothing new from runs, retries them: still refused, still recorded
        before = len(fake.requests_to("POST", "/api/v2/batch"))
        [again] = Project(root, environ=environ).sync()
        assert again.rejected == 2 and len(fake.requests_to("POST", "/api/v2/batch")) > before
        # fixed upstream: the run records `updated` (fields changed); the retry goes through and clears them
        set_people(root, rows)
        assert Project(root, environ=environ).run(as_of="2026-10-02").ok
        [fixed] = Project(root, environ=environ).sync()
        assert fixed.rejected == 0 and rejections(root) == []
        assert customerio.members(fake, customerio.LIST) == expected_members(root, "key")


def test_a_batch_refused_as_a_whole_is_split_to_isolate_the_bad_record(tmp_path):
    class Picky(webhook.FakeWebhook):
        def receive(self, request):
            if any(c["person_id"] == 13 for c in request.json()["changes"]):
                return Response(422, {"error": "person 13 is not allowed"})
            return super().receive(request)

    Picky.receive.route = webhook.FakeWebhook.receive.route
    root, environ = tmp_path / "p", {}
    with Picky() as fake:
        write_sync_project(root, {"hooks": {**webhook.settings(fake.base_url), **FAST}},
                           [{"destination": "hooks", "list": webhook.LIST}], environ)
        set_people(root, people(40, set(range(1, 33))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        [result] = Project(root, environ=environ).sync()
        assert result.rejected == 1 and result.sent == 31
        assert [(r[2], r[3]) for r in rejections(root)] == [(13, 'webhook answered 422: {"error": "person 13 is not allowed"}')]
        assert webhook.members(fake, webhook.LIST) == expected_members(root, "key") - {"13"}


def test_unreachable_destination_stops_without_moving_the_cursor(tmp_path):
    root, environ = tmp_path / "p", {}
    with customerio.make_fake(Faults(server_error=1.0)) as fake:
        cio_project(root, fake, environ, max_attempts=2)
        set_people(root, people(10, {1, 2, 3}))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        [result] = Project(root, environ=environ).sync()
        assert result.status == "error" and "HTTP 500 after 2 attempts" in result.error
        assert cursor(root, "cio") is None
        fake.faults = Faults()
        [result] = Project(root, environ=environ).sync()
        assert result.status == "success" and result.sent == 3
        assert customerio.members(fake, customerio.LIST) == {"1", "2", "3"}
