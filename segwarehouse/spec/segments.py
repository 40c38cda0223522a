"""Parsing segment mappings (SPEC sections 3, 5, 6, 8, 10) into the model."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Optional

from ..errors import check_keys, did_you_mean
from ..yamlfile import line_of
from . import model as m
from .conditions import Context, parse_condition
from .values import to_utc

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A name becomes part of identifiers: _sw_static_<name> fits PostgreSQL's 63-byte limit, and
# target/compiled/<dialect>/<name>.sql every file system's.
MAX_NAME = 52
MAX_NAMES = 1_000  # fields (people columns carried along) and tags: each field is a column of the SQL
SEGMENT_KEYS = ("name", "description", "tags", "owner", "enabled", "where", "static", "fields",
                "splits", "sync", "tests")
SYNC_KEYS = ("destination", "list", "on_enter", "on_exit", "splits", "min_removals", "max_removal_ratio")
TEST_KEYS = ("name", "as_of", "given", "expect")


def parse_segment(raw: Any, ctx: Context, people: m.People, line: Optional[int]) -> Optional[m.Segment]:
    if not isinstance(raw, dict):
        ctx.error(line, "a segment is a mapping with at least `name` and `where` (or `static`)")
        return None
    line = line_of(raw) or line
    problems_before = len(ctx.problems.items)
    refs_before = len(ctx.references)
    check_keys(raw, SEGMENT_KEYS, "in segment", ctx.problems, ctx.file)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        ctx.error(line_of(raw, "name") if "name" in raw else line,
                  f"segment `name` is required and must match [a-z][a-z0-9_]*, got {name!r}")
        name = None
    elif len(name) > MAX_NAME:
        ctx.error(line_of(raw, "name"), f"segment name '{name[:20]}...' has {len(name)} characters; at most "
                                        f"{MAX_NAME} (names become table and file names)")
        name = None
    elif name.startswith("segment_"):
        ctx.error(line_of(raw, "name"), f"segment name '{name}' must not start with 'segment_' "
                                        "(reserved for the output tables)")
    has_where, has_static = "where" in raw, "static" in raw
    condition = static = None
    if has_where == has_static:
        ctx.error(line, f"segment '{name}' needs exactly one of `where` (dynamic) or `static`")
    elif has_where:
        condition = parse_condition(raw["where"], ctx, line_of(raw, "where"))
    else:
        static = _static(raw["static"], ctx, people, line_of(raw, "static"))
        if static and name:
            condition = m.InStatic(name, people.column_for(static.match_on), line=line_of(raw, "static"))
    description = _text(raw, "description", ctx)
    owner = _text(raw, "owner", ctx) or None
    tags = _names(raw, "tags", ctx)
    fields = _names(raw, "fields", ctx)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        ctx.error(line_of(raw, "enabled"), "`enabled` is true or false")
    splits = _splits(raw.get("splits"), ctx, name, line_of(raw, "splits")) if "splits" in raw else None
    sync = _sync(raw.get("sync"), ctx, line_of(raw, "sync")) if "sync" in raw else ()
    tests = _tests(raw.get("tests"), ctx, line_of(raw, "tests")) if "tests" in raw else []
    if len(ctx.problems.items) > problems_before or name is None or condition is None:
        return None
    depends_on = tuple(dict.fromkeys(ref for ref, _ in ctx.references[refs_before:]))
    return m.Segment(
        name=name, file=ctx.file, line=line, condition=condition, description=description, tags=tags,
        owner=owner, enabled=enabled, static=static, fields=fields, splits=splits, sync=sync, tests=tests,
        definition_hash=definition_hash(raw), depends_on=depends_on, name_line=line_of(raw, "name"))


def definition_hash(raw: Any) -> str:
    """A stable hash of the rendered definition (tests excluded: they don't change who is a member)."""
    body = {k: v for k, v in raw.items() if k != "tests"}
    try:
        text = json.dumps(body, sort_keys=True, default=str)
    except TypeError:  # keys of mixed types ({1: x, a: y}) don't sort: sort them by their text
        text = json.dumps(_text_keys(body), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    return value


def _text(raw: dict, key: str, ctx: Context) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        ctx.error(line_of(raw, key), f"`{key}` is a string")
        return ""
    return value


def _names(raw: dict, key: str, ctx: Context) -> tuple[str, ...]:
    value = raw.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        ctx.error(line_of(raw, key), f"`{key}` is a list of names, e.g. [a, b]")
        return ()
    if len(value) > MAX_NAMES:
        ctx.error(line_of(raw, key), f"`{key}` lists {len(value):,} names; at most {MAX_NAMES:,}")
        return ()
    return tuple(value)


def _static(raw: Any, ctx: Context, people: m.People, line: Optional[int]) -> Optional[m.Static]:
    if not isinstance(raw, dict):
        ctx.error(line, "`static` takes {csv: PATH, column: NAME, match_on: key|IDENTIFIER}")
        return None
    check_keys(raw, ("csv", "column", "match_on"), "in `static`", ctx.problems, ctx.file)
    csv, column, match_on = raw.get("csv"), raw.get("column"), raw.get("match_on", "key")
    ok = True
    if not isinstance(csv, str) or not csv:
        ctx.error(line, "`static.csv` is the path of a CSV file, relative to the project")
        ok = False
    elif ctx.root is not None and not (ctx.root / csv).is_file():
        ctx.error(line_of(raw, "csv"), f"no CSV file at {csv} (paths are relative to the project)")
        ok = False
    if not isinstance(column, str) or not column:
        ctx.error(line, "`static.column` names the CSV column to read")
        ok = False
    identifiers = dict(people.identifiers)
    if not isinstance(match_on, str) or (match_on != "key" and match_on not in identifiers):
        ctx.error(line_of(raw, "match_on"), f"`match_on` is 'key' or a name from people.identifiers "
                  f"({', '.join(identifiers) or 'none declared'}), got {match_on!r}"
                  f"{did_you_mean(match_on, ['key', *identifiers]) if isinstance(match_on, str) else ''}")
        ok = False
    return m.Static(csv, column, match_on) if ok else None


def _splits(raw: Any, ctx: Context, name: Optional[str], line: Optional[int]) -> Optional[m.Splits]:
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), dict) or not raw["groups"]:
        ctx.error(line, "`splits` takes {salt: TEXT (optional), groups: {name: percent, ...}}")
        return None
    check_keys(raw, ("salt", "groups"), "in `splits`", ctx.problems, ctx.file)
    groups = raw["groups"]
    bad = [g for g, p in groups.items() if isinstance(p, bool) or not isinstance(p, int) or p < 0]
    if bad:
        ctx.error(line_of(groups, bad[0]), f"split group '{bad[0]}' takes a whole percent (0-100)")
        return None
    if sum(groups.values()) != 100:
        ctx.error(line_of(raw, "groups"), f"split percents must sum to 100, they sum to {sum(groups.values())}")
        return None
    salt = raw.get("salt", name)
    if not isinstance(salt, (str, int)):
        ctx.error(line_of(raw, "salt"), "`salt` is a string")
        return None
    return m.Splits(str(salt), tuple((str(g), p) for g, p in groups.items()))


