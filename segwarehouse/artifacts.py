"""target/manifest.json and target/run_results.json, dbt style, for orchestrators and CI: their
paths, their rows (`results_of` a command's outcome) and their atomic writing."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from . import __version__
from .spec import model as m
from .spec.graph import dependents

SCHEMA_URL = "https://segwarehouse.dev/schemas/{kind}/v1.json"
INVOCATION_ID = str(uuid.uuid4())


def metadata(kind: str, command: str) -> dict[str, Any]:
    return {"segwarehouse_schema_version": SCHEMA_URL.format(kind=kind), "segwarehouse_version": __version__,
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "invocation_id": INVOCATION_ID, "command": command}


def unique_id(project: str, segment: str) -> str:
    return f"segment.{project}.{segment}"


def compiled_path(target: Path, dialect: str, segment: str) -> Path:
    """Where `compile` writes a segment's SQL for a dialect."""
    return Path(target) / "compiled" / dialect / f"{segment}.sql"


def results_of_run(project: str, result: Any) -> list[dict[str, Any]]:
    """run_results rows of a run (materialize.runner.RunResult): one per segment."""
    return [{"unique_id": unique_id(project, r.segment), "segment": r.segment, "status": r.status,
             "execution_time": round(r.seconds, 3), "run_id": result.run_id, "as_of": result.as_of.isoformat(),
             "message": r.error, "counts": {"members": r.members, "entered": r.entered, "exited": r.exited,
                                            "updated": r.updated}, "notes": r.notes}
            for r in result.results]


def results_of_sync(project: str, results: Iterable[Any]) -> list[dict[str, Any]]:
    """run_results rows of a sync (sync.engine.SyncResult): one per (segment, destination)."""
    return [{"unique_id": f"sync.{project}.{r.segment}.{r.destination}", "segment": r.segment,
             "destination": r.destination, "status": r.status, "execution_time": round(r.seconds, 3),
             "synced_through_run_id": r.through_run_id, "message": r.error,
             "counts": {"pending": r.pending, "sent": r.sent, "rejected": r.rejected, "retried": r.retried,
                        "unconfirmed": r.unconfirmed}}
            for r in results]


def results_of_tests(results: Iterable[Any]) -> list[dict[str, Any]]:
    """run_results rows of `test` (testing.TestResult): one per test, pass or fail."""
    return [{"unique_id": f"test.{r.segment}.{r.name}", "status": "pass" if r.passed else "fail",
             "message": r.error or (None if r.passed else f"expected {r.expected}, got {r.actual}")}
            for r in results]


def results_of_compile(project: str, target: Path, compiled: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """run_results rows of `compile` ({dialect: {segment: SQL}}): one per written file."""
    return [{"unique_id": unique_id(project, name), "status": "success", "dialect": d,
             "compiled_path": str(compiled_path(target, d, name))} for d, segments in compiled.items()
            for name in segments]


def _write(path: Path, payload: dict) -> None:
    """Write atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def write_manifest(target: Path, config: m.ProjectConfig, segments: dict[str, m.Segment], command: str,
                   dialect: str = "duckdb") -> Path:
    """manifest.json; a segment's `compiled_path` is its compiled SQL for `dialect` when that file
    exists (written by this or an earlier `compile`), else null."""
    nodes, parent_map = {}, {}
    child_map = {unique_id(config.name, name): [unique_id(config.name, child) for child in children]
                 for name, children in dependents(segments).items()}
    for name, s in segments.items():
        uid = unique_id(config.name, name)
        parents = [unique_id(config.name, ref) for ref in s.depends_on]
        parent_map[uid] = parents
        nodes[uid] = {
            "unique_id": uid, "name": name, "original_file_path": s.file, "line": s.line,
            "description": s.description, "tags": list(s.tags), "owner": s.owner, "enabled": s.enabled,
            "kind": "static" if s.static else "dynamic", "fields": list(s.fields),
            "splits": {"salt": s.splits.salt, "groups": dict(s.splits.groups)} if s.splits else None,
            "sync": [vars(x) for x in s.sync], "tests": [t.name for t in s.tests],
            "depends_on": {"segments": parents}, "definition_hash": s.definition_hash,
            "compiled_path": _existing(compiled_path(target, dialect, name)),
        }
    payload = {"metadata": metadata("manifest", command), "project": config.name,
               "output_schema": config.output_schema, "segments": nodes, "parent_map": parent_map,
               "child_map": child_map}
    path = target / "manifest.json"
    _write(path, payload)
    return path


def _existing(path: Path) -> Optional[str]:
    return str(path) if path.is_file() else None


def write_run_results(target: Path, command: str, results: list[dict[str, Any]], elapsed: float,
                      args: dict[str, Any], success: bool) -> Path:
    payload = {"metadata": metadata("run-results", command), "success": success,
               "elapsed_time": round(elapsed, 3), "args": args, "results": results}
    path = target / "run_results.json"
    _write(path, payload)
    return path
