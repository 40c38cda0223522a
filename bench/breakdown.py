"""What `preview --breakdown` costs next to a plain `preview`, on the bench data set.

    python bench/breakdown.py [--people 200000] [--db /tmp/segwarehouse-breakdown-bench.duckdb] [--repeat 3]

The example project's segments (segments/ at the repository root) over the demo data that
bench/scaling.py generates (seed 42, anchored at its AS_OF). Per segment, medians of --repeat, in one
process through the Python API (connecting, reading the catalog and planning included in every figure):
  preview    Project.preview(limit=10): a count and a sample of members (two evaluations)
  count      the member count alone: the segment's standalone query evaluated once
  breakdown  Project.breakdown: every node's holds and cumulative, one query
Before timing, the breakdown's root count is checked against the preview's count."""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlglot import exp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaling import ROOT, prepare_data  # noqa: E402
from segments_50 import AS_OF  # noqa: E402

from segwarehouse import Project  # noqa: E402

SEGMENTS = ["active_users", "abandoned_cart", "engaged_email_subscribers", "stalled_learners", "winback_targets",
            "sms_audience_europe", "big_spenders", "lapsed_customers"]


def example_project(directory: Path, db: Path) -> Project:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    shutil.copy(ROOT / "segwarehouse.yml", directory)
    for folder in ("segments", "macros", "data"):
        shutil.copytree(ROOT / folder, directory / folder)
    (directory / "profiles.yml").write_text(yaml.safe_dump(
        {"demo_shop": {"target": "bench", "outputs": {"bench": {"type": "duckdb", "path": str(db)}}}}))
    return Project(directory)


def count_only(project: Project, name: str) -> int:
    """The member count alone, as preview computes it (its first query)."""
    with project.connect() as adapter:
        plan = project._plan(adapter, name, AS_OF)
        query = plan.standalone(name)
        return adapter.execute(exp.select(exp.Count(this=exp.Star())).from_(query.subquery("m")))[0][0]


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "segwarehouse-breakdown-bench.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prepare_data(args.db, args.people)
    project = example_project(Path(tempfile.gettempdir()) / "segwarehouse-breakdown-bench", args.db)
    print(f"{'segment':28} {'nodes':>5} {'preview s':>9} {'count s':>8} {'breakdown s':>11} "
          f"{'vs preview':>10} {'vs count':>8}")
    ratios_preview, ratios_count = [], []
    for name in SEGMENTS:
        b = project.breakdown(name, as_of=AS_OF)
        assert b.count == project.preview(name, as_of=AS_OF).count == count_only(project, name), name
        preview = timed(lambda: project.preview(name, as_of=AS_OF), args.repeat)
        count = timed(lambda: count_only(project, name), args.repeat)
        breakdown = timed(lambda: project.breakdown(name, as_of=AS_OF), args.repeat)
        ratios_preview.append(breakdown / preview)
        ratios_count.append(breakdown / count)
        print(f"{name:28} {len(b.nodes):5} {preview:9.3f} {count:8.3f} {breakdown:11.3f} "
              f"{breakdown / preview:10.2f} {breakdown / count:8.2f}", flush=True)
    print(f"median ratio breakdown / preview: {statistics.median(ratios_preview):.2f}; "
          f"breakdown / one count: {statistics.median(ratios_count):.2f} ({args.people:,} people)")


if __name__ == "__main__":
    main()
