"""The sync engine: for each (segment, destination) subscription, stream the net changes since the
cursor out of the warehouse, send them in batches, and advance the cursor once every change was
acknowledged or recorded as rejected (SPEC section 8).

    pending query (changes.py) -> rows streamed in warehouse batches -> Change -> action (on_enter/on_exit)
    -> batches of the destination's batch_size -> a few batches in flight (the rate limit holds across them)
    -> a rejected batch is split in halves until the bad records are isolated
    -> all acknowledged: rejections and cursor written in one transaction

A GaveUp (the destination could not be reached, or refused our credentials) stops that subscription
without moving its cursor: the next sync sends the same changes again, which destinations absorb
(every send is idempotent). Memory is bounded by the warehouse fetch size and the batches in flight."""
from __future__ import annotations

import contextlib
import gc
import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from sqlglot import exp

from .. import interrupts
from ..adapters.base import Adapter
from ..events import Reporter, Silent
from ..materialize import tables
from ..materialize.runner import utc_now
from ..materialize.tables import REJECTIONS, SYNC_STATE
from ..project.loader import LoadedProject
from . import changes as q
from .destinations import destination_for
from .destinations.base import Destination
from .destinations.replies import UnknownList
from .http import GaveUp
from .records import ADD, EVENT, REMOVE, Change, Rejected, Subscription

DEFAULT_MAX_REMOVAL_RATIO = 0.5
# The guard's floor: removing this many members or fewer never stops a sync, whatever the ratio. A
# short-window segment (a 3-day trial) turns a small list over completely between two syncs, and ten
# people wrongly removed are a nuisance, not an incident; a broken upstream table empties lists of
# hundreds or thousands, which stay guarded. Settable per destination and per `sync:` entry.
DEFAULT_MIN_REMOVALS = 10
SAMPLE = 5
PROGRESS_SECONDS = 0.5
FETCH = 10_000  # rows per fetch from the warehouse (bounded memory)


@dataclass
class SyncResult:
    segment: str
    destination: str
    status: str = "success"  # success | error | dry-run
    through_run_id: Optional[str] = None
    pending: dict[str, int] = field(default_factory=dict)  # action -> count
    sent: int = 0            # acknowledged by the destination
    rejected: int = 0        # recorded in segment_sync_rejections
    retried: int = 0         # requests sent again after a fault
    unconfirmed: int = 0     # sent, but the vendor may have ignored them silently (Destination.unconfirmed)
    seconds: float = 0.0
    error: Optional[str] = None
    sample: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # dry run: a few records per action

    @property
    def ok(self) -> bool:
        return self.status != "error"


class Stopped(Exception):
    """The subscription stops here (guard, unreachable destination); the message says why."""


def action_for(change: str, subscription: Subscription) -> Optional[str]:
    """What the destination is asked to do for a net change (None: nothing, e.g. on_exit: ignore)."""
    if change == "entered":
        return EVENT if subscription.on_enter == "event" else ADD
    if change == "updated":
        return ADD  # upsert the fields; membership is unchanged
    return {"remove": REMOVE, "event": EVENT, "ignore": None}[subscription.on_exit]


