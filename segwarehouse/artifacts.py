"""target/manifest.json and target/run_results.json, dbt style, for orchestrators and CI."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Optional

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


def _write(path: Path, payload: dict) -> None:
    """Write atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def write_manifest(target: Path, config: m.ProjectConfig, segments: dict[str, m.Segment], command: str,
                   compiled: Optional[dict[str, str]] = None) -> Path:
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
            "compiled_path": (compiled or {}).get(name),
        }
    payload = {"metadata": metadata("manifest", command), "project": config.name,
               "output_schema": config.output_schema, "segments": nodes, "parent_map": parent_map,
               "child_map": child_map}
    path = target / "manifest.json"
    _write(path, payload)
    return path


def write_run_results(target: Path, command: str, results: list[dict[str, Any]], elapsed: float,
                      args: dict[str, Any], success: bool) -> Path:
    payload = {"metadata": metadata("run-results", command), "success": success,
               "elapsed_time": round(elapsed, 3), "args": args, "results": results}
    path = target / "run_results.json"
    _write(path, payload)
    return path
