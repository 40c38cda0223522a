"""How segwarehouse scales: prints ratios measured in one process on the demo data set.

    python bench/scaling.py [--people 1000000] [--db /tmp/segwarehouse-bench.duckdb]
    python bench/scaling.py --static [--static-people 100000] [--postgres] [--snowflake]

1. run of 50 segments / run of 1 segment                         (goal <= 3.0)
2. run of 50 segments / hand-written DuckDB SQL, one tuned query
   per segment, computing the same 50 member sets                 (goal <= 1.0)
   Both for the steady state (a rerun: every segment evaluated, only changes written) and for a
   first run (every membership written to the members table and the change log).
3. compile 1,000 segments for DuckDB and for Snowflake, seconds   (goal < 2 s)
4. (--static) a first run via the CLI over --static-people people of the 50 segments plus a
   12,000-row static segment (and one segment reading it), against hand-written DuckDB SQL
   computing the same members, the CSV read by DuckDB itself                    (goal <= 1.5)
5. (--static) a 1,000,000-row static CSV loaded into each executing engine: DuckDB here,
   PostgreSQL when `--postgres` (started as the tests start it), Snowflake when `--snowflake`
   (the fakesnow emulator: a figure for the code path, not for a real account)  (DuckDB goal < 5 s)

The member sets of our run and of the hand-written queries are compared before any figure is
printed: a fast wrong answer is not a result. The demo database is cached at --db between runs.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from segments_50 import AS_OF, hand_written, segments  # noqa: E402

from segwarehouse import Project  # noqa: E402
from segwarehouse.demo import generate_demo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def prepare_data(db: Path, people: int) -> None:
    marker = db.with_suffix(".people")
    if db.exists() and marker.exists() and marker.read_text() == str(people):
        return
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(db))
    counts = generate_demo(con, people=people, seed=42, anchor=AS_OF, schema="main")
    con.close()
    marker.write_text(str(people))
    print(f"demo data: {', '.join(f'{t} {n:,}' for t, n in counts.items())} "
          f"({time.perf_counter() - t0:.1f}s)", flush=True)


def make_project(directory: Path, db: Path, segment_defs: list[dict], schema: str) -> Project:
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "segments").mkdir(parents=True)
    project_yml = yaml.safe_load((ROOT / "segwarehouse.yml").read_text())
    project_yml["output_schema"] = schema
    (directory / "segwarehouse.yml").write_text(yaml.safe_dump(project_yml, sort_keys=False))
    (directory / "segments" / "bench.yml").write_text(yaml.safe_dump({"segments": segment_defs}, sort_keys=False))
    (directory / "profiles.yml").write_text(yaml.safe_dump(
        {"demo_shop": {"target": "bench", "outputs": {"bench": {"type": "duckdb", "path": str(db)}}}}))
    return Project(directory)


def drop_outputs(db: Path, schema: str) -> None:
    con = duckdb.connect(str(db))
    con.execute("DROP SCHEMA IF EXISTS " + duckdb_ident(schema) + " CASCADE")
    con.close()


def duckdb_ident(name: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql("duckdb")


def timed_run(project: Project, db: Path, schema: str, fresh: bool = True) -> tuple[float, dict[str, int]]:
    if fresh:
        drop_outputs(db, schema)
    t0 = time.perf_counter()
    result = project.run(as_of=AS_OF)
    seconds = time.perf_counter() - t0
    assert result.ok, [(r.segment, r.error) for r in result.results if r.status != "success"]
    return seconds, {r.segment: r.members for r in result.results}


def timed_hand_written(db: Path) -> tuple[float, dict[str, set]]:
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    for name, sql in hand_written().items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE hand_{name} AS {sql}")
    seconds = time.perf_counter() - t0
    sets = {name: {r[0] for r in con.execute(f"SELECT user_id FROM hand_{name}").fetchall()}
            for name in hand_written()}
    con.close()
    return seconds, sets


def our_sets(db: Path, schema: str) -> dict[str, set]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(f"SELECT segment, person_id FROM {duckdb_ident(schema)}.segment_members").fetchall()
    con.close()
    sets: dict[str, set] = {}
    for segment, person in rows:
        sets.setdefault(segment, set()).add(person)
    return sets


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "segwarehouse-bench.duckdb")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument("--static", action="store_true", help="only the static-segment figures (4 and 5)")
    parser.add_argument("--static-people", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also load 1,000,000 values into PostgreSQL")
    parser.add_argument("--snowflake", action="store_true", help="also load 1,000,000 values into fakesnow")
    args = parser.parse_args()
    if args.static:
        static_figures(args)
        return

    prepare_data(args.db, args.people)
    work = Path(tempfile.mkdtemp(prefix="segwarehouse-bench-"))
    defs = segments()
    many = make_project(work / "many", args.db, defs, "bench_many")
    one = make_project(work / "one", args.db, defs[:1], "bench_one")

    # Correctness first: the same members as the hand-written queries, segment by segment.
    _, counts = timed_run(many, args.db, "bench_many")
    _, hand_sets = timed_hand_written(args.db)
    ours = our_sets(args.db, "bench_many")
    wrong = [n for n in hand_sets if ours.get(n, set()) != hand_sets[n]]
    if wrong:
        for n in wrong:
            print(f"MISMATCH {n}: ours {len(ours.get(n, ()))} hand-written {len(hand_sets[n])}")
        sys.exit(1)
    print(f"{len(defs)} segments agree with the hand-written queries "
          f"({sum(counts.values()):,} memberships in all)")
    # Millions of ids in Python sets make every garbage collection slow: drop them before timing.
    del hand_sets, ours
    gc.collect()

    # A first run writes every membership; later runs (the steady state) move only changes.
    first_many, first_one, steady_many, steady_one, t_hand = [], [], [], [], []
    for _ in range(args.repeat):
        first_many.append(timed_run(many, args.db, "bench_many")[0])
        steady_many.append(timed_run(many, args.db, "bench_many", fresh=False)[0])
        first_one.append(timed_run(one, args.db, "bench_one")[0])
        steady_one.append(timed_run(one, args.db, "bench_one", fresh=False)[0])
        t_hand.append(timed_hand_written(args.db)[0])
    fm, fo, sm, so, hw = map(median, (first_many, first_one, steady_many, steady_one, t_hand))
    print(f"medians of {args.repeat}: hand-written 50 queries {hw:.2f}s")
    print(f"  steady run (rerun, no changes): 50 segments {sm:.2f}s, 1 segment {so:.2f}s")
    print(f"  first run (writes every membership): 50 segments {fm:.2f}s, 1 segment {fo:.2f}s")
    print(f"ratio 50 segments / 1 segment, steady:       {sm / so:.2f}  (goal <= 3.0)")
    print(f"ratio 50 segments / 1 segment, first run:    {fm / fo:.2f}")
    print(f"ratio 50 segments / (50 x 1 segment), steady: {sm / (50 * so):.2f}  (what sharing saves)")
    print(f"ratio ours (50) / hand-written (50), steady: {sm / hw:.2f}  (goal <= 1.0)")
    print(f"ratio ours (50) / hand-written, first run:   {fm / hw:.2f}")

    thousand = [dict(d, name=f"{d['name']}_{i}") for i in range(20) for d in defs]
    make_project(work / "thousand", args.db, thousand, "bench_thousand")
    for dialect in ("duckdb", "snowflake"):
        t0 = time.perf_counter()  # parsing and validating the 1,000 segments counts too
        compiled = Project(work / "thousand").compile(dialect=dialect, as_of=AS_OF, write=False)
        seconds = time.perf_counter() - t0
        print(f"compile {len(compiled[dialect]):,} segments for {dialect}: {seconds:.2f}s  (goal < 2 s)")
    shutil.rmtree(work)


# --- static segments ------------------------------------------------------------------------------------
STATIC_ROWS = 12_000


def write_static_csv(path: Path, values: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email"])
        writer.writerows([v] for v in values)


def static_project(directory: Path, db: Path) -> Path:
    """The 50 segments, a static segment of STATIC_ROWS emails and one segment reading it."""
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        emails = [r[0] for r in con.execute(
            f"SELECT email FROM main.users WHERE email IS NOT NULL ORDER BY hash(user_id) LIMIT {STATIC_ROWS - 200}")
            .fetchall()]
    defs = segments() + [
        {"name": "vip", "static": {"csv": "data/vip.csv", "column": "email", "match_on": "email"}},
        {"name": "vip_buyers", "where": {"all": [{"segment": "vip"}, {"event": "purchase", "within": "90d"}]}}]
    make_project(directory, db, defs, "bench_static")
    (directory / "data").mkdir()
    # 200 values matching nobody, so the CSV has STATIC_ROWS rows
    write_static_csv(directory / "data" / "vip.csv", emails + [f"nobody{i}@example.test" for i in range(200)])
    return directory


def static_hand_written(directory: Path) -> dict[str, str]:
    csv_path = str(directory / "data" / "vip.csv").replace("'", "''")
    vip = (f"SELECT user_id FROM main.users WHERE CAST(email AS VARCHAR) IN (SELECT email FROM "
           f"read_csv('{csv_path}', header = true, all_varchar = true, columns = {{'email': 'VARCHAR'}}))")
    return {**hand_written(), "vip": vip,
            "vip_buyers": f"SELECT user_id FROM main.events WHERE event_name = 'purchase' AND "
                          f"occurred_at > TIMESTAMP '2026-11-01 00:00:00' - INTERVAL 90 DAY AND "
                          f"occurred_at <= TIMESTAMP '2026-11-01 00:00:00' AND user_id IN ({vip})"}


def timed_static_hand_written(db: Path, queries: dict[str, str]) -> tuple[float, dict[str, set]]:
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    for name, sql in queries.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE hand_{name} AS {sql}")
    seconds = time.perf_counter() - t0
    sets = {name: {r[0] for r in con.execute(f"SELECT DISTINCT user_id FROM hand_{name}").fetchall()}
            for name in queries}
    con.close()
    return seconds, sets


def timed_cli_run(directory: Path, db: Path) -> float:
    drop_outputs(db, "bench_static")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(directory), "run",
                           "--as-of", AS_OF.isoformat()], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    assert done.returncode == 0, done.stdout + done.stderr
    return seconds


def load_million(adapter, directory: Path) -> float:
    from segwarehouse.materialize.static import load_static_tables

    project = Project(directory)
    t0 = time.perf_counter()
    load = load_static_tables(adapter, directory, project.loaded.config, project.segments, ["vip"])
    seconds = time.perf_counter() - t0
    assert not load.broken and load.notes["vip"][0].startswith("1000000 CSV rows"), load
    return seconds


def static_figures(args) -> None:
    db = args.db.with_name(args.db.stem + f"-static-{args.static_people}.duckdb")
    prepare_data(db, args.static_people)
    work = Path(tempfile.mkdtemp(prefix="segwarehouse-bench-static-"))
    directory = static_project(work / "static", db)
    queries = static_hand_written(directory)
    timed_cli_run(directory, db)  # correctness first
    _, hand_sets = timed_static_hand_written(db, queries)
    ours = our_sets(db, "bench_static")
    wrong = [n for n in hand_sets if ours.get(n, set()) != hand_sets[n]]
    if wrong:
        for n in wrong:
            print(f"MISMATCH {n}: ours {len(ours.get(n, ()))} hand-written {len(hand_sets[n])}")
        sys.exit(1)
    print(f"{len(queries)} segments (a {STATIC_ROWS:,}-row static one among them) agree with the hand-written "
          f"queries over {args.static_people:,} people; vip has {len(ours['vip']):,} members")
    del hand_sets, ours
    gc.collect()
    cli_times, hand_times = [], []
    for _ in range(args.repeat):
        cli_times.append(timed_cli_run(directory, db))
        hand_times.append(timed_static_hand_written(db, queries)[0])
    ours_s, hand_s = median(cli_times), median(hand_times)
    print(f"medians of {args.repeat}: first run via the CLI {ours_s:.2f}s, hand-written {hand_s:.2f}s")
    print(f"ratio first run (CLI, static segment) / hand-written: {ours_s / hand_s:.2f}  (goal <= 1.5)")

    million = work / "million"
    million.mkdir()
    (million / "segwarehouse.yml").write_text((directory / "segwarehouse.yml").read_text())
    (million / "segments").mkdir()
    (million / "segments" / "vip.yml").write_text(yaml.safe_dump({"segments": [
        {"name": "vip", "static": {"csv": "data/vip.csv", "column": "email", "match_on": "email"}}]}))
    (million / "data").mkdir()
    write_static_csv(million / "data" / "vip.csv", [f"person{i}@example.test" for i in range(1_000_000)])
    from segwarehouse.adapters.duckdb import DuckDBAdapter

    with DuckDBAdapter({"path": str(db)}).connect() as adapter:
        print(f"1,000,000-row static CSV into DuckDB: {load_million(adapter, million):.2f}s  (goal < 5 s)")
    sys.path.insert(0, str(ROOT / "tests"))
    if args.postgres:
        from helpers.postgres_server import postgres_server

        from segwarehouse.adapters.postgres import PostgresAdapter
        with postgres_server() as dsn:
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as con:
                con.execute("CREATE TABLE users (email TEXT)")
            settings = dict(psycopg.conninfo.conninfo_to_dict(dsn))
            adapter = PostgresAdapter({k: settings.get(k) for k in ("host", "port", "user", "password", "dbname")})
            with adapter.connect():
                print(f"1,000,000-row static CSV into PostgreSQL: {load_million(adapter, million_for('users', million)):.2f}s")
    if args.snowflake:
        import fakesnow
        import snowflake.connector

        from segwarehouse.adapters.snowflake import SnowflakeAdapter
        with fakesnow.server() as server:
            params = {k: v for k, v in server.items() if k not in ("session_parameters", "network_timeout")}
            with contextlib.closing(snowflake.connector.connect(**params, session_parameters=server["session_parameters"])) as con:
                for statement in ("CREATE DATABASE BENCH", "CREATE SCHEMA BENCH.S", "CREATE TABLE BENCH.S.USERS (EMAIL VARCHAR)"):
                    con.cursor().execute(statement)
            adapter = SnowflakeAdapter({**{k: server[k] for k in ("account", "user", "password", "host", "port", "protocol")},
                                        "database": "bench", "schema": "s"})
            with adapter.connect():
                print(f"1,000,000-row static CSV into Snowflake (fakesnow): "
                      f"{load_million(adapter, million_for('users', million)):.2f}s")
    shutil.rmtree(work)


def million_for(table: str, million: Path) -> Path:
    """The million-row project, its people table renamed for an engine where only `table` exists."""
    text = (million / "segwarehouse.yml").read_text().replace("table: main.users", f"table: {table}")
    (million / "segwarehouse.yml").write_text(text)
    return million


if __name__ == "__main__":
    main()
