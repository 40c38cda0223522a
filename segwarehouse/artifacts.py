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
from .spec.graph import streams_read
from .spec.values import utc_z

SCHEMA_URL = "https://segwarehouse.dev/schemas/{kind}/v{version}.json"
VERSIONS = {"manifest": 2, "run-results": 1}  # manifest v2: dbt's `nodes` and `sources`, lineage
INVOCATION_ID = str(uuid.uuid4())


def metadata(kind: str, command: str) -> dict[str, Any]:
    return {"segwarehouse_schema_version": SCHEMA_URL.format(kind=kind, version=VERSIONS[kind]), "segwarehouse_version": __version__,
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
             "execution_time": round(r.seconds, 3), "run_id": result.run_id, "as_of": utc_z(result.as_of),
             "message": r.error, "counts": {"members": r.members, "entered": r.entered, "exited": r.exited,
                                            "updated": r.updated}, "notes": r.notes}
            for r in result.results]


def results_of_diff(project: str, result: Any) -> list[dict[str, Any]]:
    """run_results rows of `diff` (review.DiffResult): one per segment, its status (changed,
    unchanged, ...; with --against: added, removed, modified, unchanged) and counts."""
    return [{"unique_id": unique_id(project, s.segment), "segment": s.segment, "status": s.status,
             "as_of": utc_z(result.as_of), "against": result.against, "message": s.error,
             "counts": {"before": s.before, "after": s.after, "entered": s.entered, "exited": s.exited,
                        **({} if s.updated is None else {"updated": s.updated})}}
            for s in result.segments]


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


def source_nodes(config: m.ProjectConfig) -> dict[str, dict[str, Any]]:
    """The tables segments read, as dbt source nodes: the people table
    (`source.<project>.people.<table>`) and one per stream (`source.<project>.streams.<stream>`).
    `database`, `schema` and `identifier` are the table as written in segwarehouse.yml, so a
    lineage tool joins them to the dbt models that build those tables by relation name."""
    found = {}
    people = config.people
    found[people_source(config)] = _source(config, "people", people.table.split(".")[-1], people.table,
                                           {"key": people.key, "identifiers": dict(people.identifiers)})
    for name, stream in config.streams.items():
        found[stream_source(config, name)] = _source(
            config, "streams", name, stream.table,
            {"key": stream.key, "timestamp": stream.timestamp, "name": stream.name_column,
             "properties": stream.properties}, loaded_at_field=stream.timestamp)
    return found


def people_source(config: m.ProjectConfig) -> str:
    return f"source.{config.name}.people.{config.people.table.split('.')[-1]}"


def stream_source(config: m.ProjectConfig, stream: str) -> str:
    return f"source.{config.name}.streams.{stream}"


def _source(config: m.ProjectConfig, group: str, name: str, table: str, columns: dict[str, Any],
            loaded_at_field: Optional[str] = None) -> dict[str, Any]:
    parts = table.split(".")
    return {"unique_id": f"source.{config.name}.{group}.{name}", "resource_type": "source",
            "package_name": config.name, "source_name": group, "name": name, "fqn": [config.name, group, name],
            "database": parts[-3] if len(parts) > 2 else None, "schema": parts[-2] if len(parts) > 1 else None,
            "identifier": parts[-1], "relation_name": table, "loaded_at_field": loaded_at_field,
            "original_file_path": "segwarehouse.yml",
            "meta": {"segwarehouse_columns": {k: v for k, v in columns.items() if v not in (None, {})}}}


def seed_nodes(config: m.ProjectConfig, segments: Mapping[str, m.Segment]) -> dict[str, str]:
    """{CSV path: unique_id} of the static segments' CSV files, as dbt seeds (`seed.<project>.<stem>`;
    a stem two CSV files share gets the file's folders too: `seed.<project>.lists__vip`)."""
    paths = list(dict.fromkeys(s.static.csv for s in segments.values() if s.static))
    stems = [Path(p).stem for p in paths]
    return {p: f"seed.{config.name}." + (stem if stems.count(stem) == 1 else
                                        "__".join(Path(p).with_suffix("").parts))
            for p, stem in zip(paths, stems)}


