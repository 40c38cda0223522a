"""dbt-style selectors: a name, a glob, tag:NAME, path:DIR, state:modified, +NAME (with what it
references), NAME+ (with the segments that reference it, transitively); several separated by
spaces are a union."""
from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Iterable, Optional

from .errors import ValidationError, did_you_mean
from .spec import model as m
from .spec.graph import closure, dependents_closure

STATE_METHODS = ("modified",)


def _match(segments: dict[str, m.Segment], term: str, state: Optional[set[str]]) -> set[str]:
    with_parents, with_children = term.startswith("+"), term.endswith("+")
    term = term.strip("+")
    if term.startswith("tag:"):
        tag = term[4:]
        found = {n for n, s in segments.items() if tag in s.tags}
    elif term.startswith("path:"):
        prefix = PurePosixPath(term[5:].rstrip("/"))
        found = {n for n, s in segments.items()
                 if PurePosixPath(s.file) == prefix or prefix in PurePosixPath(s.file).parents}
    elif term.startswith("state:"):
        found = _state(term, state) & segments.keys()
    else:
        found = set(fnmatch.filter(segments, term))
    if not found and not term.startswith("state:"):  # nothing modified is an answer, not a mistake
        hint = did_you_mean(term, segments) if not term.startswith(("tag:", "path:")) else ""
        raise ValidationError(f"selector '{term}' matches no segment{hint}")
    if with_children:
        found = set(dependents_closure(segments, found))
    return set(closure(segments, found)) if with_parents else found


def _state(term: str, state: Optional[set[str]]) -> set[str]:
    method = term[len("state:"):]
    if method not in STATE_METHODS:
        raise ValidationError(f"selector '{term}': the state method is one of {', '.join(STATE_METHODS)}"
                              f"{did_you_mean(method, STATE_METHODS)}")
    if state is None:
        raise ValidationError(f"selector '{term}' needs --state REF, the git revision to compare with "
                              "(e.g. --state origin/main)")
    return state


def uses_state(selectors: Optional[Iterable[str]]) -> bool:
    """Whether any selector needs the state of a revision (so it is computed only then)."""
    return any(t.strip("+").startswith("state:") for s in (selectors or []) for t in s.split())


def select(segments: dict[str, m.Segment], selectors: Optional[Iterable[str]] = None,
           exclude: Optional[Iterable[str]] = None, include_disabled: bool = False,
           state: Optional[set[str]] = None) -> list[str]:
    """Selected segment names in dependency order (segments is already in that order). `state`:
    the segments `state:modified` stands for (computed against --state REF)."""
    terms = [t for s in (selectors or []) for t in s.split()]
    chosen = set(segments) if not terms else set().union(*(_match(segments, t, state) for t in terms))
    for term in (t for s in (exclude or []) for t in s.split()):
        chosen -= _match(segments, term, state)
    return [n for n in segments if n in chosen and (include_disabled or segments[n].enabled)]
