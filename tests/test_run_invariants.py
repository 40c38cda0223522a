"""Runs and output tables (SPEC section 7, invariants 1-7), the people key check, the per-segment views,
the CLI's artifacts and JSON log (SPEC section 11), kill safety and concurrency.

Everything here reads the output tables independently of the engine: membership is checked against
hand-written DuckDB queries (or `preview()`), the change log is replayed in Python, and splits are
recomputed from the SPEC's md5 formula."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import duckdb
import pytest

from segwarehouse import Project
from segwarehouse.errors import SegwarehouseError

from conftest import PROJECT_YML, write_project

DB = "segwarehouse.duckdb"
OUT = "segwarehouse"  # output_schema default
T0 = dt.datetime(2026, 10, 1)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _isolated_profiles(tmp_path, monkeypatch):
    """No profiles.yml from the environment or ~/.segwarehouse: the embedded DuckDB default applies."""
    for name in ("SEGWAREHOUSE_PROFILES_DIR", "SEGWAREHOUSE_TARGET_PATH"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "_home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))


def cli(project: Path, *args: str, timeout: float = 120, log_json: bool = False) -> subprocess.CompletedProcess:
    pre = ["--project-dir", str(project)] + (["--log-format", "json"] if log_json else [])
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", *pre, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def popen_cli(project: Path, *args: str, log_json: bool = False) -> subprocess.Popen:
    pre = ["--project-dir", str(project)] + (["--log-format", "json"] if log_json else [])
    return subprocess.Popen([sys.executable, "-m", "segwarehouse.cli", *pre, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})


@contextlib.contextmanager
def db(project: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The project's DuckDB file, attached under an alias (the file's own catalog name `segwarehouse`
    would be ambiguous with the output schema `segwarehouse`). Closed on exit so a run can open it."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{project / DB}' AS w")
        con.execute("USE w")
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def table_exists(con, schema: str, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_catalog = 'w' "
                            "AND table_schema = ? AND table_name = ?", [schema, name]).fetchall())


def _fields(text) -> dict:
    """A member's fields as a dict; a segment without fields may store NULL or {}: both are {}."""
    if text is None:
        return {}
    value = json.loads(text) if isinstance(text, str) else text
    return value or {}


def members(con, segment: str) -> dict:
    """{person_id: (split, fields)} of segment_members."""
    rows = con.execute(f"SELECT person_id, split, CAST(fields AS VARCHAR) FROM {OUT}.segment_members "
                       "WHERE segment = ?", [segment]).fetchall()
    out = {pid: (split, _fields(f)) for pid, split, f in rows}
    assert len(out) == len(rows), f"{segment}: duplicate person_id in segment_members"
    return out


def replay(con, segment: str) -> dict:
    """segment_changes in run_id order: entered adds (split, fields), updated replaces fields, exited removes."""
    state: dict = {}
    rows = con.execute(f"SELECT run_id, person_id, change, split, CAST(fields AS VARCHAR) FROM {OUT}.segment_changes "
                       "WHERE segment = ? ORDER BY run_id", [segment]).fetchall()
    for run_id, pid, change, split, f in rows:
        if change == "entered":
            assert pid not in state, f"{segment}: {pid} entered twice without exiting (run {run_id})"
            state[pid] = (split, _fields(f))
        elif change == "updated":
            assert pid in state, f"{segment}: {pid} updated while not a member (run {run_id})"
            state[pid] = (state[pid][0], _fields(f))
        elif change == "exited":
            assert pid in state, f"{segment}: {pid} exited while not a member (run {run_id})"
            del state[pid]
        else:
            pytest.fail(f"{segment}: unknown change {change!r} in run {run_id}")
    return state


def assert_one_change_per_run_segment_person(con) -> None:
    dupes = con.execute(f"SELECT run_id, segment, person_id, count(*) FROM {OUT}.segment_changes "
                        "GROUP BY ALL HAVING count(*) > 1 LIMIT 5").fetchall()
    assert not dupes, f"more than one change per (run, segment, person): {dupes}"


def table_rows(con, name: str) -> list:
    if not table_exists(con, OUT, name):
        return []
    return sorted(con.execute(f"SELECT * FROM {OUT}.{name}").fetchall(), key=repr)


def bucket_group(salt: str, key, groups: list[tuple[str, int]]) -> str:
    """SPEC 6: int(md5_hex(salt + ":" + str(key))[0:8], 16) % 100, groups take buckets in order."""
    bucket = int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) % 100
    upper = 0
    for name, percent in groups:
        upper += percent
        if bucket < upper:
            return name
    raise AssertionError("groups do not sum to 100")


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("target"))
    return dest


# --------------------------------------------------------------------------------------------------
# a small project with hand-written expectations
# --------------------------------------------------------------------------------------------------
SMALL_SEGMENTS = {
    "pro_users.yml": """\
        name: pro_users
        where: {attribute: plan, equals: pro}
        fields: [email, plan]
        """,
    "buyers.yml": """\
        name: buyers
        where: {event: purchase, within: 30d}
        fields: [email]
        splits:
          groups: {control: 30, variant: 70}
        """,
    "big_spenders.yml": """\
        name: big_spenders
        where: {event: purchase, sum: {of: properties.amount, gte: 100}}
        """,
    "active_pro.yml": """\
        name: active_pro
        where:
          all:
            - segment: pro_users
            - event: login
              within: 7d
        fields: [first_name]
        """,
    "not_de.yml": """\
        name: not_de
        where: {attribute: country, not_equals: DE}
        """,
    "gmail.yml": """\
        name: gmail
        where: {attribute: email, contains: gmail}
        fields: [email, ltv]
        """,
    "quiet.yml": """\
        name: quiet
        where: {event: login, within: 14d, performed: false}
        """,
    "vip.yml": """\
        name: vip
        static: {csv: data/vip.csv, column: email, match_on: email}
        fields: [first_name]
        """,
}
SMALL_FIELDS = {"pro_users": ["email", "plan"], "buyers": ["email"], "big_spenders": [], "active_pro": ["first_name"],
                "not_de": [], "gmail": ["email", "ltv"], "quiet": [], "vip": ["first_name"]}
SMALL_SPLITS = {"buyers": ("buyers", [("control", 30), ("variant", 70)])}
SMALL_NAMES = list(SMALL_FIELDS)


def _ts(as_of: dt.datetime) -> str:
    return f"TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S}'"


def vip_emails(root: Path) -> list[str]:
    """The static segment's CSV column, read here with the csv module (exact text, untrimmed)."""
    with (root / "data" / "vip.csv").open(newline="") as handle:
        return [row["email"] for row in csv.DictReader(handle)]


