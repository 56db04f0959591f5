"""An in-memory event log: the fake that unit tests run the whole flow on.

It honours the full port contract (it runs in the same contract tests as the real adapters)
but keeps nothing across processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from banktwin.domain.events import Event
from banktwin.log.port import AppendResult, LoggedEvent, partition_for


class InMemoryEventLog:
    """The :class:`~banktwin.log.port.EventLog` in a list per partition."""

    def __init__(self, partitions: int = 1) -> None:
        self._partitions: list[list[LoggedEvent]] = [[] for _ in range(partitions)]
        self._by_id: dict[str, AppendResult] = {}
        self._lock = threading.Lock()

    @property
    def partitions(self) -> int:
        return len(self._partitions)

    def append(self, events: Sequence[Event]) -> list[AppendResult]:
        with self._lock:
            now = datetime.now(UTC)
            results = []
            for event in events:
                original = self._by_id.get(event.event_id)
                if original is not None:
                    results.append(original._replace(duplicate=True))
                    continue
                partition = partition_for(event.subject_id, len(self._partitions))
                offset = len(self._partitions[partition])
                logged = LoggedEvent(partition, offset, replace(event, recorded_at=now))
                self._partitions[partition].append(logged)
                result = AppendResult(event.event_id, partition, offset, now)
                self._by_id[event.event_id] = result
                results.append(result)
            return results

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        with self._lock:
            return self._partitions[partition][start : start + limit]

    def end_offsets(self) -> dict[int, int]:
        with self._lock:
            return {p: len(events) for p, events in enumerate(self._partitions)}

    def read_subject(self, subject_id: str, until: datetime | None = None) -> Iterator[LoggedEvent]:
        partition = partition_for(subject_id, len(self._partitions))
        with self._lock:
            events = list(self._partitions[partition])
        for logged in events:
            e = logged.event
            if e.subject_id == subject_id and (until is None or e.occurred_at <= until):
                yield logged

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
