"""A project as committed at a git revision (`diff --against REF`, `--state REF`), read with git
into a temporary directory: the user's working tree, index and HEAD are never touched.

What is read is what defines segments (SPEC section 11): segwarehouse.yml, segments/, macros/ and
the project's CSV files (static segments' values; the loader checks they exist, so they are read
before the segments are)."""
from __future__ import annotations

import io
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from ..errors import Problem, ValidationError
from .loader import LoadedProject, load_project

DEFINITION = ("segwarehouse.yml", "segments/", "macros/")


@dataclass(frozen=True)
class Revision:
    ref: str       # as the user wrote it
    sha: str       # the full commit sha
    repo: Path     # the repository's top level
    prefix: str    # the project directory inside the repository ("" or "analytics/")

    @property
    def short(self) -> str:
        return self.sha[:12]


def _git(cwd: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=not binary, check=False)
    except FileNotFoundError:
        raise ValidationError("git is not installed (or not on PATH); --against and --state read revisions "
                              "with it") from None


def resolve(project_dir: Path, ref: str) -> Revision:
    """The commit `ref` names in the git repository holding the project; exit 2 when there is none."""
    if not ref or ref.startswith("-") or "\n" in ref:
        raise ValidationError(f"{ref!r} is not a git revision (e.g. origin/main, HEAD~1, a tag or a sha)")
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ValidationError(f"{project_dir} is not inside a git repository, so there is no revision {ref!r} "
                              "to compare with; commit the project to git first")
    found = _git(project_dir, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        hint = " (in CI, fetch the history: actions/checkout with fetch-depth: 0)" if "/" in ref else ""
        raise ValidationError(f"{ref!r} is not a revision of the git repository at {top.stdout.strip()}{hint}")
    prefix = _git(project_dir, "rev-parse", "--show-prefix").stdout.strip()
    return Revision(ref, found.stdout.strip(), Path(top.stdout.strip()), prefix)


def _extract_definition(revision: Revision, into: Path) -> None:
    """segwarehouse.yml, segments/, macros/ and the CSV files of the project at the revision."""
    tree = f"{revision.sha}:{revision.prefix}" if revision.prefix else revision.sha
    archive = _git(revision.repo, "archive", "--format=tar", tree, binary=True)
    if archive.returncode != 0:
        raise ValidationError(f"the project directory {revision.prefix or '.'} does not exist at {revision.ref} "
                              f"({revision.short})")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        members = [t for t in tar.getmembers() if (t.isfile() or t.isdir()) and _is_definition(t.name)]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12
        tar.extractall(into, members=members, **safe)
    if not (into / "segwarehouse.yml").is_file():
        raise ValidationError(f"there is no segwarehouse.yml in {revision.prefix or 'the repository root'} at "
                              f"{revision.ref} ({revision.short}): nothing to compare with")


def _is_definition(name: str) -> bool:
    name = posixpath.normpath(name)
    return (name == DEFINITION[0] or any(name.startswith(d) for d in DEFINITION[1:])
            or name.lower().endswith(".csv"))


@contextmanager
def project_at(project_dir: Path, ref: str, vars: Optional[Mapping[str, Any]] = None,
               environ: Optional[Mapping[str, str]] = None) -> Iterator[tuple[Revision, LoadedProject]]:
    """The project as defined at `ref`, loaded from a temporary directory removed afterwards.
    A definition that does not load at REF is reported as the loader reports it, naming REF."""
    revision = resolve(Path(project_dir).resolve(), ref)
    directory = Path(tempfile.mkdtemp(prefix="segwarehouse-ref-"))
    try:
        _extract_definition(revision, directory)
        try:
            loaded = load_project(directory, vars, environ)
        except ValidationError as e:  # located as git names a file at a revision: REF:path:line
            raise ValidationError([Problem(f"{ref}:{p.file}" if p.file else ref, p.line,
                                           p.message if p.file else f"({revision.short}) {p.message}")
                                   for p in e.problems]) from None
        yield revision, loaded
    finally:
        shutil.rmtree(directory, ignore_errors=True)
