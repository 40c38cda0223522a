"""Ctrl-C and SIGTERM (SPEC 11): an interrupted command stops its queries, writes nothing, says so in
one line and exits 130.

The CLI installs one handler for both signals, so SIGTERM takes the same path as Ctrl-C. The first
signal marks the process interrupted, asks the open engine connections to cancel their running
query, and raises `Interrupted` wherever the main thread is, unless it is committing or rolling
back (`shielded`): that finishes first. Later signals only mark it again, so the rollback and
closing under way finish without a traceback.

`Interrupted` is a KeyboardInterrupt, so the `except Exception` around a segment, a scan or a
batch cannot take it for an ordinary failure (no error row, no "segment failed"); psycopg also
cancels the server's query when one reaches its wait loop. Drivers do not always let it through
(DuckDB turns it into RuntimeError('Query interrupted'), its own cancel into InterruptException):
`engine_call` turns whatever a driver raises once an interrupt was requested into `Interrupted`,
and refuses to start another query; `Adapter.transaction` never commits after one."""
from __future__ import annotations

import contextlib
import signal
import sys
from typing import Callable, Iterator

EXIT_INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The command was interrupted (SIGINT or SIGTERM); what it was doing is rolled back."""


class _State:
    def __init__(self) -> None:
        self.requested = False   # a signal arrived
        self.shield = 0          # > 0 while committing or rolling back: do not raise there
        self.final = False       # the command's own commit is done: it finishes normally
        self.late = False        # a signal arrived after that commit
        self.commits = 0         # transactions committed by this process
        self.final_commit = False  # the first commit ends the command's writes (`run`)
        self.committed: Callable[[int], str] | None = None
        self.cancellers: dict[int, Callable[[], None]] = {}


_state = _State()


def install(final_commit: bool = False, committed: Callable[[int], str] | None = None) -> None:
    """SIGINT and SIGTERM raise `Interrupted` from now on, for a command starting afresh.
    final_commit: the command writes in one transaction (`run`); once it committed, a signal no
    longer stops it (it completes). committed: what n earlier commits wrote, in words, for the line
    of a command interrupted after some (`sync`: n subscriptions)."""
    global _state
    _state = _State()
    _state.final_commit, _state.committed = final_commit, committed
    for number in SIGNALS:
        try:
            signal.signal(number, _on_signal)
        except ValueError:  # not the main thread (the CLI invoked from a thread): signals stay as they are
            return


def ignore() -> None:
    """The process is exiting with its command's result: signals are ignored from now on (Python
    restores the default handlers as it finalizes, which would end it with -SIGTERM instead)."""
    for number in SIGNALS:
        with contextlib.suppress(ValueError):
            signal.signal(number, signal.SIG_IGN)


def _on_signal(number: int, frame) -> None:
    if _state.final:
        _state.late = True
        return
    first = not _state.requested
    _state.requested = True
    if not first or _state.shield:
        return  # cleanup is under way, or a commit/rollback must finish: it is checked right after
    for cancel in list(_state.cancellers.values()):
        with contextlib.suppress(Exception):  # a connection closing meanwhile has nothing to cancel
            cancel()
    raise Interrupted()


def requested() -> bool:
    return _state.requested


def late() -> bool:
    """A signal arrived after the command's own commit: it completed anyway."""
    return _state.late


def caused(error: BaseException) -> bool:
    """Whether an error escaping a command is (a consequence of) an interrupt."""
    if isinstance(error, KeyboardInterrupt):
        _state.requested = True  # e.g. the Snowflake connector's own SIGINT handler raised it
    return _state.requested and not _state.final


def check() -> None:
    """Refuse new work once an interrupt was requested (a driver may have swallowed the signal)."""
    if _state.requested and not _state.final and not _state.shield:
        raise Interrupted()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A commit or rollback runs to its end; a signal meanwhile is only recorded."""
    _state.shield += 1
    try:
        yield
    finally:
        _state.shield -= 1


@contextlib.contextmanager
def committing() -> Iterator[None]:
    """Around a COMMIT: refused once an interrupt was requested, never interrupted once begun."""
    _state.shield += 1
    try:
        if _state.requested and not _state.final:
            raise Interrupted()
        yield
        _state.commits += 1
        if _state.final_commit:
            _state.final = True  # set before the shield drops: no gap for a signal to fall into
    finally:
        _state.shield -= 1


@contextlib.contextmanager
def engine_call() -> Iterator[None]:
    """Around one driver call of the main connection: once an interrupt was requested, whatever
    the driver raises (its cancel error, DuckDB's RuntimeError, a KeyboardInterrupt of its own)
    is `Interrupted`."""
    check()
    try:
        yield
    except (GeneratorExit, Interrupted):
        raise
    except BaseException as error:
        if caused(error):
            raise Interrupted() from error
        raise


def watch(key: object, cancel: Callable[[], None]) -> None:
    """`cancel` is called at the first signal: it stops `key`'s running query (from any thread)."""
    _state.cancellers[id(key)] = cancel


def unwatch(key: object) -> None:
    _state.cancellers.pop(id(key), None)


def message() -> str:
    """The one line an interrupted command prints."""
    if _state.commits:
        what = _state.committed(_state.commits) if _state.committed else f"{_state.commits} transaction(s)"
        return f"Interrupted: nothing more was written ({what} committed before the interrupt stay written)."
    return "Interrupted: nothing was written."


def exit_now(line: str | None = None) -> None:
    """Print the line (the default one if None, none if "") and end the process with 130 at once: the engines already rolled back and
    closed; threads still waiting on a destination's reply must not hold the exit up."""
    import os

    if line != "":
        with contextlib.suppress(Exception):
            print(line or message(), file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)