class SyncEngine:
    def __init__(self, project: LoadedProject, adapter: Adapter, reporter: Optional[Reporter] = None, *,
                 dry_run: bool = False, full: bool = False, allow_mass_removal: bool = False):
        self.project = project
        self.config = project.config
        self.adapter = adapter
        self.reporter = reporter or Silent()
        self.dry_run, self.full, self.allow_mass_removal = dry_run, full, allow_mass_removal
        self.destinations: dict[str, Destination] = {}

    # --- plan ----------------------------------------------------------------------------------
    def subscriptions(self, segments: Sequence[str], destination: Optional[str] = None) -> list[Subscription]:
        subs = []
        for name in segments:
            for spec in self.project.segments[name].sync:
                if destination is None or spec.destination == destination:
                    subs.append(Subscription(name, spec.destination, spec.list, spec.on_enter, spec.on_exit,
                                             spec.splits, spec.min_removals, spec.max_removal_ratio))
        return subs

    def destination(self, name: str) -> Destination:
        """One client per destination, shared by its subscriptions: one rate limit per vendor account."""
        if name not in self.destinations:
            self.destinations[name] = destination_for(name, self.config.destinations[name])
            self.destinations[name].root = self.project.root
        return self.destinations[name]

    def run(self, segments: Sequence[str], destination: Optional[str] = None) -> list[SyncResult]:
        subs = self.subscriptions(segments, destination)
        if not self.dry_run and subs:
            tables.ensure(self.adapter, self.config)
        self.reporter.event("sync_started", subscriptions=len(subs), dry_run=self.dry_run, full=self.full)
        results = []
        try:
            for sub in subs:
                results.append(self.sync_one(sub))
        finally:
            for d in self.destinations.values():
                d.close()
        self.reporter.event("sync_finished", success=all(r.ok for r in results))
        return results

    # --- one subscription ----------------------------------------------------------------------
    def sync_one(self, sub: Subscription) -> SyncResult:
        started = time.perf_counter()
        result = SyncResult(sub.segment, sub.destination)
        self.reporter.event("subscription_started", segment=sub.segment, destination=sub.destination)
        try:
            self._sync(sub, result)
        except Stopped as e:
            result.status, result.error = "error", str(e)
        result.seconds = time.perf_counter() - started
        self.reporter.event("subscription_finished", segment=sub.segment, destination=sub.destination,
                            status=result.status, sent=result.sent, rejected=result.rejected,
                            retried=result.retried, unconfirmed=result.unconfirmed,
                            pending=result.pending, error=result.error,
                            through_run_id=result.through_run_id, seconds=round(result.seconds, 3))
        return result

    def _exists(self, table: str) -> bool:
        return self.adapter.table_exists(tables.output_table(self.config.output_schema, table))

    def _scalar(self, query: exp.Expression) -> Any:
        rows = self.adapter.execute(query)
        return rows[0][0] if rows else None

    def _sync(self, sub: Subscription, result: SyncResult) -> None:
        dest = self.destination(sub.destination)
        if not self._exists(SYNC_STATE):
            return  # nothing ever ran on this target (dry run: tables not created)
        through = self._scalar(q.latest_run(self.config, sub.segment))
        if through is None:
            return  # the segment has never run: nothing to send
        result.through_run_id = through
        cursor = self._scalar(q.read_cursor(self.config, sub.destination, sub.segment))
        with_rejections = self._exists(REJECTIONS)
        retry = with_rejections and bool(self._scalar(q.has_rejections(self.config, sub.destination, sub.segment)))
        if not self.full and cursor is not None and through <= cursor and not retry:
            return  # up to date
        pending = q.pending_query(self.config, sub.destination, sub.segment, dest.identifier, cursor, through,
                                  with_rejections, self.full, dest.ordered, sub.splits)
        # open the destination's client while the warehouse works (the query releases the GIL)
        opening = threading.Thread(target=_quietly, args=(dest.connect,), daemon=True)
        if not self.dry_run:
            opening.start()
        if sub.on_exit == "remove":
            self._guard(sub, dest, cursor, through, with_rejections)
        if self.dry_run:
            for change, count in self.adapter.execute(q.count_by_change(pending)):
                action = action_for(change, sub)
                if action:
                    result.pending[action] = result.pending.get(action, 0) + count
            result.status = "dry-run"
            result.sample = self._sample(pending, sub, dest.identifier == "key")
            return
        # for the progress bar only: an upper bound from a plain count (the exact net count would cost
        # a second pass of the pending query); result.pending is counted while sending
        total = self._scalar(q.count_upper_bound(self.config, sub.destination, sub.segment, cursor, through,
                                                 with_rejections, self.full)) or 0
        self.reporter.event("subscription_progress", segment=sub.segment, destination=sub.destination,
                            done=0, total=total)
        with _no_cyclic_gc():
            opening.join()
            rejections = self._send(sub, dest, self._changes(pending, sub, dest.identifier == "key"), total, result)
        now = utc_now()
        with self.adapter.transaction():
            for statement in q.commit_statements(self.config, sub.destination, sub.segment, through, now):
                self.adapter.execute(statement)
            self.adapter.insert_rows(q.rejections_table(self.config), q.REJECTION_COLUMNS,
                                     [q.rejection_row(sub.destination, sub.segment, c.person_id, c.run_id, reason, now)
                                      for c, reason in rejections])

    def _guard(self, sub: Subscription, dest: Destination, cursor: Optional[str], through: str,
               with_rejections: bool) -> None:
        """Stop before emptying a list by mistake (a broken upstream table, a bad edit of a segment):
        removals of members / the members the list held after the last acknowledged sync."""
        if cursor is None or self.allow_mass_removal:
            return
        ratio, floor = self.guard_settings(sub, dest)
        removals = self._scalar(q.removals_of_members(self.config, sub.destination, sub.segment, cursor, through,
                                                      with_rejections, sub.splits)) or 0
        if removals <= floor:
            return
        before = self._scalar(q.members_at(self.config, sub.segment, cursor, sub.splits)) or 0
        if before and removals / before > ratio:
            where = f"list '{sub.list}' of '{sub.destination}'" if sub.list is not None else f"'{sub.destination}'"
            raise Stopped(f"would remove {removals:,} of {before:,} member(s) ({removals / before:.0%}) from "
                          f"{where}, above max_removal_ratio {ratio:g} (guarded above min_removals {floor}); "
                          "nothing was sent. If this is intended, run again with --allow-mass-removal, or raise "
                          "max_removal_ratio / min_removals on this `sync:` entry or the destination")

    @staticmethod
    def guard_settings(sub: Subscription, dest: Destination) -> tuple[float, int]:
        """(max_removal_ratio, min_removals): the `sync:` entry's, else the destination's, else the defaults."""
        ratio = sub.max_removal_ratio
        if ratio is None:
            ratio = float(dest.settings.get("max_removal_ratio", DEFAULT_MAX_REMOVAL_RATIO))
        floor = sub.min_removals
        if floor is None:
            floor = int(dest.settings.get("min_removals", DEFAULT_MIN_REMOVALS))
        return ratio, floor

    def _changes(self, pending: exp.Select, sub: Subscription, by_key: bool) -> Iterator[tuple[str, Change]]:
        """(action, Change) for every warehouse row that asks for one (on_exit: ignore skips exits).
        This loop runs once per person (a million times for a large first sync), so it builds each
        Change's attributes directly instead of through the frozen dataclass's __init__ (the same
        object, a third faster)."""
        actions = {c: action_for(c, sub) for c in ("entered", "updated", "exited")}
        new, assign, loads = object.__new__, object.__setattr__, json.loads
        for person_id, identifier, change, changed_at, run_id, split, fields in self.adapter.stream(pending, FETCH):
            action = actions[change]
            if action is None:
                continue
            record = new(Change)
            assign(record, "__dict__", {
                "person_id": person_id, "identifier": str(person_id) if by_key else identifier, "change": change,
                "changed_at": changed_at, "run_id": run_id, "split": split, "fields": loads(fields) if fields else {}})
            yield action, record

    def _sample(self, pending: exp.Select, sub: Subscription, by_key: bool) -> dict[str, list[dict[str, Any]]]:
        sample: dict[str, list[dict[str, Any]]] = {}
        for change in ("entered", "updated", "exited"):
            action = action_for(change, sub)
            if action is None:
                continue
            inner = pending.copy()
            inner.set("order", None)
            query = (exp.select("*").from_(inner.subquery("s"))
                     .where(exp.column("change", table="s", quoted=True).eq(exp.Literal.string(change)))
                     .order_by(exp.column("person_id", table="s", quoted=True)).limit(SAMPLE))
            for person_id, identifier, *_ in self.adapter.execute(query):
                sample.setdefault(action, []).append(
                    {"person_id": person_id, "identifier": str(person_id) if by_key else identifier,
                     "change": change})
        return sample

    # --- sending -------------------------------------------------------------------------------
    def _send(self, sub: Subscription, dest: Destination, stream: Iterator[tuple[str, Change]], total: int,
              result: SyncResult) -> list[tuple[Change, str]]:
        """Send every change; returns the rejected ones with the vendor's reason. Raises Stopped
        (after the batches in flight finished) when the destination could not be reached."""
        rejections: list[tuple[Change, str]] = []
        lock = threading.Lock()
        retried_before, unconfirmed_before = dest.retried, dest.unconfirmed
        failure: list[str] = []
        done = [0, time.monotonic()]

        def deliver(action: str, batch: list[Change]) -> list[tuple[Change, str]]:
            """Send a batch; a batch refused as a whole is split in halves to find the bad records."""
            try:
                outcome = dest.send(sub, action, batch)
            except Rejected as refused:
                if len(batch) == 1:
                    return [(batch[0], refused.reason)]
                middle = len(batch) // 2
                return deliver(action, batch[:middle]) + deliver(action, batch[middle:])
            return [(batch[i], reason) for i, reason in sorted(outcome.rejected.items())]

        def job(action: str, batch: list[Change]) -> None:
            if interrupts.requested():
                return  # a batch still queued when the command was interrupted is not sent
            try:
                refused = deliver(action, batch)
            except UnknownList as e:
                with lock:
                    failure.append(f"{e}; check `list:` of this `sync:` entry ({self._entry(sub)})")
                return
            except GaveUp as e:
                with lock:
                    failure.append(str(e))
                return
            except Exception as e:  # noqa: BLE001 - a destination bug stops this subscription, not the others
                with lock:
                    failure.append(f"{sub.destination} failed: {type(e).__name__}: {e}")
                return
            with lock:
                rejections.extend(refused)
                result.sent += len(batch) - len(refused)
                result.rejected += len(refused)
                done[0] += len(batch)
                if time.monotonic() - done[1] >= PROGRESS_SECONDS:
                    done[1] = time.monotonic()
                    self.reporter.event("subscription_progress", segment=sub.segment,
                                        destination=sub.destination, done=done[0], total=total)

        in_flight: set[Future] = set()
        began = False
        with _abandoned_if_interrupted(dest, sub, lambda: began), \
                ThreadPoolExecutor(max_workers=max(1, dest.concurrency)) as pool:
            def submit(action: str, batch: list[Change]) -> None:
                nonlocal began
                if not began:
                    dest.begin(sub, result.through_run_id or "", self.full)
                    began = True
                while len(in_flight) >= 2 * dest.concurrency:
                    # any finished batch frees a place: one batch backing off after a 429 must not
                    # hold up the others
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    in_flight.difference_update(finished)
                    for future in finished:
                        future.result()
                in_flight.add(pool.submit(job, action, batch))

            buffers: dict[str, list[Change]] = {ADD: [], REMOVE: [], EVENT: []}
            pending = result.pending
            sizes = {action: dest.batch_size_for(action) for action in buffers}
            for action, change in stream:
                if change.identifier is None:
                    rejections.append((change, self._no_identifier(dest, change)))
                    result.rejected += 1
                    pending[action] = pending.get(action, 0) + 1
                    continue
                buffer = buffers[action]
                buffer.append(change)
                if len(buffer) >= sizes[action]:
                    if failure:
                        break
                    pending[action] = pending.get(action, 0) + len(buffer)
                    submit(action, buffer)
                    buffers[action] = []
            if not failure:
                for action, buffer in buffers.items():
                    if buffer:
                        pending[action] = pending.get(action, 0) + len(buffer)
                        submit(action, buffer)
            for future in in_flight:
                future.result()
        result.retried = dest.retried - retried_before
        result.unconfirmed = dest.unconfirmed - unconfirmed_before
        if began:
            dest.finish(sub, acknowledged=not failure)
        self.reporter.event("subscription_progress", segment=sub.segment, destination=sub.destination,
                            done=done[0], total=done[0] if not failure else total)
        if failure:
            raise Stopped(f"{failure[0]}; the cursor stays where it was and the next sync resends these changes")
        return rejections

    def _entry(self, sub: Subscription) -> str:
        """FILE:LINE of the segment's `sync:` entry for this subscription."""
        segment = self.project.segments[sub.segment]
        for spec in segment.sync:
            if spec.destination == sub.destination and spec.list == sub.list and spec.line:
                return f"{segment.file}:{spec.line}"
        return segment.location

    def _no_identifier(self, dest: Destination, change: Change) -> str:
        column = self.config.people.column_for(dest.identifier)
        if change.change == "exited":
            return (f"no {dest.identifier} for this person: they left {self.config.people.table}; add "
                    f"'{column}' to the segment's fields so exits can be matched")
        return f"no {dest.identifier} for this person ({column} is NULL in {self.config.people.table})"


@contextlib.contextmanager
def _abandoned_if_interrupted(dest: Destination, sub: Subscription, began) -> Iterator[None]:
    """An interrupted sync keeps nothing a destination staged (a CSV file's temporary file); the
    pool's exit has waited for the batches in flight, the queued ones returned unsent."""
    try:
        yield
    except KeyboardInterrupt:
        if began():
            with contextlib.suppress(Exception):
                dest.finish(sub, acknowledged=False)
        raise


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off while changes stream through: a million short-lived
    records (freed by reference counting, no cycles among them) otherwise trigger thousands of
    collections that walk every live object, and took half the engine's CPU in the benchmark."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _quietly(fn) -> None:
    """Run fn, ignoring its errors: a destination that cannot open reports it at its first send."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        pass
