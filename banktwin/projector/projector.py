"""The projector: reads the log, applies the domain rules, writes the twin.

Events are read from the positions last committed, applied in memory, and committed together
with their new positions in one store transaction. Events the rules derive are appended to the
log *before* that commit, under ids fixed by their cause: a crash between the two re-derives
the same ids, which the log ignores. So every event is applied exactly once, whatever fails
when.

A commit may cover several reads (``commit_interval_s``, as Kafka Streams' commit interval):
while the log keeps growing, the projector goes on applying what arrives and commits at most
every interval (or every ``batch_size`` events), so a busy customer's twin is written once per
commit rather than once per read. As soon as a read finds nothing new, what was applied is
committed. What is applied but not committed is only in memory: a crash re-applies it from the
committed positions.

A batch that cannot be applied (store down, a bug in a rule) is retried from the last
committed position with back-off; no event is ever skipped.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from banktwin.domain.customer import FraudAlert
from banktwin.domain.events import Event
from banktwin.domain.records import (
    RECORDED_TYPES,
    AlertStatusChange,
    TransactionRecord,
    records_for,
)
from banktwin.domain.twin import Twin, apply
from banktwin.errors import ConflictError
from banktwin.log.port import EventLog, LoggedEvent
from banktwin.store.port import ProjectionChanges, ProjectionStore, SubjectKey

log = logging.getLogger(__name__)

TWIN_CONSUMER = "twin"
MAX_BACKOFF_S = 10.0
IDLE_POLL_S = 0.05
"""How long an idle projector waits before looking at the log again. Appends in the same
process wake it at once (:meth:`Projector.notify`); a worker process learns of another
process's appends only by looking, so this bounds how stale its twin gets (a look is a few
indexed reads)."""


@dataclass
class _Uncommitted:
    """Events applied in memory since the last commit: the changes to write, how many events
    they hold, and when the first of them was applied."""

    changes: ProjectionChanges
    events: int = 0
    since: float = field(default_factory=time.monotonic)


@dataclass
class ProjectorStatus:
    """What the projector last did, for readiness checks and metrics."""

    events_applied: int = 0
    batches: int = 0
    last_batch_at: float | None = None
    last_error: str | None = None
    """The last failed batch's error, with its message (for the log and operators)."""
    last_error_kind: str | None = None
    """Only the error's class name (safe to show without authentication)."""
    failures_in_a_row: int = 0
    running: bool = False
    positions: dict[int, int] = field(default_factory=dict)


