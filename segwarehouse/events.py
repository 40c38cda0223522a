"""Progress and log events, emitted by the API and rendered by the CLI (text, JSON lines or nothing)."""
from __future__ import annotations

from typing import Any, Protocol


class Reporter(Protocol):
    def event(self, name: str, **data: Any) -> None: ...


class Silent:
    """The default for the Python API: events are dropped."""

    def event(self, name: str, **data: Any) -> None:
        pass
