"""A 3-step sequence against a hand-written DuckDB query giving the same members.

    python bench/sequence.py [--people 1000000] [--db /tmp/segwarehouse-bench.duckdb] [--repeat 3]

add_to_cart -> checkout_started within 1h -> no purchase within 1d, over the demo data of
bench/scaling.py (its data generation, cached at --db). Prints ours / hand-written (goal <= 1.5),
after asserting that both select the same people."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaling import median, prepare_data  # noqa: E402
from segments_50 import AS_OF, TS  # noqa: E402

from segwarehouse.compiler.dialects import render  # noqa: E402
from segwarehouse.compiler.plan import standalone_query  # noqa: E402
from segwarehouse.project.loader import load_project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEGMENT = """\
name: cart_checkout_no_purchase
where:
  sequence:
    - event: add_to_cart
    - event: checkout_started
      within_after: 1h
    - event: purchase
      within_after: 1d
      performed: false
"""
# What an analyst writes: carts joined to checkouts within the hour (DuckDB's range join), minus
# the checkouts followed by a purchase within the day, once the day has passed.
HAND_WRITTEN = f"""
WITH carts AS (SELECT user_id, occurred_at AS t FROM main.events WHERE event_name = 'add_to_cart' AND occurred_at <= {TS}),
checkouts AS (SELECT user_id, occurred_at AS t FROM main.events WHERE event_name = 'checkout_started' AND occurred_at <= {TS} - INTERVAL 1 DAY),
purchases AS (SELECT user_id, occurred_at AS t FROM main.events WHERE event_name = 'purchase' AND occurred_at <= {TS}),
reached AS (SELECT DISTINCT c.user_id, c.t FROM checkouts c JOIN carts a
            ON a.user_id = c.user_id AND a.t < c.t AND c.t <= a.t + INTERVAL 1 HOUR)
SELECT DISTINCT r.user_id FROM reached r JOIN main.users u ON u.user_id = r.user_id
WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.user_id = r.user_id AND p.t > r.t AND p.t <= r.t + INTERVAL 1 DAY)
"""


def timed(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, set]:
    t0 = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE members AS {sql}")
    seconds = time.perf_counter() - t0
    return seconds, {r[0] for r in con.execute("SELECT * FROM members").fetchall()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "segwarehouse-bench.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prepare_data(args.db, args.people)
    work = Path(tempfile.mkdtemp(prefix="segwarehouse-seq-"))
    (work / "segments").mkdir()
    (work / "segwarehouse.yml").write_text((ROOT / "segwarehouse.yml").read_text())
    (work / "segments" / "s.yml").write_text(SEGMENT)
    project = load_project(work)
    ours = render(standalone_query(project.config, project.segments, "cart_checkout_no_purchase", AS_OF), "duckdb")
    ours = f"SELECT person_id FROM ({ours})"
    con = duckdb.connect(str(args.db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    _, our_set = timed(con, ours)
    _, hand_set = timed(con, HAND_WRITTEN)
    assert our_set == hand_set, (len(our_set), len(hand_set), sorted(our_set ^ hand_set)[:10])
    our_times, hand_times = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same cache state
        our_times.append(timed(con, ours)[0])
        hand_times.append(timed(con, HAND_WRITTEN)[0])
    con.close()
    ours_s, hand_s = median(our_times), median(hand_times)
    print(f"sequence of 3 steps, {args.people:,} people, {len(our_set):,} members: ours {ours_s:.3f}s, "
          f"hand-written {hand_s:.3f}s, ratio {ours_s / hand_s:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
