"""`after: {attribute: signup_at, within: 2d}` (onboarded_new_users of the example project) against
hand-written DuckDB queries selecting the same members, on the demo data.

    PYTHONPATH=. python bench/anchored_window.py [PEOPLE]

Prints the best of 5 for: our compiled query; a hand-written semi-join that first narrows people with
the segment's other condition (signup in the last 30 days), which our planner does not do across
conditions; and a hand-written scan of the same shape as ours (events joined with people, grouped)."""
from __future__ import annotations

import datetime as dt
import pathlib
import sys
import time

import duckdb

from segwarehouse import Project
from segwarehouse.compiler.plan import standalone_query
from segwarehouse.demo import generate_demo

AS_OF = dt.datetime(2026, 11, 1)
PRE_FILTERED = """SELECT u.user_id FROM main.users u
WHERE u.signup_at > TIMESTAMP '2026-10-02' AND u.signup_at <= TIMESTAMP '2026-11-01' AND EXISTS (
  SELECT 1 FROM main.events e WHERE e.user_id = u.user_id AND e.event_name IN ('login', 'app_open')
  AND e.occurred_at <= TIMESTAMP '2026-11-01' AND e.occurred_at > u.signup_at
  AND e.occurred_at <= u.signup_at + INTERVAL 48 HOUR)"""
SAME_SHAPE = """SELECT e.user_id, count(*) FROM main.events e JOIN main.users u ON u.user_id = e.user_id
WHERE e.event_name IN ('login', 'app_open') AND e.occurred_at <= TIMESTAMP '2026-11-01'
AND e.occurred_at > u.signup_at AND e.occurred_at <= u.signup_at + INTERVAL 48 HOUR GROUP BY 1"""


def best(con, sql: str) -> tuple[float, list]:
    times, rows = [], []
    for _ in range(5):
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return min(times), rows


def main(people: int) -> None:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    generate_demo(con, people=people, seed=7, anchor=AS_OF, schema="main")
    project = Project(pathlib.Path(__file__).resolve().parent.parent)
    ours_sql = standalone_query(project.loaded.config, project.segments, "onboarded_new_users", AS_OF)
    ours, ours_rows = best(con, ours_sql.sql("duckdb", identify=True))
    pre, pre_rows = best(con, PRE_FILTERED)
    shape, _ = best(con, SAME_SHAPE)
    assert {r[0] for r in ours_rows} == {r[0] for r in pre_rows}
    print(f"{people:,} people, {len(ours_rows):,} members: ours {ours * 1000:.0f} ms; "
          f"hand-written pre-filtered {pre * 1000:.0f} ms (ratio {ours / pre:.1f}); "
          f"hand-written same shape {shape * 1000:.0f} ms (ratio {ours / shape:.2f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