def write_vip(root: Path, emails: list[str]) -> None:
    (root / "data").mkdir(exist_ok=True)
    with (root / "data" / "vip.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "note"])
        writer.writerows([e, "x"] for e in emails)


def expected_sql(segment: str, as_of: dt.datetime, root: Optional[Path] = None) -> str:
    """An independent DuckDB query of the keys each small segment selects at as_of."""
    t = _ts(as_of)
    if segment == "vip":
        quoted = ", ".join("'" + e.replace("'", "''") + "'" for e in vip_emails(root)) or "NULL"
        return f"SELECT user_id FROM main.users WHERE email IN ({quoted})"

    def events(name: str, extra: str = "") -> str:
        return (f"SELECT 1 FROM main.events e WHERE e.user_id = u.user_id AND e.event_name = '{name}' "
                f"AND e.occurred_at <= {t} {extra}")

    return {
        "pro_users": "SELECT user_id FROM main.users u WHERE plan = 'pro'",
        "buyers": f"SELECT user_id FROM main.users u WHERE EXISTS ({events('purchase', f'AND e.occurred_at > {t} - INTERVAL 30 DAY')})",
        "big_spenders": f"""SELECT u.user_id FROM main.users u WHERE (
                SELECT coalesce(sum(TRY_CAST(json_extract_string(e.properties, '$.amount') AS DOUBLE)), 0)
                FROM main.events e WHERE e.user_id = u.user_id AND e.event_name = 'purchase'
                AND e.occurred_at <= {t}) >= 100""",
        "active_pro": f"SELECT user_id FROM main.users u WHERE plan = 'pro' AND EXISTS ({events('login', f'AND e.occurred_at > {t} - INTERVAL 7 DAY')})",
        "not_de": "SELECT user_id FROM main.users u WHERE country IS DISTINCT FROM 'DE'",
        "gmail": "SELECT user_id FROM main.users u WHERE email LIKE '%gmail%'",
        "quiet": f"SELECT user_id FROM main.users u WHERE NOT EXISTS ({events('login', f'AND e.occurred_at > {t} - INTERVAL 14 DAY')})",
    }[segment]


def expected_members(con, segment: str, as_of: dt.datetime, root: Optional[Path] = None) -> dict:
    """{person_id: (split, fields)} that the segment's definition selects, computed without the engine."""
    cols = SMALL_FIELDS[segment]
    select = ", ".join(["user_id"] + [f'"{c}"' for c in cols])
    rows = con.execute(f"SELECT {select} FROM main.users WHERE user_id IN "
                       f"({expected_sql(segment, as_of, root)})").fetchall()
    out = {}
    for row in rows:
        split = None
        if segment in SMALL_SPLITS:
            salt, groups = SMALL_SPLITS[segment]
            split = bucket_group(salt, row[0], groups)
        out[row[0]] = (split, dict(zip(cols, row[1:])))
    return out


def create_small_tables(project: Path, seed: int = 7, people: int = 150) -> None:
    """main.users and main.events: a seeded mix, events from 60 days before T0 to 45 days after it
    (so later runs see people enter and leave), orphan events and unreadable amounts included."""
    rng = random.Random(seed)
    users, events = [], []
    for uid in range(1, people + 1):
        users.append((uid, f"user{uid}@{rng.choice(['gmail.com', 'yahoo.com', 'example.org'])}",
                      rng.choice(["Ann", "Bob", "Cy", None]), rng.choice(["free", "pro", "pro", "business", None]),
                      rng.choice(["US", "DE", "FR", None]), round(rng.uniform(0, 500), 2)))
    for uid in range(1, people + 6):  # the last five match nobody
        for _ in range(rng.randint(0, 14)):
            at = T0 + dt.timedelta(minutes=rng.randint(-60 * 24 * 60, 45 * 24 * 60))
            name = rng.choice(["purchase", "login", "login", "add_to_cart"])
            props = None
            if name == "purchase":
                amount = rng.choice([round(rng.uniform(5, 90), 2), "n/a"]) if rng.random() < 0.1 else round(rng.uniform(5, 90), 2)
                props = json.dumps({"amount": amount})
            events.append((uid, at, name, props))
    with contextlib.closing(duckdb.connect(str(project / DB))) as con:
        con.execute("CREATE TABLE main.users (user_id BIGINT, email VARCHAR, first_name VARCHAR, plan VARCHAR, "
                    "country VARCHAR, ltv DOUBLE)")
        con.execute("CREATE TABLE main.events (user_id BIGINT, occurred_at TIMESTAMP, event_name VARCHAR, "
                    "properties JSON)")
        insert_rows(con, "main.users", users)
        insert_rows(con, "main.events", events)


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Many rows in a few statements (executemany is row by row, and slow, in DuckDB)."""
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        marks = ", ".join("(" + ", ".join("?" * len(chunk[0])) + ")" for _ in chunk)
        con.execute(f"INSERT INTO {table} VALUES {marks}", [v for row in chunk for v in row])


def mutate(project: Path, *statements: str) -> None:
    with contextlib.closing(duckdb.connect(str(project / DB))) as con:
        for s in statements:
            con.execute(s)


@pytest.fixture
def small(tmp_path) -> Path:
    root = write_project(tmp_path / "proj", SMALL_SEGMENTS)
    create_small_tables(root)
    with contextlib.closing(duckdb.connect(str(root / DB))) as con:
        emails = [r[0] for r in con.execute("SELECT email FROM main.users WHERE user_id <= 40 AND user_id % 2 = 1 "
                                            "ORDER BY user_id").fetchall()]
    # a duplicate, a value in another case and one with a trailing space (exact text: no match), nobody's
    write_vip(root, emails + [emails[0], emails[1].upper(), emails[2] + " ", "nobody@nowhere.test",
                              "dana@gmail.com"])
    return root


def check_after_run(project: Path, result, names=SMALL_NAMES) -> None:
    """Invariants 1 and 2 after a successful run, and the bookkeeping of the run itself."""
    assert result.ok, [(r.segment, r.status, r.error) for r in result.results]
    as_of = result.as_of.replace(tzinfo=None)
    by_name = {r.segment: r for r in result.results}
    with db(project) as con:
        assert_one_change_per_run_segment_person(con)
        for name in names:
            got = members(con, name)
            want = expected_members(con, name, as_of, project)
            assert got == want, (f"{name} at {as_of}: members differ from the definition; "
                                 f"missing {sorted(set(want) - set(got))[:10]}, extra {sorted(set(got) - set(want))[:10]}, "
                                 f"wrong split/fields {[k for k in set(got) & set(want) if got[k] != want[k]][:10]}")
            assert replay(con, name) == got, f"{name}: replaying segment_changes does not give segment_members"
            wrong_entered_at = con.execute(
                f"SELECT m.person_id, m.entered_at FROM {OUT}.segment_members m WHERE m.segment = ? AND "
                f"m.entered_at IS DISTINCT FROM (SELECT max(c.changed_at) FROM {OUT}.segment_changes c WHERE "
                "c.segment = m.segment AND c.person_id = m.person_id AND c.change = 'entered') LIMIT 5",
                [name]).fetchall()
            assert not wrong_entered_at, f"{name}: entered_at is not the as_of of the member's entry: {wrong_entered_at}"
            counts = dict(con.execute(f"SELECT change, count(*) FROM {OUT}.segment_changes WHERE run_id = ? "
                                      "AND segment = ? GROUP BY change", [result.run_id, name]).fetchall())
            r = by_name[name]
            assert (r.entered, r.exited, r.updated, r.members) == (
                counts.get("entered", 0), counts.get("exited", 0), counts.get("updated", 0), len(got)), name
            stamps = con.execute(f"SELECT DISTINCT changed_at FROM {OUT}.segment_changes WHERE run_id = ?",
                                 [result.run_id]).fetchall()
            assert all(s[0] == as_of for s in stamps), f"changed_at must be the run's as_of {as_of}: {stamps}"
            runs = con.execute(f"SELECT status, members, entered, exited, updated, as_of FROM {OUT}.segment_runs "
                               "WHERE run_id = ? AND segment = ?", [result.run_id, name]).fetchall()
            assert runs == [("success", len(got), r.entered, r.exited, r.updated, as_of)], (name, runs)


# --------------------------------------------------------------------------------------------------
# 1. membership equals the definition
# --------------------------------------------------------------------------------------------------
def test_members_equal_the_definition_after_a_run(small):
    project = Project(small)
    result = project.run(as_of="2026-10-01T00:00:00Z")
    assert [r.segment for r in result.results] and {r.segment for r in result.results} == set(SMALL_NAMES)
    check_after_run(small, result)
    with db(small) as con:
        sizes = {n: len(members(con, n)) for n in SMALL_NAMES}
        # person_id has the people key's type
        kinds = dict(con.execute("SELECT table_name, data_type FROM information_schema.columns WHERE table_catalog = 'w' "
                                 f"AND table_schema = '{OUT}' AND column_name = 'person_id'").fetchall())
    assert all(0 < n < 150 for n in sizes.values()), f"fixture data should make every segment non-trivial: {sizes}"
    assert kinds.get("segment_members") == "BIGINT" and kinds.get("segment_changes") == "BIGINT", kinds
    # preview() agrees with what the run wrote
    for name in SMALL_NAMES:
        p = project.preview(name, limit=1000, as_of="2026-10-01T00:00:00Z")
        assert p.count == sizes[name]
        with db(small) as con:
            assert {row[0] for row in p.rows} == set(members(con, name)), name


def test_members_follow_a_varchar_key_and_split_salt(tmp_path):
    """A text key: person_id is VARCHAR, the split follows the SPEC's md5 bucket with an explicit salt."""
    yml = PROJECT_YML.replace("key: user_id\n  identifiers", "key: code\n  identifiers").replace(
        "key: user_id, timestamp", "key: code, timestamp")
    root = write_project(tmp_path / "p", {"all.yml": """\
        name: everyone_split
        where: {attribute: email, exists: true}
        fields: [email]
        splits:
          salt: winter_2026
          groups: {control: 10, variant_a: 45, variant_b: 45}
        """}, project_yml=yml)
    with contextlib.closing(duckdb.connect(str(root / DB))) as con:
        con.execute("CREATE TABLE main.users (code VARCHAR, email VARCHAR)")
        con.execute("INSERT INTO main.users SELECT 'c' || i, CASE WHEN i % 9 = 0 THEN NULL ELSE 'p' || i || '@x.io' END "
                    "FROM range(300) t(i)")
        con.execute("CREATE TABLE main.events (code VARCHAR, occurred_at TIMESTAMP, event_name VARCHAR, properties JSON)")
    result = Project(root).run(as_of="2026-10-01")
    assert result.ok, result.results
    with db(root) as con:
        got = members(con, "everyone_split")
        ptype = con.execute("SELECT data_type FROM information_schema.columns WHERE table_catalog = 'w' AND "
                            f"table_schema = '{OUT}' AND table_name = 'segment_members' AND column_name = 'person_id'"
                            ).fetchone()[0]
    groups = [("control", 10), ("variant_a", 45), ("variant_b", 45)]
    want = {f"c{i}": (bucket_group("winter_2026", f"c{i}", groups), {"email": f"p{i}@x.io"})
            for i in range(300) if i % 9}
    assert ptype == "VARCHAR"
    assert got == want


# --------------------------------------------------------------------------------------------------
# 2. replaying the change log reproduces the members, over a sequence of mutating runs
# --------------------------------------------------------------------------------------------------
DANA, PAT = 9001, 9002  # Dana is deleted from the people table; Pat's email (a field) changes


def test_replaying_changes_reproduces_members_over_mutating_runs(small):
    project = Project(small)
    # Dana: pro, gmail, US, buys and logs in every day around T0 -> member of pro_users, buyers, big_spenders,
    # active_pro, not_de, gmail. Pat: pro, not gmail, no purchases -> pro_users (fields email, plan) only moves.
    day = [T0 + dt.timedelta(days=d, hours=-3) for d in range(-10, 8)]
    with contextlib.closing(duckdb.connect(str(small / DB))) as con:
        con.execute("INSERT INTO main.users VALUES (?, 'dana@gmail.com', 'Dana', 'pro', 'US', 10.5), "
                    "(?, 'pat@example.org', 'Pat', 'pro', 'FR', 1.0)", [DANA, PAT])
        insert_rows(con, "main.events", [(DANA, t, "purchase", '{"amount": 60}') for t in day]
                    + [(DANA, t, "login", None) for t in day] + [(PAT, T0, "login", None)])

    results = []

    def run(as_of: dt.datetime):
        result = project.run(as_of=as_of)
        check_after_run(small, result)
        if results:
            assert result.run_id > results[-1].run_id, "run_id must sort in run order"
        results.append(result)
        return result

    run(T0)
    with db(small) as con:
        dana_in = {n for n in SMALL_NAMES if DANA in members(con, n)}
    assert dana_in >= {"pro_users", "buyers", "big_spenders", "active_pro", "not_de", "gmail", "vip"}, dana_in

    # new person, a plan downgrade (exits pro_users), new purchases
    mutate(small,
           "INSERT INTO main.users VALUES (500, 'new@gmail.com', 'Neo', 'pro', 'DE', 99.0)",
           f"INSERT INTO main.events VALUES (500, {_ts(T0 + dt.timedelta(hours=12))}, 'purchase', '{{\"amount\": 120}}')",
           "UPDATE main.users SET plan = 'business' WHERE user_id IN (SELECT user_id FROM main.users "
           f"WHERE plan = 'pro' AND user_id NOT IN ({DANA}, {PAT}) ORDER BY user_id LIMIT 3)")
    vip = vip_emails(small)
    write_vip(small, vip[3:] + ["new@gmail.com"])  # the static segment's file is re-read on each run
    r2 = run(T0 + dt.timedelta(days=1))
    assert r2.results and sum(r.entered + r.exited for r in r2.results) > 0
    assert {r.segment: (r.entered, r.exited) for r in r2.results}["vip"] == (1, 2)  # emails[0] is listed twice

    # a fields change: Pat's email -> exactly one 'updated' (pro_users), nothing else for Pat
    mutate(small, f"UPDATE main.users SET email = 'pat@example.net' WHERE user_id = {PAT}")
    with db(small) as con:  # and a pro user's email becomes NULL: also an update of pro_users' fields
        nulled = min(k for k, (_, f) in members(con, "pro_users").items() if k not in (DANA, PAT))
    mutate(small, f"UPDATE main.users SET email = NULL WHERE user_id = {nulled}")
    r3 = run(T0 + dt.timedelta(days=2))
    with db(small) as con:
        row = con.execute(f"SELECT change, CAST(fields AS VARCHAR) FROM {OUT}.segment_changes WHERE run_id = ? "
                          "AND segment = 'pro_users' AND person_id = ?", [r3.run_id, nulled]).fetchall()
    assert row == [("updated", row[0][1])] and json.loads(row[0][1]) == {"email": None, "plan": "pro"}, row
    # the same as_of, unchanged data: no change at all (invariant 4)
    r4 = run(T0 + dt.timedelta(days=2))
    assert all((r.entered, r.exited, r.updated) == (0, 0, 0) for r in r4.results), r4.results
    with db(small) as con:
        assert con.execute(f"SELECT count(*) FROM {OUT}.segment_changes WHERE run_id = ?", [r4.run_id]).fetchone()[0] == 0
        pat = con.execute(f"SELECT run_id, segment, change, CAST(fields AS VARCHAR) FROM {OUT}.segment_changes "
                          "WHERE person_id = ? AND change = 'updated'", [PAT]).fetchall()
    assert len(pat) == 1, f"Pat's email change must be recorded as 'updated' exactly once: {pat}"
    assert pat[0][:3] == (r3.run_id, "pro_users", "updated")
    assert json.loads(pat[0][3]) == {"email": "pat@example.net", "plan": "pro"}

    # Dana leaves the people table: she exits every segment she was in, in this run, once each
    mutate(small, f"DELETE FROM main.users WHERE user_id = {DANA}")
    r5 = run(T0 + dt.timedelta(days=3))
    with db(small) as con:
        exits = con.execute(f"SELECT segment FROM {OUT}.segment_changes WHERE run_id = ? AND person_id = ? "
                            "AND change = 'exited'", [r5.run_id, DANA]).fetchall()
        still = con.execute(f"SELECT segment FROM {OUT}.segment_members WHERE person_id = ?", [DANA]).fetchall()
    assert sorted(e[0] for e in exits) == sorted(dana_in), f"Dana must exit every segment once: {exits}"
    assert still == [], f"a person deleted from the people table is still a member of {still}"

    # Dana comes back; time moves on so that purchase windows close and future events come into range
    mutate(small, f"INSERT INTO main.users VALUES ({DANA}, 'dana@gmail.com', 'Dana', 'pro', 'US', 10.5)")
    run(T0 + dt.timedelta(days=5))
    with db(small) as con:
        back = {n for n in SMALL_NAMES if DANA in members(con, n)}
    assert "pro_users" in back and "gmail" in back
    r7 = run(T0 + dt.timedelta(days=40))
    assert sum(r.exited for r in r7.results) > 0 and sum(r.entered for r in r7.results) > 0
    assert len(results) >= 5


def test_changing_a_segments_fields_updates_each_continuing_member_once(small):
    first = Project(small).run(select=["gmail"], as_of="2026-10-01")
    assert first.ok
    with db(small) as con:
        before = members(con, "gmail")
    (small / "segments" / "gmail.yml").write_text(
        "name: gmail\nwhere: {attribute: email, contains: gmail}\nfields: [email, plan]\n")
    second = Project(small).run(select=["gmail"], as_of="2026-10-02")
    third = Project(small).run(select=["gmail"], as_of="2026-10-03")
    assert (second.results[0].entered, second.results[0].exited, second.results[0].updated) == (0, 0, len(before))
    assert (third.results[0].entered, third.results[0].exited, third.results[0].updated) == (0, 0, 0)
    with db(small) as con:
        got = members(con, "gmail")
        assert replay(con, "gmail") == got
        plans = dict(con.execute("SELECT user_id, plan FROM main.users").fetchall())
    assert set(got) == set(before)
    assert all(f == {"email": before[k][1]["email"], "plan": plans[k]} for k, (_, f) in got.items())


# --------------------------------------------------------------------------------------------------
# 3. same as_of, unchanged data: no change (realistic demo data, fields of every type, splits)
# --------------------------------------------------------------------------------------------------
DEMO_YML = """\
name: killdemo
people:
  table: main.users
  key: user_id
  identifiers: {email: email, phone: phone}
streams:
  event:     {table: main.events,           key: user_id, timestamp: occurred_at,  name: event_name, properties: properties}
  page_view: {table: main.page_views,       key: user_id, timestamp: viewed_at,    name: url}
  activity:  {table: main.message_activity, key: user_id, timestamp: occurred_at,  name: activity, properties: properties}
  device:    {table: main.devices,          key: user_id, timestamp: last_seen_at, name: platform}
"""
DEMO_KINDS = [
    lambda i: f"where: {{event: purchase, within: {7 + i}d}}\nfields: [email, plan]",
    lambda i: f"where: {{page_view: '*/winter/*', within: {10 + i}d, count: {{gte: 2}}}}\nfields: [email, city]",
    lambda i: (f"where:\n  all:\n    - {{activity: email_opened, within: {5 + i}d}}\n"
               f"    - {{activity: email_clicked, within: {20 + i}d}}\nfields: [email, first_name, lifetime_value]"),
    lambda i: (f"where: {{event: purchase, within: {30 + i}d, sum: {{of: properties.amount, gte: {50 + i * 3}}}}}\n"
               "fields: [plan, lifetime_value]\nsplits: {groups: {control: 20, variant: 80}}"),
    lambda i: (f"where:\n  all:\n    - {{event: add_to_cart, within: {3 + i}d}}\n"
               "    - {event: purchase, within: 30d, performed: false}\nfields: [email, signup_at]"),
    lambda i: f"where: {{attribute: last_login_at, within: {2 + i}d}}\nfields: [email, last_login_at, marketing_opt_in]",
    lambda i: (f"where:\n  any:\n    - {{device: ios, within: {i + 1}d}}\n    - {{activity: push_opened, within: {i + 2}d}}\n"
               f"fields: [phone, country]\nsplits: {{salt: s{i}, groups: {{a: 50, b: 50}}}}"),
    lambda i: (f"where:\n  all:\n    - {{segment: seg_{i - 7:02d}}}\n    - {{attribute: plan, in: [pro, business]}}\n"
               "fields: [email, plan]"),
    lambda i: f"where: {{event: login, within: {i + 1}d, count: {{gte: {1 + i % 4}}}}}",
    lambda i: f"where:\n  not: {{event: app_open, within: {i + 10}d}}\nfields: [email]",
]
DEMO_NAMES = [f"seg_{i:02d}" for i in range(30)]
DEMO_SEGMENTS = {f"{n}.yml": f"name: {n}\n{DEMO_KINDS[i % len(DEMO_KINDS)](i)}\n" for i, n in enumerate(DEMO_NAMES)}
DEMO_T1, DEMO_T2 = "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    """30 segments over the 20k-people demo data set, run once at 2026-10-01 (the 'old' state)."""
    root = write_project(tmp_path_factory.mktemp("demo") / "proj", DEMO_SEGMENTS, project_yml=DEMO_YML)
    env_home = tmp_path_factory.mktemp("home")
    old = {k: os.environ.pop(k, None) for k in ("SEGWAREHOUSE_PROFILES_DIR", "SEGWAREHOUSE_TARGET_PATH")}
    old_home, os.environ["HOME"] = os.environ.get("HOME"), str(env_home)
    try:
        done = cli(root, "demo", "--people", "20000", "--anchor", "2026-11-01")
        assert done.returncode == 0, done.stderr
        done = cli(root, "run", "--as-of", DEMO_T1)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        os.environ.update({k: v for k, v in old.items() if v is not None})
        if old_home is not None:
            os.environ["HOME"] = old_home
    shutil.rmtree(root / "target", ignore_errors=True)
    return root


def all_members(con) -> dict:
    """{segment: {person_id: (split, fields as JSON text)}} of every segment, in one query."""
    out: dict = {n: {} for n in DEMO_NAMES}
    for seg, pid, split, f in con.execute(f"SELECT segment, person_id, split, CAST(fields AS VARCHAR) "
                                          f"FROM {OUT}.segment_members").fetchall():
        assert pid not in out.setdefault(seg, {}), f"{seg}: {pid} listed twice in segment_members"
        out[seg][pid] = (split, f)
    return out


def all_replayed(con) -> dict:
    """The change log replayed per segment in run_id order (fields kept as JSON text)."""
    out: dict = {n: {} for n in DEMO_NAMES}
    rows = con.execute(f"SELECT segment, run_id, person_id, change, split, CAST(fields AS VARCHAR) "
                       f"FROM {OUT}.segment_changes ORDER BY segment, run_id").fetchall()
    for seg, run_id, pid, change, split, f in rows:
        state = out.setdefault(seg, {})
        if change == "entered":
            assert pid not in state, f"{seg}: {pid} entered twice without exiting (run {run_id})"
            state[pid] = (split, f)
        elif change == "updated":
            assert pid in state, f"{seg}: {pid} updated while not a member (run {run_id})"
            state[pid] = (state[pid][0], f)
        elif change == "exited":
            assert pid in state, f"{seg}: {pid} exited while not a member (run {run_id})"
            del state[pid]
        else:
            pytest.fail(f"{seg}: unknown change {change!r} in run {run_id}")
    return out


def demo_state(project: Path) -> dict:
    with db(project) as con:
        return all_members(con)


def test_same_as_of_unchanged_data_records_no_change(demo_template, tmp_path):
    work = copy_project(demo_template, tmp_path / "work")
    with db(work) as con:
        before_changes = con.execute(f"SELECT count(*) FROM {OUT}.segment_changes").fetchone()[0]
        before = sorted(con.execute(f"SELECT segment, person_id, entered_at, split, CAST(fields AS VARCHAR) "
                                    f"FROM {OUT}.segment_members").fetchall())
    assert before_changes > 0 and len(before) > 10_000
    for as_of in (DEMO_T1, "2026-10-01"):  # the same instant, spelled twice
        result = Project(work).run(as_of=as_of)
        assert result.ok, [(r.segment, r.error) for r in result.results if r.status != "success"]
        moved = [(r.segment, r.entered, r.exited, r.updated) for r in result.results if r.entered or r.exited or r.updated]
        assert not moved, f"a rerun at the same as_of on unchanged data reported changes: {moved}"
        with db(work) as con:
            assert con.execute(f"SELECT count(*) FROM {OUT}.segment_changes").fetchone()[0] == before_changes
            after = sorted(con.execute(f"SELECT segment, person_id, entered_at, split, CAST(fields AS VARCHAR) "
                                       f"FROM {OUT}.segment_members").fetchall())
        assert after == before


# --------------------------------------------------------------------------------------------------
# 4. a run earlier than the last successful as_of is refused for that segment
# --------------------------------------------------------------------------------------------------
def test_earlier_as_of_is_refused_per_segment_and_changes_nothing(small):
    first = Project(small).run(as_of="2026-10-10T00:00:00Z")
    check_after_run(small, first)
    mutate(small, "UPDATE main.users SET plan = 'pro'", "DELETE FROM main.users WHERE user_id % 4 = 0")
    with db(small) as con:
        tables = {t: table_rows(con, t) for t in ("segment_members", "segment_changes")}
    # a segment never run before is not refused: the check is per segment
    (small / "segments" / "newcomer.yml").write_text("name: newcomer\nwhere: {attribute: plan, equals: pro}\n")
    result = Project(small).run(as_of="2026-10-09T23:00:00Z")
    by = {r.segment: r for r in result.results}
    assert not result.ok
    assert by["newcomer"].status == "success" and by["newcomer"].members > 0
    for name in SMALL_NAMES:
        r = by[name]
        assert (r.entered, r.exited, r.updated) == (0, 0, 0)
        if name == "active_pro" and r.status == "skipped":  # it references pro_users, refused in this run
            assert "pro_users" in r.error
            continue
        assert r.status == "error", (name, r.status)
        assert "earlier" in r.error and "2026-10-10" in r.error and "2026-10-09" in r.error, r.error
    with db(small) as con:
        assert {t: [row for row in table_rows(con, t) if row[0] != "newcomer" and row[1] != "newcomer"]
                for t in tables} == tables, "a refused run changed members or changes"
    # the CLI: exit code 1, a clear message naming the segment
    done = cli(small, "run", "-s", "pro_users", "--as-of", "2026-10-01")
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout + done.stderr
    assert "pro_users" in text and "earlier" in text, text
    with db(small) as con:
        assert [r for r in table_rows(con, "segment_members") if r[0] != "newcomer"] == tables["segment_members"]
    # as_of with a zone offset is compared in UTC: 01:30+02:00 is before the floor, 02:00+02:00 equals it
    offset = Project(small).run(select=["gmail"], as_of="2026-10-10T01:30:00+02:00")
    assert offset.results[0].status == "error" and "earlier" in offset.results[0].error
    # the same as_of again is allowed, and so is a later one
    again = Project(small).run(select=["pro_users"], as_of="2026-10-10T02:00:00+02:00")
    assert again.ok and again.results[0].entered > 0
    later = Project(small).run(as_of="2026-10-11T00:00:00Z")
    check_after_run(small, later)


def test_a_failed_run_does_not_move_the_as_of_floor(small):
    """Only a *successful* run's as_of counts: a failure at a later as_of does not lock out earlier ones."""
    Project(small).run(select=["gmail"], as_of="2026-10-01")
    (small / "segments" / "gmail.yml").write_text('name: gmail\nwhere: {sql: "no_such_column > 1"}\n')
    failed = Project(small).run(select=["gmail"], as_of="2026-10-20")
    assert failed.results[0].status == "error"
    (small / "segments" / "gmail.yml").write_text(
        "name: gmail\nwhere: {attribute: email, contains: gmail}\nfields: [email, ltv]\n")
    ok = Project(small).run(select=["gmail"], as_of="2026-10-05")
    assert ok.ok, ok.results


# --------------------------------------------------------------------------------------------------
# 5. kill safety
# --------------------------------------------------------------------------------------------------
def _delta(old: dict, new: dict) -> dict:
    return {"entered": len(new.keys() - old.keys()), "exited": len(old.keys() - new.keys()),
            "updated": sum(1 for k in old.keys() & new.keys() if old[k][1] != new[k][1])}


def _fingerprint(con) -> tuple:
    """Row count and an order-independent hash of each output table."""
    out = []
    for name, cols in (("segment_members", "segment, person_id, entered_at, split, CAST(fields AS VARCHAR), run_id"),
                       ("segment_changes", "run_id, segment, person_id, change, changed_at, split, CAST(fields AS VARCHAR)"),
                       ("segment_runs", "run_id, segment, as_of, status, members, entered, exited, updated")):
        out.append(con.execute(f"SELECT count(*), sum(hash({cols})) FROM {OUT}.{name}").fetchone())
    return tuple(out)


def _check_killed_state(work: Path, old: dict, new: dict, as_of: dt.datetime, pristine: tuple = ()) -> dict:
    """Every segment is either exactly its old state or exactly its new one, and its change log agrees.
    Output tables identical to the old ones (already checked) are the old state, without a replay."""
    where = {}
    with db(work) as con:
        if pristine and _fingerprint(con) == pristine:
            return {name: "old" for name in DEMO_NAMES}
        assert_one_change_per_run_segment_person(con)
        current, replayed = all_members(con), all_replayed(con)
        counts: dict = {}
        for seg, change, n in con.execute(f"SELECT segment, change, count(*) FROM {OUT}.segment_changes "
                                          "WHERE changed_at = ? GROUP BY ALL", [as_of]).fetchall():
            counts.setdefault(seg, {})[change] = n
        succeeded = {r[0] for r in con.execute(f"SELECT DISTINCT segment FROM {OUT}.segment_runs WHERE as_of = ? "
                                               "AND status = 'success'", [as_of]).fetchall()}
    for name in DEMO_NAMES:
        got = current[name]
        if got == new[name]:
            where[name] = "new"
        else:
            assert got == old[name], (f"{name}: half-applied after SIGKILL ({len(got)} members; old "
                                      f"{len(old[name])}, new {len(new[name])})")
            where[name] = "old"
        assert replayed[name] == got, f"{name}: change log and members disagree after SIGKILL"
        seen = {k: counts.get(name, {}).get(k, 0) for k in ("entered", "exited", "updated")}
        want = _delta(old[name], new[name]) if where[name] == "new" else {"entered": 0, "exited": 0, "updated": 0}
        assert seen == want, f"{name} ({where[name]} state): changes at {as_of} {seen}, expected {want}"
        if name in succeeded:
            assert where[name] == "new", f"{name}: segment_runs says success but members are the old state"
    return where


def test_sigkill_at_random_points_leaves_every_segment_old_or_new(demo_template, tmp_path):
    started = time.monotonic()
    work = copy_project(demo_template, tmp_path / "work")
    # between the runs: fields change (updated), people leave (exited), time moves a month (entered/exited)
    mutate(work, "UPDATE main.users SET plan = CASE plan WHEN 'pro' THEN 'business' ELSE 'pro' END WHERE user_id % 37 = 0",
           "UPDATE main.users SET email = upper(email) WHERE user_id % 53 = 0",
           "DELETE FROM main.users WHERE user_id % 101 = 0")
    old = demo_state(work)
    ref = copy_project(work, tmp_path / "ref")
    t0 = time.monotonic()
    complete = cli(ref, "run", "--as-of", DEMO_T2, log_json=True)
    full = time.monotonic() - t0  # how long a whole run takes here, start-up included
    assert complete.returncode == 0, complete.stdout + complete.stderr
    events = [json.loads(line) for line in complete.stdout.splitlines() if line.strip()]
    stamps = {e["event"]: _parse_time(e["ts"]) for e in events}  # the last of each kind
    first_done = next(_parse_time(e["ts"]) for e in events if e["event"] in ("segment_finished", "run_finished"))
    last_start = stamps.get("segment_started", stamps["run_started"])
    tail = max((first_done - last_start).total_seconds(), 0.05)  # last segment_started -> first result
    new = demo_state(ref)
    assert sum(old[n] != new[n] for n in DEMO_NAMES) >= 25, "the run must move most segments"
    assert sum(_delta(old[n], new[n])["updated"] for n in DEMO_NAMES) > 0
    as_of = dt.datetime(2026, 11, 1)

    # Kill points: one by the clock (seeded, start-up or evaluation), one a seeded moment after the k-th
    # segment_started event of the JSON log, then a bisection of the delay after the last segment_started
    # towards the moment the run commits (the most delicate point), then one right after it committed.
    # Each kill starts again from the old state, so every kill point is tested on its own.
    pristine = tmp_path / "old.duckdb"
    shutil.copy2(work / DB, pristine)
    assert _check_killed_state(work, old, new, as_of) == {n: "old" for n in DEMO_NAMES}
    with db(work) as con:
        old_fingerprint = _fingerprint(con)
    rng = random.Random(20261101)
    seen = []

    def kill(after: Optional[str], count: int, delay: float) -> str:
        for leftover in work.glob(DB + ".wal"):
            leftover.unlink()
        shutil.copy2(pristine, work / DB)
        proc = popen_cli(work, "run", "--as-of", DEMO_T2, log_json=True)
        if after:
            n, deadline = 0, time.monotonic() + 60
            while n < count and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                n += f'"{after}"' in line
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        states = _check_killed_state(work, old, new, as_of, old_fingerprint)
        n_new = sum(v == "new" for v in states.values())
        seen.append((after or "clock", count, round(delay, 3), proc.returncode, n_new))
        return "new" if n_new == len(DEMO_NAMES) else "old" if n_new == 0 else "mixed"

    kill(None, 0, rng.uniform(0.1, 0.6) * full)
    kill("segment_started", rng.randint(5, 29), rng.uniform(0.0, 0.1))
    lo, hi = 0.0, 1.5 * tail
    for _ in range(3):
        mid = (lo + hi) / 2
        if kill("segment_started", len(DEMO_NAMES), mid) == "old":
            lo = mid
        else:
            hi = mid
    kill("segment_finished", 1, 0.0)
    print(f"whole run {full:.1f}s, commit within {tail:.2f}s of the last segment_started; kills (after event, count, delay s, returncode, segments new): {seen}")
    assert sum(code == -signal.SIGKILL for *_, code, _ in seen) >= 5, f"the kills did not land during runs: {seen}"

    done = cli(work, "run", "--as-of", DEMO_T2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _check_killed_state(work, old, new, as_of) == {n: "new" for n in DEMO_NAMES}
    # invariant 1 after the final run: the members are what preview() selects at as_of
    project = Project(work)
    final = demo_state(work)
    for name in DEMO_NAMES:
        p = project.preview(name, limit=10**6, as_of=DEMO_T2)
        assert p.count == len(final[name]), name
        assert {row[0]: (row[1], _fields(row[2])) for row in p.rows} == {
            k: (split, _fields(f)) for k, (split, f) in final[name].items()}, name
    print(f"kill test: {time.monotonic() - started:.0f}s")


# --------------------------------------------------------------------------------------------------
# 6. concurrency
# --------------------------------------------------------------------------------------------------
HELPERS = Path(__file__).resolve().parent / "helpers"


def armed_cli(project: Path, *args: str, env: Optional[dict] = None) -> subprocess.Popen:
    """A CLI process already started and imported, that runs when `fire` is called; `env` adds
    variables, such as the test hooks of helpers/cli_on_signal.py."""
    proc = subprocess.Popen([sys.executable, str(HELPERS / "cli_on_signal.py"), "--project-dir", str(project), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200", **(env or {})})
    assert proc.stdout.readline().strip() == "ready"
    return proc


def fire(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = proc.communicate("go\n", timeout=timeout)
    return proc.returncode, out + err


HOLD = ("import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "con.close()\n")


def test_second_run_fails_at_once_while_the_database_is_held_and_waits_with_wait(small):
    Project(small).run(as_of="2026-10-01")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(small / DB)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        done = cli(small, "run", "--as-of", "2026-10-02", timeout=30)
        elapsed = time.monotonic() - t0
        assert done.returncode == 1, done.stdout + done.stderr
        assert "--wait" in done.stdout + done.stderr, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert elapsed < 5, f"the second run must fail at once, took {elapsed:.1f}s"
        assert holder.poll() is None
        assert json.loads((small / "target" / "run_results.json").read_text())["success"] is False
        # JSON log: the failure is one JSON object per line too
        done = cli(small, "run", "--as-of", "2026-10-02", log_json=True, timeout=30)
        assert done.returncode == 1
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        assert any("--wait" in json.dumps(x) for x in lines), done.stdout

        waiting = armed_cli(small, "run", "--as-of", "2026-10-02", "--wait")
        waiting.stdin.write("go\n")
        waiting.stdin.flush()
        time.sleep(2.0)
        if waiting.poll() is not None:
            pytest.fail("with --wait the run must wait for the lock, not fail: " + "".join(waiting.communicate()))
        holder.stdin.write("release\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, out + err
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
    with db(small) as con:
        for name in SMALL_NAMES:
            assert members(con, name) == expected_members(con, name, dt.datetime(2026, 10, 2), small)
            assert replay(con, name) == members(con, name)


def _read_until(proc: subprocess.Popen, event: str, timeout: float = 30) -> list[dict]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        record = json.loads(line)
        seen.append(record)
        if record.get("event") == event:
            return seen
    pytest.fail(f"no {event} event from the run: {seen}")


def test_two_real_runs_never_interleave(demo_template, tmp_path):
    work = copy_project(demo_template, tmp_path / "work")
    second = armed_cli(work, "run", "--as-of", "2026-11-02")
    third = armed_cli(work, "--log-format", "json", "run", "--as-of", "2026-11-02", "--wait")
    first = popen_cli(work, "run", "--as-of", DEMO_T2, "--threads", "1", log_json=True)
    try:
        _read_until(first, "run_started")
        t0 = time.monotonic()
        code, text = fire(second, timeout=30)
        elapsed = time.monotonic() - t0
        first_still_running = first.poll() is None
        assert code == 1, text
        assert "--wait" in text and "Traceback" not in text, text
        assert elapsed < 5, f"the second run must fail at once, took {elapsed:.1f}s"
        assert first_still_running, "the first run ended before the second one tried; make the project slower"
        code3, out3 = fire(third)
        out1, err1 = first.communicate(timeout=120)
    finally:
        for p in (first, second, third):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert first.returncode == 0, out1 + err1
    assert code3 == 0, out3
    run_ids = [json.loads(line).get("run_id") for line in out3.splitlines() if '"run_started"' in line]
    with db(work) as con:
        spans = con.execute(f"SELECT run_id, min(started_at), max(finished_at), count(*), "
                            f"count(*) FILTER (status = 'success') FROM {OUT}.segment_runs "
                            "WHERE as_of > TIMESTAMP '2026-10-01' GROUP BY run_id ORDER BY run_id").fetchall()
        assert len(spans) == 2, spans
        (run_a, _, end_a, n_a, ok_a), (run_b, start_b, _, n_b, ok_b) = spans
        assert run_ids == [run_b]
        assert n_a == ok_a == 30 and n_b == ok_b == 30
        assert start_b >= end_a, f"the waiting run started {start_b} before the first finished {end_a}"
        for name in DEMO_NAMES:
            assert replay(con, name) == members(con, name), name


class _Started:
    """A reporter that tells when a run has started (it holds the target from then on)."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def event(self, name: str, **data) -> None:
        if name == "run_started":
            self.started.set()


def test_two_runs_in_one_process_never_interleave(demo_template, tmp_path):
    """The Python API (an orchestrator's worker threads): the second run fails at once with a clear
    message, or with wait=True waits for the first one."""
    work = copy_project(demo_template, tmp_path / "work")
    reporter, outcome = _Started(), {}

    def first_run():
        try:
            outcome["first"] = Project(work, reporter=reporter).run(as_of=DEMO_T2)
        except BaseException as e:  # noqa: BLE001 - reported by the assertions below
            outcome["first"] = e

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert reporter.started.wait(120), outcome
        t0 = time.monotonic()
        try:
            Project(work).run(as_of="2026-11-02")
            pytest.fail("a second run in the same process ran while the first one held the target")
        except SegwarehouseError as e:
            assert "wait" in str(e), str(e)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"the second run raised {type(e).__name__}: {e} (expected a clear error mentioning --wait)")
        assert time.monotonic() - t0 < 5
        assert thread.is_alive(), "the first run ended before the second one tried; make the project slower"
        second = Project(work).run(as_of="2026-11-02", wait=True)
    finally:
        thread.join(timeout=120)
    assert not isinstance(outcome["first"], BaseException), outcome["first"]
    assert outcome["first"].ok and second.ok
    with db(work) as con:
        (end_a,), (start_b,) = (con.execute(f"SELECT {agg} FROM {OUT}.segment_runs WHERE run_id = ?", [r.run_id]).fetchone()
                                for agg, r in (("max(finished_at)", outcome["first"]), ("min(started_at)", second)))
    assert start_b >= end_a, f"the waiting run started {start_b} before the first finished {end_a}"


# --------------------------------------------------------------------------------------------------
# 7. a failing segment does not stop the others; --fail-fast; references to it are skipped
# --------------------------------------------------------------------------------------------------
FAILING = {
    "a_broken.yml": 'name: a_broken\nwhere: {sql: "no_such_column > 1"}\n',
    "b_pro.yml": "name: pro_users\nwhere: {attribute: plan, equals: pro}\nfields: [email, plan]\n",
    "c_refs.yml": "name: refs_broken\nwhere:\n  all:\n    - segment: a_broken\n    - {attribute: plan, equals: pro}\n",
    "d_gmail.yml": "name: gmail\nwhere: {attribute: email, contains: gmail}\nfields: [email, ltv]\n",
    "e_refs.yml": "name: only_refs_broken\nwhere: {segment: a_broken}\n",
}
FAILING_NAMES = {"a_broken", "pro_users", "refs_broken", "gmail", "only_refs_broken"}


def _nothing_written_for(con, names) -> None:
    for name in names:
        assert members(con, name) == {}, f"{name} failed or was skipped but has members"
        assert con.execute(f"SELECT count(*) FROM {OUT}.segment_changes WHERE segment = ?", [name]).fetchone()[0] == 0


def test_a_failing_segment_does_not_stop_the_others(tmp_path):
    root = write_project(tmp_path / "proj", FAILING)
    create_small_tables(root)
    result = Project(root).run(as_of="2026-10-01")
    by = {r.segment: r for r in result.results}
    assert not result.ok
    assert by["a_broken"].status == "error" and "no_such_column" in by["a_broken"].error
    assert by["pro_users"].status == "success" and by["gmail"].status == "success"
    for name in ("refs_broken", "only_refs_broken"):
        assert by[name].status == "skipped", by[name]
        assert "a_broken" in (by[name].error or ""), by[name].error
    with db(root) as con:
        for name in ("pro_users", "gmail"):
            assert members(con, name) == expected_members(con, name, T0)
            assert replay(con, name) == members(con, name)
        _nothing_written_for(con, ["a_broken", "refs_broken", "only_refs_broken"])
        runs = con.execute(f"SELECT status, error FROM {OUT}.segment_runs WHERE segment = 'a_broken'").fetchall()
    assert len(runs) == 1 and runs[0][0] == "error" and "no_such_column" in runs[0][1], runs

    done = cli(root, "run", "--as-of", "2026-10-02")
    assert done.returncode == 1
    text = done.stdout + done.stderr
    assert "a_broken" in text and "no_such_column" in text and "Traceback" not in text
    # referencing the failing segment without selecting it: still not successful
    for name in ("refs_broken", "only_refs_broken"):
        alone = Project(root).run(select=[name], as_of="2026-10-03")
        assert [r.status for r in alone.results] != ["success"], alone.results


def test_fail_fast_skips_the_rest(tmp_path):
    root = write_project(tmp_path / "proj", FAILING)
    create_small_tables(root)
    result = Project(root).run(as_of="2026-10-01", fail_fast=True)
    statuses = [(r.segment, r.status) for r in result.results]
    assert {s for s, _ in statuses} == FAILING_NAMES, statuses
    at = [s for s, _ in statuses].index("a_broken")
    assert statuses[at][1] == "error"
    assert all(st == "success" for _, st in statuses[:at]), statuses
    assert statuses[at + 1:] and all(st == "skipped" for _, st in statuses[at + 1:]), statuses
    with db(root) as con:
        _nothing_written_for(con, [s for s, st in statuses if st != "success"])
    done = cli(root, "run", "--as-of", "2026-10-01", "--fail-fast")
    assert done.returncode == 1, done.stdout + done.stderr


def test_a_segment_that_starts_failing_keeps_its_members_and_changes(small):
    """Invariant 3, failure path: the failing segment's members and change log stay exactly as they were."""
    first = Project(small).run(as_of="2026-10-01")
    check_after_run(small, first)
    with db(small) as con:
        before = (table_rows(con, "segment_members"), table_rows(con, "segment_changes"))
    mutate(small, "UPDATE main.users SET email = 'x' || email, plan = 'pro'")
    (small / "segments" / "gmail.yml").write_text(
        'name: gmail\nwhere: {all: [{attribute: email, contains: gmail}, {sql: "no_such_column > 1"}]}\nfields: [email, ltv]\n')
    result = Project(small).run(as_of="2026-10-02")
    by = {r.segment: r for r in result.results}
    assert by["gmail"].status == "error"
    assert all(r.status == "success" for n, r in by.items() if n != "gmail"), result.results
    with db(small) as con:
        members_now = [r for r in table_rows(con, "segment_members") if r[0] == "gmail"]
        changes_now = [r for r in table_rows(con, "segment_changes") if r[1] == "gmail"]
    assert members_now == [r for r in before[0] if r[0] == "gmail"]
    assert changes_now == [r for r in before[1] if r[1] == "gmail"]


def test_a_broken_stream_fails_only_the_segments_reading_it(small):
    first = Project(small).run(as_of="2026-10-01")
    check_after_run(small, first)
    with db(small) as con:
        before = {n: members(con, n) for n in SMALL_NAMES}
    mutate(small, "DROP TABLE main.events", "UPDATE main.users SET plan = 'pro' WHERE plan IS NULL")
    result = Project(small).run(as_of="2026-10-02")
    by = {r.segment: r for r in result.results}
    readers = {"buyers", "big_spenders", "active_pro", "quiet"}
    assert {n for n, r in by.items() if r.status != "success"} == readers, [(r.segment, r.status) for r in result.results]
    assert all("events" in by[n].error for n in readers)
    with db(small) as con:
        for name in SMALL_NAMES:
            got = members(con, name)
            assert got == (before[name] if name in readers else expected_members(con, name, dt.datetime(2026, 10, 2), small))
            assert replay(con, name) == got


def test_a_static_segment_with_a_bad_csv_does_not_stop_the_others(small):
    """The CSV is re-read on each run; when it no longer has the column, that segment fails, not the run."""
    first = Project(small).run(as_of="2026-10-01")
    check_after_run(small, first)
    mutate(small, "UPDATE main.users SET plan = 'pro' WHERE plan IS NULL")
    (small / "data" / "vip.csv").write_text("mail\nuser1@gmail.com\n")
    try:
        result = Project(small).run(as_of="2026-10-02")
    except SegwarehouseError as e:
        pytest.fail(f"the whole run failed because of one static segment's CSV: {e}")
    by = {r.segment: r for r in result.results}
    assert by["vip"].status == "error" and "vip.csv" in by["vip"].error and "email" in by["vip"].error
    assert all(r.status == "success" for n, r in by.items() if n != "vip"), result.results
    with db(small) as con:
        assert members(con, "pro_users") == expected_members(con, "pro_users", dt.datetime(2026, 10, 2))
    done = cli(small, "run", "--as-of", "2026-10-03")
    assert done.returncode == 1 and "vip" in done.stdout + done.stderr


# --------------------------------------------------------------------------------------------------
# 8. the people key check
# --------------------------------------------------------------------------------------------------
def test_duplicate_or_null_people_keys_fail_the_run_and_write_nothing(small):
    first = Project(small).run(as_of="2026-10-01")
    check_after_run(small, first)
    with db(small) as con:
        before = {t: table_rows(con, t) for t in ("segment_members", "segment_changes", "segment_runs")}
    mutate(small,
           "INSERT INTO main.users VALUES (101, 'dup1@gmail.com', 'D', 'pro', 'US', 1), "
           "(202, 'dup2@gmail.com', 'D', 'pro', 'US', 1), (202, 'dup3@gmail.com', 'D', 'pro', 'US', 1), "
           "(NULL, 'n1@gmail.com', 'N', 'pro', 'US', 1), (NULL, 'n2@gmail.com', 'N', 'pro', 'US', 1), "
           "(NULL, 'n3@gmail.com', 'N', 'pro', 'US', 1), (NULL, 'n4@gmail.com', 'N', 'pro', 'US', 1), "
           "(NULL, 'n5@gmail.com', 'N', 'pro', 'US', 1)")
    done = cli(small, "run", "--as-of", "2026-10-02")
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert "user_id" in text and "NULL" in text and "5" in text, text          # how many NULL keys
    assert "101" in text and "202" in text and "dupl" in text.lower(), text    # examples of duplicates
    artifacts = json.loads((small / "target" / "run_results.json").read_text())
    assert artifacts["success"] is False and not any(r.get("status") == "success" for r in artifacts["results"])
    # the Python API: an error, not a partial run
    try:
        result = Project(small).run(as_of="2026-10-02")
    except Exception as e:  # noqa: BLE001 - the exception type is the engine's choice
        assert "101" in str(e) and "NULL" in str(e)
    else:
        assert not result.ok and all(r.status != "success" for r in result.results)
    with db(small) as con:
        after = {t: table_rows(con, t) for t in before}
    assert after["segment_members"] == before["segment_members"]
    assert after["segment_changes"] == before["segment_changes"]
    assert after["segment_runs"] == before["segment_runs"], "the key check failure wrote segment_runs rows"


def test_key_check_on_a_fresh_database_writes_no_rows(small):
    mutate(small, "INSERT INTO main.users SELECT * FROM main.users WHERE user_id <= 3")
    done = cli(small, "run", "--as-of", "2026-10-02")
    assert done.returncode == 1
    assert "3 duplicated" in done.stdout + done.stderr or "3 dupl" in (done.stdout + done.stderr).lower(), done.stderr
    with db(small) as con:
        for t in ("segment_members", "segment_changes", "segment_runs"):
            assert table_rows(con, t) == [], t


# --------------------------------------------------------------------------------------------------
# 9. the per-segment view
# --------------------------------------------------------------------------------------------------
def _check_view(con, name: str) -> None:
    people_cols = [r[0] for r in con.execute("DESCRIBE main.users").fetchall()]
    cursor = con.execute(f'SELECT * FROM {OUT}."{name}"')
    cols = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert set(people_cols) <= set(cols), f"view {name} lacks people columns: {set(people_cols) - set(cols)}"
    got = {}
    for row in rows:
        record = dict(zip(cols, row))
        got[record["user_id"]] = tuple(record[c] for c in people_cols)
    assert len(got) == len(rows), f"view {name} repeats people"
    users = {r[0]: r for r in con.execute(f"SELECT {', '.join(people_cols)} FROM main.users").fetchall()}
    assert set(got) == set(members(con, name)), f"view {name} does not list exactly the members"
    assert got == {k: users[k] for k in got}, f"view {name}: people columns differ from main.users"


def test_segment_view_lists_exactly_the_members_with_people_columns(small):
    (small / "segments" / "nobody.yml").write_text("name: nobody\nwhere: {attribute: plan, equals: platinum}\n")
    Project(small).run(as_of="2026-10-01")
    mutate(small, "DELETE FROM main.users WHERE user_id % 5 = 0", "UPDATE main.users SET first_name = 'Zed' "
           "WHERE user_id % 3 = 0")
    Project(small).run(as_of="2026-10-03")
    with db(small) as con:
        for name in SMALL_NAMES + ["nobody"]:
            _check_view(con, name)
        assert con.execute(f"SELECT count(*) FROM {OUT}.nobody").fetchone()[0] == 0


def test_segment_view_follows_a_renamed_people_table(small):
    """The view lists the people columns of the people table the project names now."""
    Project(small).run(as_of="2026-10-01")
    mutate(small, "CREATE TABLE main.customers AS SELECT *, 'gold' AS tier FROM main.users",
           "UPDATE main.users SET first_name = 'STALE'")
    (small / "segwarehouse.yml").write_text(PROJECT_YML.replace("table: main.users", "table: main.customers"))
    result = Project(small).run(as_of="2026-10-02")
    assert result.ok, result.results
    with db(small) as con:
        cursor = con.execute(f"SELECT * FROM {OUT}.pro_users")
        cols = [d[0] for d in cursor.description]
        rows = [dict(zip(cols, r)) for r in cursor.fetchall()]
    assert rows and "tier" in cols, f"view pro_users still reads the old people table: columns {cols}"
    assert all(r["first_name"] != "STALE" for r in rows)


def test_segment_view_is_readable_when_the_database_file_is_opened_directly(small):
    """A BI tool opens segwarehouse.duckdb itself (catalog `segwarehouse`); the view must still work
    through its fully qualified name."""
    Project(small).run(as_of="2026-10-01")
    with contextlib.closing(duckdb.connect(str(small / DB), read_only=True)) as con:
        catalog = con.execute("SELECT current_database()").fetchone()[0]
        count = con.execute(f'SELECT count(*) FROM "{catalog}"."{OUT}"."pro_users"').fetchone()[0]
        want = con.execute(f'SELECT count(*) FROM "{catalog}"."{OUT}"."segment_members" '
                           "WHERE segment = 'pro_users'").fetchone()[0]
    assert count == want > 0


# --------------------------------------------------------------------------------------------------
# 10. artifacts and JSON log lines
# --------------------------------------------------------------------------------------------------
def _counts(entry: dict) -> dict:
    source = entry.get("counts") if isinstance(entry.get("counts"), dict) else entry
    return {k: source.get(k) for k in ("members", "entered", "exited", "updated")}


def _segment_of(entry: dict) -> str:
    return entry.get("segment") or str(entry.get("unique_id", "")).rsplit(".", 1)[-1]


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_run_writes_run_results_and_manifest_and_json_log_lines(tmp_path):
    root = write_project(tmp_path / "proj", FAILING)
    create_small_tables(root)
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    done = cli(root, "run", "--as-of", "2026-10-01", log_json=True)
    assert done.returncode == 1
    records = []
    for line in done.stdout.splitlines():
        if line.strip():
            record = json.loads(line)  # every stdout line is one JSON object
            assert isinstance(record, dict), line
            records.append(record)
    assert records and "Traceback" not in done.stderr
    finished = {r.get("segment"): r for r in records if r.get("event") == "segment_finished"}
    assert set(finished) >= FAILING_NAMES, records

    results = json.loads((root / "target" / "run_results.json").read_text())
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    for doc in (results, manifest):
        meta = doc["metadata"]
        assert meta["invocation_id"] and _parse_time(meta["generated_at"]) >= before
    assert results["metadata"]["invocation_id"] == manifest["metadata"]["invocation_id"]
    entries = {_segment_of(e): e for e in results["results"]}
    assert set(entries) == FAILING_NAMES, entries
    assert entries["a_broken"]["status"] == "error"
    assert entries["refs_broken"]["status"] == "skipped"
    with db(root) as con:
        for name in ("pro_users", "gmail"):
            assert entries[name]["status"] == "success"
            m, e, x, u = con.execute(f"SELECT members, entered, exited, updated FROM {OUT}.segment_runs "
                                     "WHERE segment = ?", [name]).fetchone()
            assert _counts(entries[name]) == {"members": m, "entered": e, "exited": x, "updated": u}
            assert m == len(members(con, name)) > 0
    nodes = manifest.get("segments") or manifest.get("nodes")
    names = {n["name"] for n in (nodes.values() if isinstance(nodes, dict) else nodes)}
    assert names >= FAILING_NAMES

    again = cli(root, "run", "-s", "pro_users", "--as-of", "2026-10-02")
    assert again.returncode == 0, again.stdout + again.stderr
    second = json.loads((root / "target" / "run_results.json").read_text())
    assert second["metadata"]["invocation_id"] != results["metadata"]["invocation_id"]
    assert [_segment_of(e) for e in second["results"]] == ["pro_users"]
    assert second["results"][0]["status"] == "success"
