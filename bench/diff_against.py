"""Cost of `diff --against REF` against a preview of the same segments, on bench/scaling.py's data.

    python bench/diff_against.py [--people 1000000] [--db /tmp/segwarehouse-bench.duckdb] [--repeat 3]

REF holds bench/segments_50.py's fifty segments; the working tree edits five windows, removes one
segment and adds one. Printed: the median seconds of `Project.diff(against=...)` (both versions of
the 50 segments evaluated in one planned statement, counts and samples), of previewing each
working-tree segment in turn (`Project.preview`, the same count and sample per segment), and the
ratio (goal <= 1.5)."""
from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaling import make_project, prepare_data  # noqa: E402
from segments_50 import AS_OF, segments  # noqa: E402


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", *args], cwd=root, check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/segwarehouse-bench.duckdb")
    parser.add_argument("--dir", default="/tmp/segwarehouse-bench-diff")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = Path(args.db)
    prepare_data(db, args.people)
    ref = segments()
    root = Path(args.dir)
    make_project(root, db, ref, "bench_diff")
    (root / ".gitignore").write_text("target/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "ref")
    head = copy.deepcopy(ref)
    for segment in head[:5]:  # opened_within_N: a shorter window
        segment["where"]["within"] = f"{int(segment['where']['within'][:-1]) // 2 or 1}d"
    removed = head.pop()
    head.append({"name": "added_pro", "where": {"attribute": "plan", "equals": "pro"}})
    (root / "segments" / "bench.yml").write_text(yaml.safe_dump({"segments": head}, sort_keys=False))
    from segwarehouse import Project

    project = Project(root)
    diff_times, preview_times = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = project.diff(against="main", as_of=AS_OF)
        diff_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        previews = {s["name"]: project.preview(s["name"], limit=5, as_of=AS_OF).count for s in head}
        preview_times.append(time.perf_counter() - t0)
    assert result.ok, result.failures()
    after = {s.segment: s.after for s in result.segments if s.status != "removed"}
    assert after == previews, "diff and preview disagree"  # a fast wrong answer is not a result
    statuses = {s.status for s in result.segments}
    assert statuses == {"modified", "added", "removed", "unchanged"} and removed["name"] in after.keys() ^ {
        s.segment for s in result.segments}
    d, p = statistics.median(diff_times), statistics.median(preview_times)
    print(f"{args.people:,} people, {len(head)} segments: diff --against {d:.2f} s, "
          f"previews of the same segments {p:.2f} s, ratio {d / p:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
