"""Reverse sync throughput, through the real engine and CLI against the fake vendors (tests/fakes):

1. Customer.io: 1,000,000 entered changes pushed from a DuckDB target. Each batch of 1000 adds costs
   two requests: a v2 batch `identify` (people must exist before add_customers counts them;
   `create_people: true`, the default) and one add_customers of at most 1000 ids. At the client's
   declared rate (CustomerIO.rate: 1000 requests/s, Customer.io's documented Track API rate, which the
   fake also allows) the ceiling is 1000 req/s x 1000 changes / 2 requests = 500,000 changes/s; the
   figure printed divides by the requests the fake actually counted.
2. Klaviyo: a first sync of 100,000 new people through bulk profile import jobs (10,000 profiles per
   job, which also add them to the list), against the fake holding Klaviyo's documented windows (bulk
   jobs 10/s and 150/min; profile-import 75/s and 700/min). The per-profile alternative is computed
   from the documented profile-import rate (700/min), not run: it would take over two hours. The fake
   finishes a job on its second poll, so Klaviyo's own processing time is not in the figure.

    python bench/sync_throughput.py [--people 1000000] [--klaviyo-people 100000]

Prints the Customer.io changes/s achieved against its ceiling (goal >= 80%) and the
peak RSS of the sync process (goal < 300 MB). The fake runs in its own process, so it does not share
a GIL with the engine; the sync runs as `segwarehouse sync` in another, so its peak RSS is its own.
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


def serve(vendor: str) -> None:
    """--serve VENDOR: run the fake until stdin closes; print its URL, then what it received."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes import customerio, klaviyo

    if vendor == "klaviyo":
        with klaviyo.FakeKlaviyo() as fake:  # with its documented rate windows
            print(fake.base_url, flush=True)
            sys.stdin.readline()
            print(json.dumps({"received": len(klaviyo.members(fake, klaviyo.LIST)), "requests": len(fake.log),
                              "jobs": len(fake.jobs), "rate_limited": sum(1 for *_, s in fake.log if s == 429)}),
                  flush=True)
        return
    with customerio.make_fake() as fake:
        print(fake.base_url, flush=True)
        sys.stdin.readline()
        print(json.dumps({"received": fake.received, "requests": len(fake.log),
                          "rate_limited": sum(1 for *_, s in fake.log if s == 429)}), flush=True)


