"""The project file, segwarehouse.yml (SPEC section 2)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlglot

from ..errors import Problems, check_keys, did_you_mean
from ..spec import model as m
from ..spec.conditions import RESERVED_NAMES
from ..spec.segments import NAME
from ..yamlfile import line_of

PROJECT_FILE = "segwarehouse.yml"
PROJECT_KEYS = ("name", "profile", "source_dialect", "output_schema", "people", "streams", "time_zone", "vars",
                "destinations", "audience_views")
STREAM_CONFIG_KEYS = ("table", "key", "timestamp", "name", "properties")


def parse_project(raw: Any, root: Path, problems: Problems) -> Optional[m.ProjectConfig]:
    file = PROJECT_FILE
    if not isinstance(raw, dict):
        problems.add(file, 1, "the project file must be a mapping with at least `name` and `people`")
        return None
    check_keys(raw, PROJECT_KEYS, "", problems, file)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.add(file, line_of(raw, "name"), f"`name` is required and must match [a-z][a-z0-9_]*, got {name!r}")
    dialect = raw.get("source_dialect", "duckdb")
    try:
        sqlglot.Dialect.get_or_raise(dialect)
    except (ValueError, TypeError):
        problems.add(file, line_of(raw, "source_dialect"), f"unknown `source_dialect` {dialect!r}")
    output_schema = raw.get("output_schema", "segwarehouse")
    if not isinstance(output_schema, str) or not output_schema:
        problems.add(file, line_of(raw, "output_schema"), "`output_schema` is a schema name")
    time_zone = _time_zone(raw, problems)
    people = _people(raw.get("people"), raw, problems)
    streams = _streams(raw.get("streams") or {}, raw, problems)
    vars_ = raw.get("vars") or {}
    if not isinstance(vars_, dict):
        problems.add(file, line_of(raw, "vars"), "`vars` is a mapping of names to default values")
        vars_ = {}
    destinations = raw.get("destinations") or {}
    if not isinstance(destinations, dict) or not all(isinstance(v, dict) for v in destinations.values()):
        problems.add(file, line_of(raw, "destinations"), "`destinations` maps names to {type: ..., ...}")
        destinations = {}
    audience_views = _audience_views(raw, problems)
    if problems or people is None:
        return None
    return m.ProjectConfig(
        name=name, root=str(root), profile=str(raw.get("profile") or name), source_dialect=dialect,
        output_schema=output_schema, people=people, streams=streams, vars=dict(vars_),
        destinations=destinations, time_zone=time_zone, audience_views=audience_views)  # a YDict: names and settings keep their lines for sync.config


def _people(raw: Any, parent: dict, problems: Problems) -> Optional[m.People]:
    line = line_of(parent, "people")
    if not isinstance(raw, dict) or not isinstance(raw.get("table"), str) or not isinstance(raw.get("key"), str):
        problems.add(PROJECT_FILE, line, "`people` needs {table: [database.]schema.table, key: COLUMN}")
        return None
    check_keys(raw, ("table", "key", "identifiers"), "in `people`", problems, PROJECT_FILE)
    identifiers = raw.get("identifiers") or {}
    if not isinstance(identifiers, dict) or not all(isinstance(v, str) for v in identifiers.values()):
        problems.add(PROJECT_FILE, line_of(raw, "identifiers"), "`identifiers` maps names to people columns")
        return None
    if "key" in identifiers:
        problems.add(PROJECT_FILE, line_of(identifiers, "key"), "'key' is reserved for the people key")
    return m.People(raw["table"], raw["key"], tuple((str(k), v) for k, v in identifiers.items()))


SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def _audience_views(raw: dict, problems: Problems) -> Optional[m.AudienceViews]:
    """`audience_views`: true (beside the people table), {schema: [database.]schema}, or false (default)."""
    value = raw.get("audience_views", False)
    line = line_of(raw, "audience_views")
    if value is False or value is None:
        return None
    if value is True:
        return m.AudienceViews()
    if not isinstance(value, dict):
        problems.add(PROJECT_FILE, line, f"`audience_views` is true, false or {{schema: [database.]schema}}; "
                                         f"got {value!r}")
        return None
    check_keys(value, ("schema",), "in `audience_views`", problems, PROJECT_FILE)
    schema = value.get("schema")
    if schema is not None and not (isinstance(schema, str) and SCHEMA_NAME.match(schema)):
        problems.add(PROJECT_FILE, line_of(value, "schema") or line,
                     f"`audience_views.schema` is a schema name, [database.]schema, e.g. marts; got {schema!r}")
        return None
    return m.AudienceViews(schema)


def _streams(raw: Any, parent: dict, problems: Problems) -> dict[str, m.Stream]:
    if not isinstance(raw, dict):
        problems.add(PROJECT_FILE, line_of(parent, "streams"), "`streams` maps stream names to tables")
        return {}
    streams = {}
    for name, spec in raw.items():
        line = line_of(raw, name)
        if not isinstance(name, str) or not NAME.match(name):
            problems.add(PROJECT_FILE, line, f"stream name {name!r} must match [a-z][a-z0-9_]*")
            continue
        if name in RESERVED_NAMES:
            problems.add(PROJECT_FILE, line, f"stream name '{name}' collides with a reserved condition key")
            continue
        if not isinstance(spec, dict) or not all(isinstance(spec.get(k), str) for k in ("table", "key", "timestamp")):
            problems.add(PROJECT_FILE, line, f"stream '{name}' needs {{table, key, timestamp}} and optionally "
                                             "{name, properties}")
            continue
        check_keys(spec, STREAM_CONFIG_KEYS, f"in stream '{name}'", problems, PROJECT_FILE)
        streams[name] = m.Stream(name, spec["table"], spec["key"], spec["timestamp"], spec.get("name"),
                                 spec.get("properties"))
    return streams


def _time_zone(raw: dict, problems: Problems) -> str:
    """`time_zone`: an IANA zone name (Europe/Berlin), checked against the zone database; default UTC."""
    zone = raw.get("time_zone", "UTC")
    if isinstance(zone, str) and zone.strip() == zone and zone:
        try:
            ZoneInfo(zone)
            return zone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    close = did_you_mean(zone, _zone_names()) if isinstance(zone, str) else ""
    problems.add(PROJECT_FILE, line_of(raw, "time_zone"),
                 f"unknown `time_zone` {zone!r}{close}; it is an IANA zone name such as UTC, Europe/Berlin or "
                 "America/New_York")
    return "UTC"


def _zone_names() -> set[str]:
    try:
        return available_timezones()
    except OSError:  # no zone database to list: no suggestion
        return set()
