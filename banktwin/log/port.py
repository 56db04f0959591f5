"""The event-log port: the source of truth, append-only and partitioned.

The log is split into partitions. Every event of a subject lands in the same partition
(``partition_for``), in append order, with a per-partition ``offset`` (0, 1, 2 …). A reader
keeps, per partition, the next offset it wants (Kafka's convention). SQLite, PostgreSQL and
Kafka-protocol adapters all honour this contract, so callers never change with the adapter.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from banktwin.domain.events import Event


class AppendResult(NamedTuple):
    """Where an event is in the log. For an event id appended before, the original result
    with ``duplicate=True``. (Named tuples: one is made per event appended or read.)"""

    event_id: str
    partition: int
    offset: int
    recorded_at: datetime
    duplicate: bool = False


class LoggedEvent(NamedTuple):
    """An event as read back, with its place in the log (``event.recorded_at`` is set)."""

    partition: int
    offset: int
    event: Event


def subject_hash(subject_id: str) -> int:
    """CRC-32 of the subject id: what places a subject in a partition."""
    return zlib.crc32(subject_id.encode())


def partition_for(subject_id: str, partitions: int) -> int:
    """The partition of a subject: stable across processes, machines and adapters."""
    return subject_hash(subject_id) % partitions


class EventLog(Protocol):
    """Durable, ordered, idempotent storage of events."""

    @property
    def partitions(self) -> int:
        """How many partitions the log has (fixed when it is created)."""
        ...

    def append(self, events: Sequence[Event]) -> list[AppendResult]:
        """Append events durably, all or none.

        Events of one subject keep the order they are given in. An event whose id is already
        in the log (or earlier in ``events``) is not appended again.

        Args:
            events: validated events; their ``recorded_at`` is ignored and set by the log.

        Returns:
            One result per given event, in the same order.

        Raises:
            UnavailableError: the log cannot be written; nothing was appended.
        """
        ...

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        """Events of one partition from offset ``start`` on, in order, at most ``limit``."""
        ...

    def end_offsets(self) -> dict[int, int]:
        """Per partition, the offset the next appended event will get (0 when empty)."""
        ...

    def read_subject(self, subject_id: str, until: datetime | None = None) -> Iterator[LoggedEvent]:
        """Every event of one subject in log order; with ``until``, only those that occurred
        at or before it (for as-of reads)."""
        ...

    def ping(self) -> None:
        """Return if the log is reachable, raise ``UnavailableError`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections. The log is unusable afterwards."""
        ...