def compiled_files(target: Path, segment: str) -> dict[str, str]:
    """{dialect: path} of the segment's compiled SQL files that exist under target/compiled/."""
    root = Path(target) / "compiled"
    dialects = sorted(d.name for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
    return {d: str(compiled_path(target, d, segment)) for d in dialects
            if compiled_path(target, d, segment).is_file()}


def write_manifest(target: Path, config: m.ProjectConfig, segments: dict[str, m.Segment], command: str,
                   dialect: str = "duckdb") -> Path:
    """manifest.json, dbt's shape: `nodes` (segments, and static segments' CSV files as seeds),
    `sources` (the people and stream tables), each segment's `depends_on.nodes` (what it reads
    directly), `parent_map` and `child_map` over all of them. A segment's `compiled_paths` lists the
    compiled files that exist, one per dialect; `compiled_path` is the one of `dialect` (what this
    command compiled), or null."""
    sources = source_nodes(config)
    seeds = seed_nodes(config, segments)
    nodes: dict[str, dict[str, Any]] = {}
    for path, uid in seeds.items():
        nodes[uid] = {"unique_id": uid, "resource_type": "seed", "package_name": config.name,
                      "name": uid.split(".", 2)[2], "fqn": [config.name, uid.split(".", 2)[2]],
                      "original_file_path": path, "depends_on": {"nodes": []}}
    for name, s in segments.items():
        uid = unique_id(config.name, name)
        compiled = compiled_files(target, name)
        nodes[uid] = {
            "unique_id": uid, "resource_type": "segment", "package_name": config.name, "name": name,
            "fqn": [config.name, *Path(s.file).with_suffix("").parts[1:-1], name],
            "original_file_path": s.file, "line": s.line,
            "database": None, "schema": config.output_schema, "alias": name,
            "relation_name": f"{config.output_schema}.{name}",  # its view, once a run created it
            "config": {"enabled": s.enabled, "materialized": "view", "tags": list(s.tags)},
            "description": s.description, "tags": list(s.tags), "owner": s.owner, "enabled": s.enabled,
            "kind": "static" if s.static else "dynamic", "fields": list(s.fields),
            "splits": {"salt": s.splits.salt, "groups": dict(s.splits.groups)} if s.splits else None,
            "sync": [vars(x) for x in s.sync], "tests": [t.name for t in s.tests],
            "depends_on": {"nodes": _parents(config, s, seeds)}, "definition_hash": s.definition_hash,
            "compiled_path": compiled.get(dialect), "compiled_paths": compiled,
        }
    parent_map = {uid: [] for uid in sources} | {uid: list(node["depends_on"]["nodes"]) for uid, node in nodes.items()}
    child_map: dict[str, list[str]] = {uid: [] for uid in parent_map}
    for uid, parents in parent_map.items():
        for parent in parents:
            child_map.setdefault(parent, []).append(uid)
    payload = {"metadata": metadata("manifest", command), "project": config.name,
               "output_schema": config.output_schema, "nodes": nodes, "sources": sources,
               "parent_map": parent_map, "child_map": child_map}
    path = target / "manifest.json"
    _write(path, payload)
    return path


def _parents(config: m.ProjectConfig, segment: m.Segment, seeds: dict[str, str]) -> list[str]:
    """What a segment reads directly: the people table (every segment selects people), the streams
    its conditions read, its CSV file (a static segment) and the segments it references."""
    parents = [people_source(config)]
    parents += [stream_source(config, s) for s in streams_read(segment.condition)]
    if segment.static:
        parents.append(seeds[segment.static.csv])
    parents += [unique_id(config.name, ref) for ref in segment.depends_on]
    return list(dict.fromkeys(parents))


def write_run_results(target: Path, command: str, results: list[dict[str, Any]], elapsed: float,
                      args: dict[str, Any], success: bool) -> Path:
    payload = {"metadata": metadata("run-results", command), "success": success,
               "elapsed_time": round(elapsed, 3), "args": args, "results": results}
    path = target / "run_results.json"
    _write(path, payload)
    return path