class TwinCache:
    """The twins this projector wrote last, so a busy subject is not read back and decoded
    for every batch. Safe because a consumer's positions admit one writer: when another
    projector commits first (ConflictError), the cache is dropped."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._twins: OrderedDict[SubjectKey, Twin] = OrderedDict()

    def get_many(self, keys: set[SubjectKey]) -> dict[SubjectKey, Twin]:
        found = {}
        for key in keys:
            twin = self._twins.get(key)
            if twin is not None:
                found[key] = twin
                self._twins.move_to_end(key)
        return found

    def put_many(self, twins: dict[SubjectKey, Twin]) -> None:
        self._twins.update(twins)
        for key in twins:
            self._twins.move_to_end(key)
        while len(self._twins) > self._capacity:
            self._twins.popitem(last=False)

    def clear(self) -> None:
        self._twins.clear()


class Projector:
    """Applies the log to the store, one batch at a time."""

    def __init__(
        self,
        log: EventLog,
        store: ProjectionStore,
        *,
        batch_size: int = 5000,
        consumer: str = TWIN_CONSUMER,
        cache_size: int = 200_000,
        partitions: Collection[int] | None = None,
        commit_interval_s: float = 0.0,
    ) -> None:
        """``partitions``: the log partitions this projector applies (default: all). Workers
        that split the partitions between them project in parallel; a subject's events are
        all in one partition, so no two of them ever write the same twin.

        ``batch_size``: most events read at once, and most applied before a commit.
        ``commit_interval_s``: longest time applied events wait for their commit while the
        log keeps growing (0: commit after every read)."""
        owned = sorted(set(range(log.partitions) if partitions is None else partitions))
        if not owned or not set(owned) <= set(range(log.partitions)):
            raise ValueError(
                f"partitions {owned} are not a subset of the log's 0..{log.partitions - 1}"
            )
        self._owned = owned
        self._log = log
        self._store = store
        self._batch_size = batch_size
        self._commit_interval_s = commit_interval_s
        self._uncommitted: _Uncommitted | None = None
        self._consumer = consumer
        self._positions: dict[int, int] | None = None
        self._cache = TwinCache(cache_size)
        self._wake = threading.Event()
        self.status = ProjectorStatus()

    def notify(self) -> None:
        """Tell a waiting projector that new events were appended."""
        self._wake.set()

    def positions(self) -> dict[int, int]:
        if self._positions is None:
            stored = self._store.positions(self._consumer)
            self._positions = {p: stored.get(p, 0) for p in self._owned}
        return dict(self._positions)

    def lag(self) -> int:
        """Events of this projector's partitions not yet applied, by the positions committed
        to the store (so it is right whichever process projects)."""
        ends = self._log.end_offsets()
        start = self._store.positions(self._consumer)
        return sum(max(ends.get(p, 0) - start.get(p, 0), 0) for p in self._owned)

    def _read_batch(self, start: dict[int, int]) -> tuple[list[LoggedEvent], dict[int, int]]:
        """The next events of every owned partition, and the positions after them."""
        per_partition = max(self._batch_size // max(len(start), 1), 1)
        batch: list[LoggedEvent] = []
        end = dict(start)
        for partition, offset in start.items():
            events = self._log.read(partition, offset, per_partition)
            if events:  # a partition's events come in offset order
                end[partition] = events[-1].offset + 1
                batch.extend(events)
        return batch, end

    def run_once(self) -> int:
        """Read and apply the next events, committing when due; returns how many log events
        it applied (0 when caught up: then everything applied is committed)."""
        # A batch allocates millions of short-lived, acyclic objects; letting the cycle
        # collector scan the twin cache meanwhile doubled the batch time. Reference counting
        # still frees everything; cycles (there are none in the domain) wait for the batch end.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._apply_batch()
        except BaseException:
            self._uncommitted = None  # applied again from the committed positions
            raise
        finally:
            if collecting:
                gc.enable()

    def _apply_batch(self) -> int:
        pending = self._uncommitted
        start = self.positions() if pending is None else pending.changes.end
        batch, end = self._read_batch(start)
        if not batch:
            self.commit()
            return 0
        if pending is None:
            pending = self._uncommitted = _Uncommitted(
                ProjectionChanges(self._consumer, start=start, end=end)
            )
        changes = pending.changes
        event_keys = [(logged.event.subject_kind, logged.event.subject_id) for logged in batch]
        twins = changes.twins  # the newest state of every subject applied since the commit
        missing = set(event_keys) - twins.keys()
        if missing:
            found = self._cache.get_many(missing)
            if len(found) < len(missing):
                found.update(self._store.load(missing - found.keys()))
            changes.before.update(found)
            twins.update(found)
        derived: list[Event] = []
        for logged, key in zip(batch, event_keys, strict=True):
            event = logged.event
            twins[key], more = apply(twins.get(key), event)
            if more:
                derived.extend(more)
            if event.type in RECORDED_TYPES:
                self._collect_records(event, changes)
        changes.end = end
        pending.events += len(batch)
        if derived:
            self._log.append(derived)
        if (
            pending.events >= self._batch_size
            or time.monotonic() - pending.since >= self._commit_interval_s
        ):
            self.commit()
        return len(batch)

    def commit(self) -> None:
        """Commit every event applied and not yet committed (nothing to do if none)."""
        pending, self._uncommitted = self._uncommitted, None
        if pending is None:
            return
        try:
            self._store.commit(pending.changes)
        except ConflictError:
            # Someone else applied these: start again from what the store holds.
            self._positions = None
            self._cache.clear()
            raise
        self._cache.put_many(pending.changes.twins)
        self._positions = pending.changes.end
        self.status.events_applied += pending.events
        self.status.batches += 1
        self.status.last_batch_at = time.time()
        self.status.positions = dict(pending.changes.end)

    @staticmethod
    def _collect_records(event: Event, changes: ProjectionChanges) -> None:
        for record in records_for(event):
            if isinstance(record, TransactionRecord):
                changes.transactions.append(record)
            elif isinstance(record, FraudAlert):
                changes.alerts_raised.append(record)
            elif isinstance(record, AlertStatusChange):
                changes.alert_changes.append(record)

    def run_until_caught_up(self, on_progress: Callable[[int], None] | None = None) -> int:
        """Apply batches until the log has nothing new; returns events applied."""
        total = 0
        while applied := self.run_once():
            total += applied
            if on_progress is not None:
                on_progress(applied)
        return total

    def run_forever(self, stop: threading.Event, idle_wait_s: float = IDLE_POLL_S) -> None:
        """Apply batches until ``stop`` is set (then commit what was applied); sleeps while
        idle, backs off on failure."""
        self.status.running = True
        try:
            while not stop.is_set():
                try:
                    applied = self.run_once()
                except Exception as exc:  # retried from the same position: nothing skipped
                    self._record_failure(exc)
                    stop.wait(min(0.1 * 2**self.status.failures_in_a_row, MAX_BACKOFF_S))
                    continue
                if self.status.failures_in_a_row:
                    log.info("projector recovered after %d failures", self.status.failures_in_a_row)
                self.status.failures_in_a_row = 0
                self.status.last_error = self.status.last_error_kind = None
                if not applied:
                    self._wake.wait(idle_wait_s)
                    self._wake.clear()
            self._commit_on_stop()
        finally:
            self.status.running = False

    def _commit_on_stop(self) -> None:
        try:
            self.commit()
        except Exception as exc:  # nothing lost: applied again from the committed positions
            self._record_failure(exc)

    def _record_failure(self, exc: Exception) -> None:
        self.status.failures_in_a_row += 1
        self.status.last_error_kind = type(exc).__name__
        self.status.last_error = f"{self.status.last_error_kind}: {exc}"
        if isinstance(exc, ConflictError):
            log.warning("projector: %s", exc)
        else:
            log.exception("projector batch failed; retrying from the same position")
