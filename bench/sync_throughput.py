"""Reverse sync throughput: 1,000,000 entered changes pushed from a DuckDB target to the fake
Customer.io (tests/fakes/customerio.py) through the real engine and CLI.

    python bench/sync_throughput.py [--people 1000000]

Customer.io takes at most 1000 ids per add_customers request and about 100 requests/s, so the
ceiling is 100,000 changes/s. Prints the changes/s achieved against that ceiling (goal >= 80%) and the
peak RSS of the sync process (goal < 300 MB). The fake runs in its own process, so it does not share
a GIL with the engine; the sync runs as `segwarehouse sync` in another, so its peak RSS is its own.
The segment has no `fields`, so no identify requests are needed: one request per 1000 changes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parent.parent
CEILING = 1000 * 100  # ids per request x requests per second


# the CLI in a process that reports its own peak RSS and CPU time when it exits
MEASURED = """
import atexit, json, resource, sys
def report():
    u = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"max_rss_mb": u.ru_maxrss / 1024, "cpu_s": u.ru_utime + u.ru_stime}), file=sys.stderr)
atexit.register(report)
sys.argv = ["segwarehouse", *sys.argv[1:]]
from segwarehouse.cli import main
main()
"""


def serve() -> None:
    """--serve: run the fake Customer.io until stdin closes; print its URL, then the ids it received."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes import customerio

    with customerio.make_fake() as fake:
        print(fake.base_url, flush=True)
        sys.stdin.readline()
        print(json.dumps({"received": fake.received, "requests": len(fake.log),
                          "rate_limited": sum(1 for *_, s in fake.log if s == 429)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes import customerio

    work = Path(tempfile.mkdtemp(prefix="sw-sync-bench-"))
    con = duckdb.connect(str(work / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE main.users AS SELECT range AS user_id, 'user' || range || '@example.com' AS email, "
                f"'gold' AS plan FROM range(1, {args.people + 1})")
    con.close()
    project = {"name": "bench", "people": {"table": "main.users", "key": "user_id", "identifiers": {"email": "email"}},
               "destinations": {"cio": {"type": "customerio", "base_url": '{{ env_var("BENCH_CIO_URL") }}',
                                        "site_id": '{{ env_var("BENCH_CIO_SITE") }}',
                                        "api_key": '{{ env_var("BENCH_CIO_KEY") }}'}}}
    (work / "segwarehouse.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    # DuckDB keeps what it read in its buffer pool up to memory_limit (default: 80% of RAM); a sync
    # host sets it like any DuckDB target (sorts and windows spill past it)
    (work / "profiles.yml").write_text(yaml.safe_dump(
        {"bench": {"target": "dev", "outputs": {"dev": {"type": "duckdb", "path": str(work / "segwarehouse.duckdb"),
                                                        "memory_limit": "160MB"}}}}))
    (work / "segments").mkdir()
    (work / "segments" / "everyone.yml").write_text(yaml.safe_dump(
        {"name": "everyone", "where": {"attribute": "plan", "equals": "gold"},
         "sync": [{"destination": "cio", "list": "42"}]}, sort_keys=False))

    fake = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    url = fake.stdout.readline().strip()
    env = {**os.environ, "BENCH_CIO_URL": url, "BENCH_CIO_SITE": customerio.SITE_ID,
           "BENCH_CIO_KEY": customerio.API_KEY}
    cli = [sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(work)]
    t0 = time.perf_counter()
    subprocess.run([*cli, "run"], env=env, check=True, capture_output=True)
    print(f"run: {args.people:,} people entered in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "--project-dir", str(work), "sync"], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    fake.stdin.write("\n")
    fake.stdin.flush()
    served = json.loads(fake.stdout.readline())
    fake.wait()
    if done.returncode:
        sys.exit(f"sync failed:\n{done.stdout}\n{done.stderr}")
    [result] = json.loads((work / "target" / "run_results.json").read_text())["results"]
    seconds = result["execution_time"]
    rate = result["counts"]["sent"] / seconds
    assert served["received"] == args.people == result["counts"]["sent"], (served, result)
    print(f"sync: {result['counts']['sent']:,} changes in {seconds:.1f}s ({wall:.1f}s with process start), "
          f"{served['requests']:,} requests, {served['rate_limited']} answered 429")
    print(f"throughput: {rate:,.0f} changes/s = {rate / CEILING:.0%} of the {CEILING:,}/s ceiling (goal >= 80%)")
    print(f"peak RSS of the sync process: {usage['max_rss_mb']:.0f} MB (goal < 300 MB)")
    print(f"CPU of the sync process: {usage['cpu_s']:.1f}s = {usage['cpu_s'] / args.people * 1e6:.1f} us per change "
          f"(on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}: the engine alone would sustain "
          f"{args.people / usage['cpu_s']:,.0f} changes/s on one free core)")


if __name__ == "__main__":
    main()
