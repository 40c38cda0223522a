"""Load-time checks of `destinations:` (segwarehouse.yml) and of the segments' `sync:` entries, so a
typo is a FILE:LINE error (exit 2) before anything is sent, never a failure halfway through a sync.

Secrets (each destination class declares which of its settings are secrets, as `secret_settings`;
identifiers a vendor publishes, such as Customer.io's site_id, are not) must be written as
`{{ env_var('NAME') }}`: the check reads the setting's unrendered value on its line. A missing env var is
reported by the renderer as a FILE:LINE error naming the variable."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import Problem, Problems, did_you_mean
from ..yamlfile import line_of
from ..spec import model as m
from .destinations import TYPES, destination_class
from .destinations.base import Destination

FILE = "segwarehouse.yml"


def check(config: m.ProjectConfig, segments: dict[str, m.Segment], problems: Problems) -> None:
    """Both checks, in the shape project.loader takes (`load_project(..., checks=[check])`)."""
    source = (Path(config.root) / FILE).read_text(encoding="utf-8").splitlines()
    check_destinations(config.destinations, source, config.people, problems)
    check_subscriptions(segments, config.destinations, problems)


def _class(kind: str) -> Optional[type[Destination]]:
    try:
        return destination_class(kind)
    except ImportError:  # a type the SPEC names whose module is not part of this build yet
        return None


def check_destinations(raw: Any, source_lines: Sequence[str], people: m.People, problems: Problems) -> None:
    """Every destination: a known type, its required settings, no unknown ones, secrets from env_var()."""
    if not isinstance(raw, dict):
        return
    identifiers = ["key", *(name for name, _ in people.identifiers)]
    for name, settings in raw.items():
        line = line_of(raw, name)
        if not isinstance(settings, dict):
            continue
        kind = settings.get("type")
        if kind not in TYPES:
            problems.add(FILE, line_of(settings, "type") or line,
                         f"destination '{name}': unknown type {kind!r}{did_you_mean(str(kind), TYPES)}; "
                         f"types: {', '.join(TYPES)}")
            continue
        cls = _class(kind)
        if cls is None:
            problems.add(FILE, line_of(settings, "type"), f"destination '{name}': type '{kind}' is not available "
                                                          "in this version of segwarehouse")
            continue
        allowed = (*cls.common_settings, *cls.required_settings, *cls.optional_settings)
        for key in settings:
            if key not in allowed:
                problems.add(FILE, line_of(settings, key),
                             f"destination '{name}': unknown setting '{key}'{did_you_mean(str(key), allowed)}; "
                             f"{kind} takes: {', '.join(a for a in allowed if a != 'type')}")
        for key in cls.required_settings:
            if settings.get(key) in (None, ""):
                problems.add(FILE, line, f"destination '{name}': {kind} needs `{key}`")
        for key in cls.secret_settings:
            key_line = line_of(settings, key)
            if key in settings and key_line and not _from_env_var(_line(source_lines, key_line), key):
                problems.add(FILE, key_line, f"destination '{name}': `{key}` is a secret; write it as "
                                             f"\"{{{{ env_var('SOME_NAME') }}}}\" and export SOME_NAME")
        _check_numbers(name, settings, problems)
        for key, message in cls.check_settings(settings):
            problems.add(FILE, line_of(settings, key) or line, f"destination '{name}': {message}")
        size = settings.get("batch_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= cls.batch_size):
            problems.add(FILE, line_of(settings, "batch_size"), f"destination '{name}': `batch_size` is a whole "
                                                                f"number from 1 to {cls.batch_size} ({kind}'s limit)")
        identifier = settings.get("identifier", cls.default_identifier)
        usable = [i for i in identifiers if cls.identifiers is None or i in cls.identifiers]
        if identifier not in usable:
            where = line_of(settings, "identifier") if "identifier" in settings else line
            hint = "" if identifier in identifiers else " (identifiers come from `people.identifiers`)"
            problems.add(FILE, where, f"destination '{name}': identifier {identifier!r} is not usable by {kind}"
                                      f"{hint}; usable here: {', '.join(usable) or 'none'}")


def _from_env_var(line: str, key: str) -> bool:
    """Whether the unrendered value of `key` on this line is an env_var() template. The value itself is
    read (block or flow style), so a literal key next to another setting's env_var() on the same line,
    or behind a comment, is still caught."""
    pattern = rf"""(?:^|[\s{{,]){re.escape(key)}\s*:\s*("[^"]*"|'[^']*'|[^,}}#]*)"""
    match = re.search(pattern, line)
    return bool(match) and re.search(r"\{\{\s*env_var\(", match.group(1)) is not None


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _check_numbers(name: str, settings: dict, problems: Problems) -> None:
    checks = {"max_removal_ratio": (0.0, 1.0), "timeout": (0.001, 3600.0), "backoff": (0.0, 600.0),
              "max_attempts": (1, 100)}
    for key, (low, high) in checks.items():
        if key not in settings:
            continue
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            problems.add(FILE, line_of(settings, key),
                         f"destination '{name}': `{key}` is a number from {low:g} to {high:g}, got {value!r}")
    floor = settings.get("min_removals")
    if floor is not None and (isinstance(floor, bool) or not isinstance(floor, int) or floor < 0):
        problems.add(FILE, line_of(settings, "min_removals"),
                     f"destination '{name}': `min_removals` is a whole number, 0 or more, got {floor!r}")


def check_subscriptions(segments: dict[str, m.Segment], destinations: dict[str, dict], problems: Problems) -> None:
    """Every `sync:` entry names a declared destination, a list where the destination needs one, and
    only split groups its segment has."""
    for segment in segments.values():
        seen: set[str] = set()
        for sub in segment.sync:
            where = sub.line or segment.line
            _check_splits(segment, sub, problems)
            if sub.destination in seen:
                # the sync cursor is kept per (destination, segment): a second entry would never send
                problems.add(segment.file, where, f"segment '{segment.name}' syncs to '{sub.destination}' twice; "
                                                  "one entry per destination (for a second list, e.g. one per "
                                                  "split group, declare a second destination with the same "
                                                  "settings)")
            seen.add(sub.destination)
            settings = destinations.get(sub.destination)
            if settings is None:
                declared = f"; declared: {', '.join(destinations)}" if destinations else \
                    "; declare it under `destinations:` in segwarehouse.yml"
                problems.add(segment.file, where, f"segment '{segment.name}' syncs to undeclared destination "
                                                  f"'{sub.destination}'{did_you_mean(sub.destination, destinations)}"
                                                  f"{declared}")
                continue
            cls = _class(str(settings.get("type"))) if settings.get("type") in TYPES else None
            if cls is None:
                continue
            if sub.list is None and cls.list_required(sub.on_enter, sub.on_exit):
                problems.add(segment.file, where, f"segment '{segment.name}': the sync to '{sub.destination}' "
                                                  f"needs `list:` (the {cls.type} list to keep in step)")
            if sub.on_enter == "event" or sub.on_exit == "event":
                if "event" not in cls.actions:
                    problems.add(segment.file, where, f"segment '{segment.name}': {cls.type} cannot send events; "
                                                      "use on_enter: add and on_exit: remove or ignore")


def subscription_warnings(segments: dict[str, m.Segment], destinations: dict[str, dict]) -> list[Problem]:
    """What each destination type warns about the lists the segments keep on it (e.g. Braze's cap on
    the elements of the membership array), at the destination's line in segwarehouse.yml."""
    kept: dict[str, list[str]] = {}
    for segment in segments.values():
        for sub in segment.sync:
            if sub.on_enter == "add" and sub.destination in destinations:
                kept.setdefault(sub.destination, []).append(sub.list or segment.name)
    warnings = []
    for name, lists in kept.items():
        settings = destinations[name]
        cls = _class(str(settings.get("type"))) if settings.get("type") in TYPES else None
        if cls is None:
            continue
        for message in cls.subscription_warnings(name, settings, sorted(set(lists))):
            warnings.append(Problem(FILE, line_of(destinations, name), message))
    return warnings


def _check_splits(segment: m.Segment, sub: m.SyncSpec, problems: Problems) -> None:
    if sub.splits is None:
        return
    where = sub.lines.get("splits") or sub.line or segment.line
    if segment.splits is None:
        problems.add(segment.file, where, f"segment '{segment.name}': the sync to '{sub.destination}' has "
                                          "`splits`, but the segment has none; add `splits:` to the segment "
                                          "or remove it from the `sync:` entry")
        return
    groups = [group for group, _ in segment.splits.groups]
    for group in sub.splits:
        if group not in groups:
            problems.add(segment.file, where, f"segment '{segment.name}': unknown split group '{group}' in the "
                                              f"sync to '{sub.destination}'{did_you_mean(group, groups)}; "
                                              f"groups: {', '.join(groups)}")
