"""An in-memory event log: the fake that unit tests run the whole flow on.

It honours the full port contract (it runs in the same contract tests as the real adapters)
but keeps nothing across processes: a watch sees this object's appends only.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from banktwin.domain.events import Event
from banktwin.log.codec import upcast_event
from banktwin.log.expected_versions import check_versions, subjects_to_check
from banktwin.log.local_watches import LocalWatches
from banktwin.log.partitioners import MURMUR2, subject_partitioner
from banktwin.log.port import AppendResult, LoggedEvent, LogWatch, TypedRead, typed_read


class InMemoryEventLog:
    """The :class:`~banktwin.log.port.EventLog` in a list per partition."""

    def __init__(self, partitions: int = 1, partitioner: str = MURMUR2) -> None:
        self._partitions: list[list[LoggedEvent]] = [[] for _ in range(partitions)]
        self._by_id: dict[str, AppendResult] = {}
        self._versions: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._partitioner = partitioner
        self._partition_of = subject_partitioner(partitioner, partitions)
        self._watches = LocalWatches()

    @property
    def partitions(self) -> int:
        return len(self._partitions)

    @property
    def partitioner(self) -> str:
        return self._partitioner

    def partition_of(self, subject_id: str) -> int:
        return self._partition_of(subject_id)

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        with self._lock:
            if expected:
                checked = subjects_to_check(
                    expected, ((e.subject_id, e.event_id in self._by_id) for e in events)
                )
                check_versions(checked, self._versions)
            now = datetime.now(UTC)
            results = []
            for event in events:
                original = self._by_id.get(event.event_id)
                if original is not None:
                    results.append(original._replace(duplicate=True))
                    continue
                partition = self._partition_of(event.subject_id)
                offset = len(self._partitions[partition])
                # Kept as a stored event reads back: at its type's current version.
                logged = LoggedEvent(
                    partition, offset, replace(upcast_event(event), recorded_at=now)
                )
                self._partitions[partition].append(logged)
                result = AppendResult(event.event_id, partition, offset, now)
                self._by_id[event.event_id] = result
                self._versions[event.subject_id] += 1
                results.append(result)
        if results:
            self._watches.notify()
        return results

    def subject_version(self, subject_id: str) -> int:
        with self._lock:
            return self._versions[subject_id]

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        """Called back in the appending thread, once the append is done."""
        return self._watches.add(on_append)

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        with self._lock:
            return self._partitions[partition][start : start + limit]

    def read_types(
        self, partition: int, start: int, limit: int, types: Collection[str]
    ) -> TypedRead:
        return typed_read(self.read(partition, start, limit), start, types)

    def end_offsets(self) -> dict[int, int]:
        with self._lock:
            return {p: len(events) for p, events in enumerate(self._partitions)}

    def read_subject(
        self, subject_id: str, until: datetime | None = None, *, since: datetime | None = None
    ) -> Iterator[LoggedEvent]:
        partition = self._partition_of(subject_id)
        with self._lock:
            events = list(self._partitions[partition])
        for logged in events:
            e = logged.event
            if (
                e.subject_id == subject_id
                and (until is None or e.occurred_at <= until)
                and (since is None or e.occurred_at >= since)
            ):
                yield logged

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
