"""dbt-style selectors: a name, a glob, tag:NAME, path:DIR, +NAME (with what it references);
several separated by spaces are a union."""
from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Iterable, Optional

from .errors import ValidationError, did_you_mean
from .spec import model as m
from .spec.graph import closure


def _match(segments: dict[str, m.Segment], term: str) -> set[str]:
    with_parents = term.startswith("+")
    term = term.lstrip("+")
    if term.startswith("tag:"):
        tag = term[4:]
        found = {n for n, s in segments.items() if tag in s.tags}
    elif term.startswith("path:"):
        prefix = PurePosixPath(term[5:].rstrip("/"))
        found = {n for n, s in segments.items()
                 if PurePosixPath(s.file) == prefix or prefix in PurePosixPath(s.file).parents}
    else:
        found = set(fnmatch.filter(segments, term))
    if not found:
        hint = did_you_mean(term, segments) if not term.startswith(("tag:", "path:")) else ""
        raise ValidationError(f"selector '{term}' matches no segment{hint}")
    return set(closure(segments, found)) if with_parents else found


def select(segments: dict[str, m.Segment], selectors: Optional[Iterable[str]] = None,
           exclude: Optional[Iterable[str]] = None, include_disabled: bool = False) -> list[str]:
    """Selected segment names in dependency order (segments is already in that order)."""
    terms = [t for s in (selectors or []) for t in s.split()]
    chosen = set(segments) if not terms else set().union(*(_match(segments, t) for t in terms))
    for term in (t for s in (exclude or []) for t in s.split()):
        chosen -= _match(segments, term)
    return [n for n in segments if n in chosen and (include_disabled or segments[n].enabled)]
