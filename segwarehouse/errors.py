"""One error type for everything the user can fix, with file:line locations and an exit code."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from .yamlfile import line_of

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the user's input."""

    file: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        if not self.file:  # a command-line value or the target: nothing to locate ("--as-of 'x': ...")
            return self.message
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class SegwarehouseError(Exception):
    """Base of every error segwarehouse reports to the user without a traceback."""

    exit_code = EXIT_FAILURE


class ValidationError(SegwarehouseError):
    """Bad usage, configuration or segment definitions: every problem found, all at once."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(None, None, problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RunError(SegwarehouseError):
    """A run could not be carried out (lock held, bad data in the warehouse, ...)."""

    exit_code = EXIT_FAILURE


class Outcome:
    """What a command returns to Python: `ok`, and `raise_for_failures()`, which raises RunError naming
    everything that failed (the CLI's exit code 1), so a failed run cannot pass unnoticed in a script."""

    noun = "segment"

    def failures(self) -> list[str]:
        """One line per failed item: what it is and why."""
        raise NotImplementedError

    @property
    def ok(self) -> bool:
        return not self.failures()

    def raise_for_failures(self):
        """Raise RunError listing the failures; otherwise return self (for chaining)."""
        failed = self.failures()
        if failed:
            raise RunError(f"{len(failed)} {self.noun}(s) failed: " + "; ".join(failed))
        return self


class Problems:
    """Collects problems while parsing so every file's errors are reported in one go."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str | None, line: int | None, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a choice is close to the misspelled word, else ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(raw: Any, allowed: Iterable[str], what: str, problems: Problems, file: str | None) -> list:
    """Report every key of the mapping `raw` outside `allowed`, at its line, with a did-you-mean and the
    allowed keys; `what` says where ("in `people`"; empty at a file's top level). Returns the unknown keys."""
    allowed = tuple(allowed)
    unknown = [key for key in raw if key not in allowed]
    where = f" {what}" if what else ""
    for key in unknown:
        problems.add(file, line_of(raw, key), f"unknown key '{key}'{where}{did_you_mean(str(key), allowed)}; "
                                              f"allowed: {', '.join(allowed)}")
    return unknown
