"""Interrupts (SPEC 11: "An interrupted command (SIGINT, SIGTERM) stops its queries, writes nothing,
says so in one line and exits 130"; SPEC 7, invariant 3).

A CLI process is sent SIGINT or SIGTERM at seeded random moments of `run` on DuckDB and PostgreSQL,
of `sync` against a fake webhook that answers slowly, of `diff` and `preview`, and while the CLI
loads. The points: by the clock, inside a long query (a test-only slow segment), inside the apply
transaction (helpers/cli_on_signal.py's SW_TEST_PAUSE_IN_APPLY), and a bisection of the delay
towards the commit. Each time: exit 130, one line saying so, no traceback, and the state exactly as
before (members, changes, run records, sync cursor and rejections); or exit 0 when the command had
already finished, and then its complete result. A rerun then completes.

SW_INTERRUPT_POINTS=N adds N random points to each test (a bigger run than CI's);
SW_INTERRUPT_SEED changes the seed."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segwarehouse import Project

from fakes import webhook
from helpers.sync_project import cursor, db, expected_members, rejections, set_people, write_sync_project
from helpers.warehouses import DuckDBWarehouse, PostgresWarehouse
from test_run_invariants import (  # noqa: F401 - _isolated_profiles is an autouse fixture
    HELPERS, SMALL_SEGMENTS, _isolated_profiles, armed_cli)
from test_warehouse_runs import KILL_MUTATIONS, Setup, last_cli_run, make_setup, runs_at, table_rows_of

SEED = int(os.environ.get("SW_INTERRUPT_SEED", "20261204"))
EXTRA = int(os.environ.get("SW_INTERRUPT_POINTS", "0"))
SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A segment whose one query takes a second or two: something to interrupt in the middle. `sql:` holds
# one expression over the people row (no table reads): on DuckDB a constant expression it evaluates
# once per query (hashing 300 MB of text), on PostgreSQL a volatile sleep of 10 ms per person (about
# 150 people). It holds for everybody.
SLOW = {"duckdb": "length(md5(repeat('x', 300000000))) > 0",
        "postgres": "pg_sleep(0.01) IS NOT NULL"}


def slow_segment(engine: str) -> dict:
    return {"zz_slow.yml": f'name: zz_slow\nwhere: {{sql: "{SLOW[engine]}"}}\n'}


def outcome(proc: subprocess.Popen, sig: int, second: bool = False, timeout: float = 120) -> tuple[int, str]:
    """Send `sig` (and, with second, the other signal right after, as a user pressing Ctrl-C twice);
    the exit code and everything printed."""
    proc.send_signal(sig)
    if second:
        time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(SIGNALS[sig == signal.SIGINT])
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def assert_said_once(code: int, text: str, where: object = "") -> None:
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, (where, text)
    said = [line for line in text.splitlines() if "Interrupted" in line]
    if code == 130:
        assert len(said) == 1 and "nothing" in said[0] and "written" in said[0], (where, text)
    else:
        assert code == 0 and not said, f"{where}: exit {code}: {text}"


def read_until(proc: subprocess.Popen, *needles: str, timeout: float = 60) -> str:
    """Read stdout lines until one holds every needle (or the process ended); the lines read."""
    deadline, lines = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        lines.append(proc.stdout.readline())
        if not lines[-1] or all(n in lines[-1] for n in needles):
            break
    return "".join(lines)


# --------------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------------
def state(setup: Setup) -> dict:
    with setup.wh.connect() as con:
        return {t: table_rows_of(con, t) for t in ("segment_members", "segment_changes", "segment_runs")}


@pytest.fixture(params=["duckdb", "postgres"])
def engine_setup(request, tmp_path) -> Setup:
    wh = DuckDBWarehouse(tmp_path) if request.param == "duckdb" else PostgresWarehouse(
        request.getfixturevalue("postgres_dsn"))
    yield make_setup(tmp_path, wh, {**SMALL_SEGMENTS, **slow_segment(request.param)})
    if hasattr(wh, "close"):
        wh.close()


def test_an_interrupted_run_writes_nothing_says_so_and_exits_130(engine_setup):
    setup = engine_setup
    rng = random.Random(SEED)
    t0 = time.monotonic()
    proc = armed_cli(setup.root, "--log-format", "json", "run", "--as-of", "2026-10-01")
    code, text = outcome_of_fire(proc)
    full = time.monotonic() - t0
    assert code == 0, text
    slow = next(json.loads(line)["seconds"] for line in text.splitlines()
                if '"segment_finished"' in line and '"zz_slow"' in line)
    setup.check(last_cli_run(setup))
    setup.mutate(*KILL_MUTATIONS)
    before = state(setup)

    # (how the point is reached, delay after it); one run a day later each, so each has changes to make
    points = [("clock", rng.uniform(0.0, 1.0) * full), ("slow query", rng.uniform(0.2, 0.8)),
              ("apply", rng.choice([1, 2, 3])), ("apply twice", rng.choice([1, 2, 3]))]
    points += [("clock", rng.uniform(0.0, 1.0) * full) for _ in range(EXTRA)]
    lo, hi = 0.0, 1.5 * slow + 0.3  # bisection of the delay after the slow segment started towards the commit
    bisect = 3
    seen, day = [], 1
    for i in range(len(points) + bisect):
        day += 1
        as_of = f"2026-10-{day:02d}"
        how, arg = points[i] if i < len(points) else ("commit", (lo + hi) / 2)
        pause = {"SW_TEST_PAUSE_IN_APPLY": str(arg)} if how.startswith("apply") else {}
        proc = armed_cli(setup.root, "--log-format", "json", "run", "--wait", "--as-of", as_of, env=pause)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        if how == "slow query":
            read_until(proc, '"segment_started"', '"zz_slow"')
        elif how.startswith("apply"):
            assert read_until(proc, "applying"), proc.communicate()
        elif how == "commit":
            read_until(proc, '"segment_started"', '"zz_slow"')
        if not how.startswith("apply"):
            time.sleep(arg)
        sig = SIGNALS[i % 2]
        code, text = outcome(proc, sig, second=how == "apply twice")
        assert_said_once(code, text)
        if code == 0:  # it had finished: then all of it
            assert runs_at(setup, as_of), text
            setup.check(last_cli_run(setup))
            before = state(setup)
        else:
            assert state(setup) == before, f"interrupted at {how} {arg}: the state changed"
            assert runs_at(setup, as_of) == []
        if how == "commit":
            lo, hi = (arg, hi) if code == 130 else (lo, arg)
        seen.append((how, round(arg, 2), sig.name, code))
    print(f"{setup.wh.engine}: whole run {full:.1f}s; interrupts (point, delay or statement, signal, exit): {seen}")
    assert sum(code == 130 for *_, code in seen) >= 4, seen

    proc = armed_cli(setup.root, "run", "--wait", "--as-of", f"2026-10-{day + 1:02d}")
    code, text = outcome_of_fire(proc)
    assert code == 0, text
    setup.check(last_cli_run(setup))


def outcome_of_fire(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate("go\n", timeout=180)
    return proc.returncode, out + err


# --------------------------------------------------------------------------------------------------
# diff, preview and start-up (DuckDB)
# --------------------------------------------------------------------------------------------------
def test_interrupted_diff_preview_and_start_up_say_so_and_exit_130(tmp_path):
    setup = make_setup(tmp_path, DuckDBWarehouse(tmp_path), {**SMALL_SEGMENTS, **slow_segment("duckdb")})
    code, text = outcome_of_fire(armed_cli(setup.root, "run", "--as-of", "2026-10-01"))
    assert code == 0, text
    setup.mutate(*KILL_MUTATIONS)
    before = state(setup)
    rng = random.Random(SEED + 1)
    seen = []
    commands = [["diff", "--as-of", "2026-10-20"], ["preview", "zz_slow", "--as-of", "2026-10-20"]]
    for i in range(4 + EXTRA):
        args = commands[i % 2]
        proc = armed_cli(setup.root, *args)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        delay = rng.uniform(0.3, 1.5)  # start-up, project loading, then inside the slow query
        time.sleep(delay)
        code, text = outcome(proc, SIGNALS[i % 2], second=i == 3)
        assert_said_once(code, text)
        assert state(setup) == before
        seen.append((args[0], round(delay, 2), code))
    assert sum(code == 130 for *_, code in seen) >= 3, seen

    # start-up: from the console script's first line (launch.py) through the imports and loading
    script = ("import sys\nfrom segwarehouse import launch\nprint('ready', flush=True)\nsys.stdin.readline()\n"
              "sys.argv = ['segwarehouse', *sys.argv[1:]]\nlaunch.main()\n")
    for i in range(3 + EXTRA):
        proc = subprocess.Popen([sys.executable, "-c", script, "--project-dir", str(setup.root), "diff",
                                 "--as-of", "2026-10-20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        code, text = outcome(proc, SIGNALS[i % 2])
        assert_said_once(code, text)
        seen.append(("start-up", round(delay, 2), code))
    print(f"diff/preview/start-up interrupts (command, delay, exit): {seen}")
    code, text = outcome_of_fire(armed_cli(setup.root, "diff", "--as-of", "2026-10-20"))
    assert code == 0, text


# --------------------------------------------------------------------------------------------------
# sync
# --------------------------------------------------------------------------------------------------
class SlowWebhook(webhook.FakeWebhook):
    """The fake webhook answering each request 30 ms late, so a sync takes long enough to interrupt."""

    @webhook.route("POST", r"/hooks")
    def receive(self, request):
        time.sleep(0.03)
        return super().receive(request)


def sync_state(root: Path) -> tuple:
    with db(root) as con:
        state = con.execute("SELECT * FROM segwarehouse.segment_sync_state ORDER BY ALL").fetchall()
    return state, cursor(root, "hook"), rejections(root)


def people_with_gaps(n: int, gold: set[int]) -> list[tuple]:
    """Every tenth person has no email: the sync records them as rejections (written at its commit)."""
    return [(i, None if i % 10 == 0 else f"user{i}@example.com", f"name{i}", "gold" if i in gold else "silver")
            for i in range(1, n + 1)]


def test_an_interrupted_sync_keeps_its_cursor_and_writes_no_rejections(tmp_path):
    root, environ = tmp_path / "p", {}
    rng = random.Random(SEED + 2)
    with SlowWebhook() as fake:
        write_sync_project(root, {"hook": {**webhook.settings(fake.base_url), "identifier": "email", "batch_size": 5}},
                           [{"destination": "hook", "list": webhook.LIST}], environ)
        env = {**os.environ, **environ}

        def armed_sync() -> subprocess.Popen:
            proc = subprocess.Popen([sys.executable, str(HELPERS / "cli_on_signal.py"), "--project-dir", str(root),
                                     "--log-format", "json", "sync",
                                     "--allow-mass-removal"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
            assert proc.stdout.readline().strip() == "ready"
            proc.stdin.write("go\n")
            proc.stdin.flush()
            return proc

        seen, full = [], None
        lo, hi = 0.5, 2.0  # bisection (a fraction of a whole sync, from "go") towards the commit
        for day in range(1, 8 + EXTRA):
            set_people(root, people_with_gaps(200, set(rng.sample(range(1, 201), 60 + 10 * day))))
            assert Project(root, environ=environ).run(as_of=f"2026-10-{day:02d}").ok
            before = sync_state(root)
            if full is None:  # the first sync completes: how long a whole one takes
                proc = armed_sync()
                t0 = time.monotonic()
                code, text = outcome_of_fire_sync(proc)
                full = time.monotonic() - t0  # from "go" on
                assert code == 0, text
                continue
            if day == 2:
                how, delay = "sending", rng.uniform(0.0, 0.3)
            elif day < 5:
                how, delay = "clock", rng.uniform(0.0, 0.8) * full
            elif day < 8:
                how, delay = "commit", (lo + hi) / 2 * full
            else:
                how, delay = "clock", rng.uniform(0.0, 0.8) * full
            proc = armed_sync()
            read = read_until(proc, '"subscription_progress"') if how == "sending" else ""
            time.sleep(delay)
            sig = SIGNALS[day % 2]
            code, text = outcome(proc, sig, second=day == 3)
            text = read + text
            assert_said_once(code, text, (how, delay, sig.name, seen))
            if code == 130:
                assert sync_state(root) == before, f"interrupted at {how} {delay:.2f}s: the cursor or rejections moved"
                assert not list((root / "target").glob("**/*.tmp"))
            else:
                with db(root) as con:
                    latest = con.execute("SELECT max(run_id) FROM segwarehouse.segment_runs").fetchone()[0]
                assert cursor(root, "hook") == latest
            if how == "commit":
                lo, hi = (delay / full, hi) if code == 130 else (lo, delay / full)
            seen.append((how, round(delay, 2), sig.name, code))
        print(f"sync: whole sync {full:.1f}s; interrupts (point, delay s, signal, exit): {seen}")
        assert sum(code == 130 for *_, code in seen) >= 3, seen

        code, text = outcome_of_fire_sync(armed_sync())
        assert code == 0, text
        assert webhook.members(fake, webhook.LIST) == expected_members(root, "email") - {"None"}
        with db(root) as con:
            latest = con.execute("SELECT max(run_id) FROM segwarehouse.segment_runs").fetchone()[0]
            no_email = {r[0] for r in con.execute(
                "SELECT m.person_id FROM segwarehouse.segment_members m JOIN main.users u ON u.user_id = m.person_id "
                "WHERE m.segment = 'vip' AND u.email IS NULL").fetchall()}
        assert cursor(root, "hook") == latest
        assert no_email <= {r[2] for r in rejections(root)}


def outcome_of_fire_sync(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out + err


# --------------------------------------------------------------------------------------------------
# Snowflake (the real connector against fakesnow): inside the apply transaction only, since
# fakesnow cannot run a slow query; the run lock must be released for the next run at once
# --------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:::fakesnow.*")
def test_an_interrupted_snowflake_run_rolls_back_and_releases_its_lock(tmp_path, snowflake_server, monkeypatch):
    import snowflake.connector

    from helpers.warehouses import SnowflakeWarehouse

    monkeypatch.setattr(snowflake.connector, "connect", snowflake.connector.Connect)  # over HTTP, as the CLI
    setup = make_setup(tmp_path, SnowflakeWarehouse(snowflake_server), SMALL_SEGMENTS)
    code, text = outcome_of_fire(armed_cli(setup.root, "run", "--as-of", "2026-10-01"))
    assert code == 0, text
    setup.mutate(*KILL_MUTATIONS)
    before = state(setup)
    for sig, after in ((signal.SIGINT, 2), (signal.SIGTERM, 3)):
        proc = armed_cli(setup.root, "run", "--as-of", "2026-10-20", env={"SW_TEST_PAUSE_IN_APPLY": str(after)})
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert read_until(proc, "applying").endswith("applying\n")
        code, text = outcome(proc, sig)
        assert code == 130, text
        assert_said_once(code, text, sig.name)
        assert state(setup) == before and runs_at(setup, "2026-10-20") == []
        assert setup.wh.execute("SELECT holder FROM shop._sw_run_lock").fetchall() == [(None,)]
    code, text = outcome_of_fire(armed_cli(setup.root, "run", "--as-of", "2026-10-20"))
    assert code == 0, text
    setup.check(last_cli_run(setup))