def project_with(work: Path, people: int, destination: dict, list_id: str) -> None:
    """A DuckDB project whose segment `everyone` holds `people` people and syncs to `dest`."""
    con = duckdb.connect(str(work / "segwarehouse.duckdb"))
    con.execute("CREATE TABLE main.users AS SELECT range AS user_id, 'user' || range || '@example.com' AS email, "
                f"'gold' AS plan FROM range(1, {people + 1})")
    con.close()
    project = {"name": "bench", "people": {"table": "main.users", "key": "user_id", "identifiers": {"email": "email"}},
               "destinations": {"dest": destination}}
    (work / "segwarehouse.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    # DuckDB keeps what it read in its buffer pool up to memory_limit (default: 80% of RAM); a sync
    # host sets it like any DuckDB target (sorts and windows spill past it)
    (work / "profiles.yml").write_text(yaml.safe_dump(
        {"bench": {"target": "dev", "outputs": {"dev": {"type": "duckdb", "path": str(work / "segwarehouse.duckdb"),
                                                        "memory_limit": "160MB"}}}}))
    (work / "segments").mkdir()
    (work / "segments" / "everyone.yml").write_text(yaml.safe_dump(
        {"name": "everyone", "where": {"attribute": "plan", "equals": "gold"},
         "sync": [{"destination": "dest", "list": list_id}]}, sort_keys=False))


def measured_sync(work: Path, env: dict, vendor: str, fake: subprocess.Popen) -> tuple[dict, dict, dict, float]:
    """Run then sync the project; (sync result, peak RSS and CPU, what the fake saw, wall seconds)."""
    cli = [sys.executable, "-m", "segwarehouse.cli", "--project-dir", str(work)]
    subprocess.run([*cli, "run"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "--project-dir", str(work), "sync"], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    fake.stdin.write("\n")
    fake.stdin.flush()
    served = json.loads(fake.stdout.readline())
    fake.wait()
    if done.returncode:
        sys.exit(f"{vendor} sync failed:\n{done.stdout}\n{done.stderr}")
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    [result] = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return result, usage, served, wall


def start_fake(vendor: str) -> tuple[subprocess.Popen, str]:
    fake = subprocess.Popen([sys.executable, __file__, "--serve", vendor], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return fake, fake.stdout.readline().strip()


def klaviyo_first_sync(people: int) -> None:
    from fakes import klaviyo
    from segwarehouse.sync.destinations.klaviyo import BULK_FROM, Klaviyo

    work = Path(tempfile.mkdtemp(prefix="sw-sync-bench-klaviyo-"))
    project_with(work, people, {"type": "klaviyo", "base_url": '{{ env_var("BENCH_KL_URL") }}',
                                "api_key": '{{ env_var("BENCH_KL_KEY") }}'}, klaviyo.LIST)
    fake, url = start_fake("klaviyo")
    env = {**os.environ, "BENCH_KL_URL": f"{url}/api", "BENCH_KL_KEY": klaviyo.API_KEY}
    result, usage, served, wall = measured_sync(work, env, "klaviyo", fake)
    assert served["received"] == people == result["counts"]["sent"], (served, result)
    seconds = result["execution_time"]
    limit = Klaviyo.profile_rate
    per_minute = 700  # profile-import steady limit (x-klaviyo-ratelimit); the burst allows 75/s at most
    upserts = people / per_minute
    links = people / Klaviyo.batch_size / 150  # list relationship calls at 150/min
    print(f"klaviyo: {people:,} new people in {seconds:.1f}s = {seconds / 60:.2f} min through {served['jobs']} bulk "
          f"import job(s), {served['requests']} requests, {served['rate_limited']} answered 429; peak RSS "
          f"{usage['max_rss_mb']:.0f} MB (batches of {BULK_FROM}+ adds use jobs)")
    print(f"klaviyo per-profile upserts (computed, not run): {people:,} / 700 per min = {upserts:.0f} min, plus "
          f"{links:.1f} min of list calls; the client's bucket ({limit.requests} burst, "
          f"refill {limit.requests / limit.per_seconds * 60:.0f}/min) cannot beat that")


def customerio_throughput(people: int) -> None:
    from fakes import customerio
    from segwarehouse.sync.destinations.customerio import CustomerIO

    work = Path(tempfile.mkdtemp(prefix="sw-sync-bench-"))
    project_with(work, people, {"type": "customerio", "base_url": '{{ env_var("BENCH_CIO_URL") }}',
                                "site_id": customerio.SITE_ID, "api_key": '{{ env_var("BENCH_CIO_KEY") }}'}, "42")
    fake, url = start_fake("customerio")
    env = {**os.environ, "BENCH_CIO_URL": url, "BENCH_CIO_KEY": customerio.API_KEY}
    result, usage, served, wall = measured_sync(work, env, "customerio", fake)
    seconds = result["execution_time"]
    rate = result["counts"]["sent"] / seconds
    assert served["received"] == people == result["counts"]["sent"], (served, result)
    per_request = people / served["requests"]  # changes per request: 500 with identify + add per 1000
    ceiling = per_request * CustomerIO.rate.requests / CustomerIO.rate.per_seconds
    print(f"customerio: {result['counts']['sent']:,} changes in {seconds:.1f}s ({wall:.1f}s with process start), "
          f"{served['requests']:,} requests ({per_request:,.0f} changes per request: identify + add_customers per "
          f"1000), {served['rate_limited']} answered 429")
    print(f"throughput: {rate:,.0f} changes/s = {rate / ceiling:.1%} of the {ceiling:,.0f}/s ceiling "
          f"({CustomerIO.rate.requests / CustomerIO.rate.per_seconds:,.0f} requests/s x {per_request:,.0f} changes "
          "per request; goal >= 80%)")
    print(f"peak RSS of the sync process: {usage['max_rss_mb']:.0f} MB (goal < 300 MB)")
    print(f"CPU of the sync process: {usage['cpu_s']:.1f}s = {usage['cpu_s'] / people * 1e6:.1f} us per change "
          f"(on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}: the engine alone would sustain "
          f"{people / usage['cpu_s']:,.0f} changes/s on one free core)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000, help="Customer.io: entered changes")
    parser.add_argument("--klaviyo-people", type=int, default=100_000, help="Klaviyo: new people (0: skip)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    sys.path.insert(0, str(ROOT / "tests"))
    if args.people:
        customerio_throughput(args.people)
    if args.klaviyo_people:
        klaviyo_first_sync(args.klaviyo_people)


if __name__ == "__main__":
    main()
