"""The consumer runtime: reads the log, runs an engine, commits its state with its positions.

Events are read from the positions last committed and handed to the engine; the events it
derives are appended to the log *before* the commit, under ids fixed by their cause, and the
engine then writes its state together with the new positions in one transaction. A crash
between the two re-derives the same ids, which the log ignores. So every event takes effect
exactly once, whatever fails when.

A commit may cover several reads (``commit_interval_s``, as Kafka Streams' commit interval):
while the log keeps growing, the consumer goes on applying what arrives and commits at most
every interval (or every ``max_uncommitted_events``), so an engine writes a busy key once per
commit rather than once per read. While it is catching up (a backlog: the demo's first
projection, a replay, a worker behind a burst) the interval is longer
(``catch_up_commit_s``): a bigger bank touches more subjects per event, and a long commit
keeps the writes per event as few as in a small one. As soon as a read finds nothing new,
what was applied is committed, except in a bulk load: after a read of ``BULK_READ_EVENTS`` or
more, a running consumer waits up to ``bulk_linger_s`` for the next events before it commits
(never past the commit interval), so a client posting big batches one after another is
committed about once per interval rather than once per request. What is applied but not
committed is only in memory: a crash re-applies it from the committed positions.

A batch that cannot be applied (store down, a bug in a rule) is retried from the last
committed position with back-off; no event is ever skipped.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic

from banktwin.consumers.engine import Checkpoint, Committed, Engine, Listener, W, event_types_of
from banktwin.errors import ConflictError
from banktwin.log.port import EventLog, LoggedEvent

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
BULK_READ_EVENTS = 1000
"""A read at least this big means events arrive in bulk (batches of thousands posted one after
another, a file or a backfill), not as a stream of single events: then a pause between two
arrivals is not yet the time to commit (see ``bulk_linger_s``). A stream that keeps a consumer
within a few hundred events of the log's end never lingers, so its events become visible as
soon as they are applied."""
IDLE_POLL_S = 0.05
"""How long an idle consumer waits before looking at the log again. The log wakes it sooner
when it learns of an append (:meth:`EventLog.watch`: this process's appends, and other
processes' where the adapter can tell); looking is the fallback (a few indexed reads)."""


@dataclass
class ConsumerStatus:
    """What a consumer last did, for readiness checks and metrics."""

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


@dataclass
class _Uncommitted(Generic[W]):
    """Work applied since the last commit: where it started, where it reaches, how many log
    events it holds and when the first of them was applied."""

    work: W
    start: dict[int, int]
    end: dict[int, int]
    events: int = 0
    since: float = field(default_factory=time.monotonic)
    last_read: int = 0
    """Log events of the latest read applied to it."""


@dataclass(slots=True)
class _Read:
    """One read of the owned partitions."""

    batch: list[LoggedEvent]
    """The events to apply (of the engine's types, if it has some)."""
    end: dict[int, int]
    """The positions after the events looked at."""
    behind: bool
    looked_at: int
    """Log events looked at, of any type: what the read consumed."""


@dataclass(frozen=True, slots=True)
class Lag:
    """How far a consumer is behind the log."""

    events: int
    seconds: float
    """Age of the oldest event not applied yet (by the log's recording time); 0 when none."""


class Consumer(Generic[W]):
    """Runs one engine over the log (all partitions, or the ones it is given)."""

    def __init__(
        self,
        log: EventLog,
        engine: Engine[W],
        *,
        batch_size: int = 5000,
        partitions: Collection[int] | None = None,
        commit_interval_s: float = 0.0,
        catch_up_commit_s: float | None = None,
        max_uncommitted_events: int | None = None,
        bulk_linger_s: float = 0.0,
        pause_gc: bool = True,
    ) -> None:
        """``partitions``: the log partitions this consumer reads (default: all). Consumers of
        one engine that split the partitions between them run in parallel; a subject's events
        are all in one partition.

        ``batch_size``: most events read at once.
        ``commit_interval_s``: longest time applied events wait for their commit while the
        log keeps growing (0: commit after every read).
        ``catch_up_commit_s``: the same while the consumer is catching up (a read could not
        take everything a partition had): readers see a backlog late whatever the interval,
        and a commit's cost is mostly per subject, so a long commit writes a busy subject
        once for many events (default: ``commit_interval_s``).
        ``max_uncommitted_events``: most events applied before a commit, whatever the time
        (default: ``batch_size``; it bounds the memory an uncommitted unit of work holds).
        ``bulk_linger_s``: how long a running consumer (:meth:`run_forever`) that has just
        applied a bulk read (``BULK_READ_EVENTS`` or more) and finds nothing new waits for more
        before it commits, within the commit interval (0: it commits at once). Committing a
        busy subject costs about as much for one event as for many: a worker fed batches of
        2,000 over HTTP spent 88-93 µs per event committing after every batch, 67-68 with a
        linger of 0.3 s (docs/performance.md).
        ``pause_gc``: pause the cycle collector while a batch is applied (see :meth:`run_once`);
        process-wide, so only for a process that does nothing else meanwhile (a worker): the
        API turns it off for every consumer of its runtime
        (:meth:`~banktwin.runtime.Runtime.keep_cycle_collector_on`).
        """
        owned = sorted(set(range(log.partitions) if partitions is None else partitions))
        if not owned or not set(owned) <= set(range(log.partitions)):
            raise ValueError(
                f"partitions {owned} are not a subset of the log's 0..{log.partitions - 1}"
            )
        self._owned = owned
        self._log = log
        self.engine = engine
        self._types = event_types_of(engine)
        self._batch_size = batch_size
        self._commit_interval_s = commit_interval_s
        self._catch_up_commit_s = (
            commit_interval_s if catch_up_commit_s is None else catch_up_commit_s
        )
        self._max_uncommitted = (
            batch_size if max_uncommitted_events is None else max_uncommitted_events
        )
        self._bulk_linger_s = bulk_linger_s
        self._lingering = False
        self.pause_gc = pause_gc
        self._uncommitted: _Uncommitted[W] | None = None
        self._positions: dict[int, int] | None = None
        self._listeners: list[Listener[W]] = []
        self._wake = threading.Event()
        self.status = ConsumerStatus()

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def partitions(self) -> list[int]:
        return list(self._owned)

    def notify(self) -> None:
        """Tell a waiting consumer that new events were appended."""
        self._wake.set()

    def add_listener(self, listener: Listener[W]) -> None:
        """Call ``listener`` after each commit, on the consumer's thread (keep it quick: a
        change stream hands the news on; a listener's failure is logged, never fatal)."""
        self._listeners.append(listener)

    def reset(self) -> None:
        """Forget the engine's state (:meth:`Engine.reset`) and what this consumer applied or
        knew of its positions: the next batch starts from what the store then holds."""
        self._uncommitted = None
        self._positions = None
        self.engine.reset()

    def positions(self) -> dict[int, int]:
        """The committed positions of this consumer's partitions."""
        if self._positions is None:
            stored = self.engine.positions()
            self._positions = {p: stored.get(p, 0) for p in self._owned}
        return dict(self._positions)

    def lag(self) -> int:
        """Events of this consumer's partitions not yet applied, by the positions committed
        to its store (so it is right whichever process consumes)."""
        return self.lag_now().events

    def lag_now(self, now: datetime | None = None) -> Lag:
        """Events not yet applied and the age of the oldest of them (the seed alerts when a
        consumer is more than five minutes behind)."""
        ends = self._log.end_offsets()
        start = self.engine.positions()
        events, oldest = 0, None
        for p in self._owned:
            behind = max(ends.get(p, 0) - start.get(p, 0), 0)
            if not behind:
                continue
            events += behind
            first = self._log.read(p, start.get(p, 0), 1)
            recorded = first[0].event.recorded_at if first else None
            if recorded is not None and (oldest is None or recorded < oldest):
                oldest = recorded
        if oldest is None:
            return Lag(events, 0.0)
        age = ((now or datetime.now(UTC)) - oldest).total_seconds()
        return Lag(events, round(max(age, 0.0), 3))

    def _read_batch(self, start: dict[int, int]) -> _Read:
        """The next events of every owned partition (of the engine's types, if it has some),
        the positions after them, and whether a partition had more than one read could take
        (the consumer is catching up)."""
        per_partition = max(self._batch_size // max(len(start), 1), 1)
        read = _Read([], dict(start), False, 0)
        for partition, offset in start.items():
            if self._types is None:
                events = self._log.read(partition, offset, per_partition)
                looked_at = len(events)
                after = events[-1].offset + 1 if events else offset
            else:
                events, looked_at, after = self._log.read_types(
                    partition, offset, per_partition, self._types
                )
            if looked_at:  # a partition's events come in offset order
                read.end[partition] = after
                read.batch.extend(events)
                read.looked_at += looked_at
                read.behind = read.behind or looked_at == per_partition
        return read

    def run_once(self) -> int:
        """Read and apply the next events, committing when due; returns how many log events
        it applied (0 when caught up: then everything applied is committed)."""
        # A batch allocates millions of short-lived, acyclic objects; letting the cycle
        # collector scan an engine's caches meanwhile doubled the batch time. Reference
        # counting still frees everything; cycles wait for the batch end.
        collecting = self.pause_gc and gc.isenabled()
        if collecting:
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
        start = self.positions() if pending is None else pending.end
        read = self._read_batch(start)
        if not read.looked_at and pending is not None and self._linger(pending):
            read = self._read_batch(start)
        if not read.looked_at:
            self.commit()
            return 0
        if pending is None:
            pending = self._uncommitted = _Uncommitted(self.engine.begin(), start, read.end)
        derived = self.engine.process(pending.work, read.batch)
        pending.end = read.end
        pending.events += read.looked_at
        pending.last_read = read.looked_at
        if derived:
            self._log.append(derived)
        interval = self._catch_up_commit_s if read.behind else self._commit_interval_s
        if pending.events >= self._max_uncommitted or time.monotonic() - pending.since >= interval:
            self.commit()
        return read.looked_at

    def _linger(self, pending: _Uncommitted[W]) -> bool:
        """After a bulk read, wait for the next events (up to ``bulk_linger_s``, within the
        commit interval) instead of committing at once; whether any were announced."""
        if not self._lingering or pending.last_read < BULK_READ_EVENTS:
            return False
        left = self._commit_interval_s - (time.monotonic() - pending.since)
        if left <= 0 or not self._wake.wait(min(self._bulk_linger_s, left)):
            return False
        self._wake.clear()
        return True

    def commit(self) -> None:
        """Commit everything applied and not yet committed (nothing to do if none)."""
        pending, self._uncommitted = self._uncommitted, None
        if pending is None:
            return
        checkpoint = Checkpoint(self.name, pending.start, pending.end)
        try:
            self.engine.commit(pending.work, checkpoint)
        except ConflictError:
            self._positions = None  # someone else applied these: start from what is stored
            raise
        self._positions = pending.end
        self.status.events_applied += pending.events
        self.status.batches += 1
        self.status.last_batch_at = time.time()
        self.status.positions = dict(pending.end)
        if self._listeners:
            self._tell_listeners(Committed(checkpoint, pending.events, pending.work))

    def _tell_listeners(self, committed: Committed[W]) -> None:
        for listener in self._listeners:
            try:
                listener(committed)
            except Exception:  # a notification, not state: the commit stands
                log.exception("consumer %s: a commit listener failed", self.name)

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
        idle (woken by the log's appends), backs off on failure."""
        self.status.running = True
        self._lingering = self._bulk_linger_s > 0  # never in a catch-up or a replay
        watch = self._log.watch(self.notify)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    applied = self.run_once()
                except Exception as exc:  # retried from the same position: nothing skipped
                    self._record_failure(exc)
                    stop.wait(min(0.1 * 2**self.status.failures_in_a_row, MAX_BACKOFF_S))
                    continue
                if self.status.failures_in_a_row:
                    log.info(
                        "consumer %s recovered after %d failures",
                        self.name,
                        self.status.failures_in_a_row,
                    )
                self.status.failures_in_a_row = 0
                self.status.last_error = self.status.last_error_kind = None
                if not applied and not stop.is_set():  # a linger may have taken the wake
                    self._wake.wait(idle_wait_s)
            self._commit_on_stop()
        finally:
            watch.close()
            self._lingering = False
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
            log.warning("consumer %s: %s", self.name, exc)
        else:
            log.exception("consumer %s: batch failed; retrying from the same position", self.name)