def _sync(raw: Any, ctx: Context, line: Optional[int]) -> tuple[m.SyncSpec, ...]:
    if not isinstance(raw, list):
        ctx.error(line, "`sync` is a list of {destination, list, on_enter, on_exit, splits}")
        return ()
    result = []
    for i, item in enumerate(raw):
        item_line = line_of(raw, i)
        if not isinstance(item, dict) or not isinstance(item.get("destination"), str):
            ctx.error(item_line, "each `sync` entry needs `destination`")
            continue
        check_keys(item, SYNC_KEYS, "in `sync`", ctx.problems, ctx.file)
        on_enter, on_exit = item.get("on_enter", "add"), item.get("on_exit", "remove")
        if on_enter not in ("add", "event"):
            ctx.error(line_of(item, "on_enter"), "`on_enter` is add or event")
        if on_exit not in ("remove", "event", "ignore"):
            ctx.error(line_of(item, "on_exit"), "`on_exit` is remove, event or ignore")
        lst = item.get("list")
        splits = item.get("splits")
        if splits is not None and (not isinstance(splits, list) or not splits
                                   or not all(isinstance(g, str) for g in splits)):
            ctx.error(line_of(item, "splits"), "`splits` is a list of split group names, e.g. [variant_a]")
            splits = None
        floor = item.get("min_removals")
        if floor is not None and (isinstance(floor, bool) or not isinstance(floor, int) or floor < 0):
            ctx.error(line_of(item, "min_removals"), f"`min_removals` is a whole number, 0 or more, got {floor!r}")
            floor = None
        ratio = item.get("max_removal_ratio")
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                                  or not 0 <= ratio <= 1):
            ctx.error(line_of(item, "max_removal_ratio"), f"`max_removal_ratio` is a number from 0 to 1, got {ratio!r}")
            ratio = None
        result.append(m.SyncSpec(item["destination"], None if lst is None else str(lst), on_enter, on_exit,
                                 item_line, None if splits is None else tuple(splits), floor,
                                 None if ratio is None else float(ratio),
                                 {key: line_of(item, key) or item_line for key in item}))
    return tuple(result)


def _tests(raw: Any, ctx: Context, line: Optional[int]) -> list[m.SegmentTest]:
    if not isinstance(raw, list):
        ctx.error(line, "`tests` is a list of {name, as_of, given, expect}")
        return []
    tests = []
    for i, item in enumerate(raw):
        item_line = line_of(raw, i)
        if not isinstance(item, dict):
            ctx.error(item_line, "a test is a mapping {name, as_of, given, expect}")
            continue
        check_keys(item, TEST_KEYS, "in a test", ctx.problems, ctx.file)
        name = item.get("name", f"test_{i + 1}")
        as_of = to_utc(item.get("as_of"))
        if as_of is None:
            ctx.error(line_of(item, "as_of") if "as_of" in item else item_line,
                      "a test needs `as_of`, an ISO-8601 date/time such as 2026-11-01T00:00:00Z")
            continue
        given = item.get("given") or {}
        if not isinstance(given, dict) or not all(isinstance(v, list) and all(isinstance(r, dict) for r in v)
                                                  for v in given.values()):
            ctx.error(line_of(item, "given"), "`given` maps `people` or a stream name to a list of rows")
            continue
        for table in given:
            if table != "people" and table not in ctx.streams:
                ctx.error(line_of(given, table), f"`given` names '{table}', which is neither `people` nor a "
                          f"stream{did_you_mean(table, ['people', *ctx.streams])}")
        expect = item.get("expect")
        if not isinstance(expect, list):
            ctx.error(line_of(item, "expect") if "expect" in item else item_line,
                      "`expect` is the list of person keys expected as members, e.g. [1, 3]")
            continue
        tests.append(m.SegmentTest(str(name), as_of, {k: list(v) for k, v in given.items()}, list(expect),
                                   item_line))
    return tests
