"""The twin projector: the consumer that runs the twin engine.

The twin engine applies the domain rules (``apply(state, event) -> (state, derived)``) to the
customers, branches and loan processes the events name, collects the rows the twin keeps
beside them (transactions, alerts), and writes all of it with its positions in one store
transaction. Batching, commits, derived-event appends and retries are the consumer runtime's
(:mod:`banktwin.consumers.consumer`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from contextlib import suppress

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import TWIN_KINDS, Event
from banktwin.domain.records import (
    RECORDED_TYPES,
    AlertStatusChange,
    TransactionRecord,
    records_for,
)
from banktwin.domain.twin import Twin, apply
from banktwin.errors import ConflictError
from banktwin.log.port import EventLog, LoggedEvent
from banktwin.store.port import TWIN_CONSUMER, ProjectionChanges, ProjectionStore, SubjectKey

__all__ = ["TWIN_CONSUMER", "Projector", "TwinCache", "TwinEngine"]


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


class TwinEngine:
    """The twin's engine: its unit of work is a :class:`ProjectionChanges`.

    Given the ``log``, it tells a store building a new twin generation where the log ended
    when each unit of work began (and when its positions are read), so the store switches
    readers to it once a commit has reached that end on every partition: within one commit
    interval of the log's end, however fast the log grows.
    """

    def __init__(
        self,
        store: ProjectionStore,
        *,
        name: str = TWIN_CONSUMER,
        cache_size: int = 200_000,
        log: EventLog | None = None,
    ) -> None:
        self._store = store
        self._name = name
        self._cache = TwinCache(cache_size)
        self._log = log

    @property
    def name(self) -> str:
        return self._name

    def positions(self) -> dict[int, int]:
        if self._log is not None and self._store.rebuilding():
            # Where no commit would come (the log does not grow), reading is the moment. A
            # conflict: another process is switching or moved on; positions say where.
            with suppress(ConflictError):
                self._store.switch_if_caught_up(self._name, self._log.end_offsets())
        return self._store.positions(self._name)

    def begin(self) -> ProjectionChanges:
        work = ProjectionChanges(self._name, start={}, end={})
        if self._log is not None and self._store.rebuilding():
            work.log_end = self._log.end_offsets()
        return work

    def process(self, work: ProjectionChanges, batch: Sequence[LoggedEvent]) -> list[Event]:
        event_keys = [(logged.event.subject_kind, logged.event.subject_id) for logged in batch]
        if not TWIN_KINDS.issuperset(kind for kind, _ in event_keys):  # operational alerts
            batch = [logged for logged in batch if logged.event.subject_kind in TWIN_KINDS]
            event_keys = [key for key in event_keys if key[0] in TWIN_KINDS]
        twins = work.twins  # the newest state of every subject applied since the commit
        missing = set(event_keys) - twins.keys()
        if missing:
            found = self._cache.get_many(missing)
            if len(found) < len(missing):
                found.update(self._store.load(missing - found.keys()))
            work.before.update(found)
            twins.update(found)
        derived: list[Event] = []
        for logged, key in zip(batch, event_keys, strict=True):
            event = logged.event
            twins[key], more = apply(twins.get(key), event)
            if more:
                derived.extend(more)
            if event.type in RECORDED_TYPES:
                _collect_records(event, twins[key], work)
        return derived

    def commit(self, work: ProjectionChanges, checkpoint: Checkpoint) -> None:
        work.start, work.end = dict(checkpoint.start), dict(checkpoint.end)
        try:
            self._store.commit(work)
        except ConflictError:
            self._cache.clear()  # another projector wrote these twins: read them again
            raise
        self._cache.put_many(work.twins)

    def reset(self) -> None:
        self._cache.clear()
        self._store.reset(self._name)


def _collect_records(event: Event, twin: Twin, changes: ProjectionChanges) -> None:
    customer = twin if isinstance(twin, CustomerTwin) else None
    for record in records_for(event, customer):
        if isinstance(record, TransactionRecord):
            changes.transactions.append(record)
        elif isinstance(record, FraudAlert):
            changes.alerts_raised.append(record)
        elif isinstance(record, AlertStatusChange):
            changes.alert_changes.append(record)


class Projector(Consumer[ProjectionChanges]):
    """The consumer runtime running the twin engine over ``store``."""

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
        catch_up_commit_s: float | None = None,
        max_uncommitted_events: int | None = None,
        bulk_linger_s: float = 0.0,
        pause_gc: bool = True,
    ) -> None:
        super().__init__(
            log,
            TwinEngine(store, name=consumer, cache_size=cache_size, log=log),
            batch_size=batch_size,
            partitions=partitions,
            commit_interval_s=commit_interval_s,
            catch_up_commit_s=catch_up_commit_s,
            max_uncommitted_events=max_uncommitted_events,
            bulk_linger_s=bulk_linger_s,
            pause_gc=pause_gc,
        )
