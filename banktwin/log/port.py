"""The event-log port: the source of truth, append-only and partitioned.

The log is split into partitions. Every event of a subject lands in the same partition
(:meth:`EventLog.partition_of`), in append order, with a per-partition ``offset`` (0, 1, 2 …).
A reader keeps, per partition, the next offset it wants (Kafka's convention). SQLite,
PostgreSQL and Kafka-protocol adapters all honour this contract, so callers never change with
the adapter.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
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
    """CRC-32 of the subject id: the key of the SQLite log's subject index, and the hash of
    the ``crc32`` partitioner."""
    return zlib.crc32(subject_id.encode())


def partition_for(subject_id: str, partitions: int) -> int:
    """The partition of a subject in a log whose partitioner is ``crc32`` (one created before
    murmur2 became the default). A log knows its own: ask :meth:`EventLog.partition_of`."""
    return subject_hash(subject_id) % partitions


class LogWatch(Protocol):
    """A subscription to a log's appends (see :meth:`EventLog.watch`)."""

    def close(self) -> None:
        """Stop calling back; release what the subscription holds (a socket, a connection)."""
        ...


class TypedRead(NamedTuple):
    """What :meth:`EventLog.read_types` found."""

    events: list[LoggedEvent]
    """The events of the types asked for, in offset order."""
    looked_at: int
    """How many events of the partition were looked at (0: none from ``start`` on)."""
    next_offset: int
    """The offset after the last event looked at (``start`` when none): where to go on."""


def typed_read(events: Sequence[LoggedEvent], start: int, types: Collection[str]) -> TypedRead:
    """A :class:`TypedRead` of events already decoded (for adapters that hold them so)."""
    return TypedRead(
        [e for e in events if e.event.type in types],
        len(events),
        events[-1].offset + 1 if events else start,
    )


class EventLog(Protocol):
    """Durable, ordered, idempotent storage of events."""

    @property
    def partitions(self) -> int:
        """How many partitions the log has (fixed when it is created)."""
        ...

    @property
    def partitioner(self) -> str:
        """How subjects are placed in partitions: ``"murmur2"`` (Kafka's default partitioner
        of a keyed record, so a Kafka-protocol log agrees) for a log created by this build,
        ``"crc32"`` for a log created before; recorded with the log, kept for its lifetime."""
        ...

    def partition_of(self, subject_id: str) -> int:
        """The partition every event of ``subject_id`` is appended to."""
        ...

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        """Append events durably, all or none.

        Events of one subject keep the order they are given in. An event whose id is already
        in the log (or earlier in ``events``) is not appended again.

        Args:
            events: validated events; their ``recorded_at`` is ignored and set by the log.
            expected: per subject id, the subject's version (:meth:`subject_version`) the
                events were decided on. The append goes ahead only if every such subject is
                still at that version, checked atomically with the append (no other append
                of the subject, from any process, can come between). A subject whose events
                here are all already in the log (a retried request) is not checked: the retry
                gets its original results; if every event here is in the log, nothing is
                checked. A subject named without events here is checked all the same (the
                decision may rest on a subject it does not write). Only a conditional append
                pays for the check.

        Returns:
            One result per given event, in the same order.

        Raises:
            VersionConflictError: a subject of ``expected`` has moved; nothing was appended.
            UnavailableError: the log cannot be written; nothing was appended.
        """
        ...

    def subject_version(self, subject_id: str) -> int:
        """How many events of ``subject_id`` the log holds (0 for an unknown subject): the
        version an expected-version append names. A twin that has applied every event of its
        subject shows the same number (``version`` in the API)."""
        ...

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        """Call ``on_append`` (without arguments) soon after events are appended: through this
        log object, at once, in the appending thread once the append is durable; by any other
        object or process, where the adapter can learn of it (PostgreSQL: LISTEN/NOTIFY;
        SQLite: a datagram to each watching process on this machine), from a thread of the
        watch's own. Notifications may be merged or spurious, and may be missed when the
        adapter cannot deliver them: a consumer still looks at the log on its own every so
        often. ``on_append`` must be quick (set a flag, wake a thread); what it raises is
        logged and dropped. The log's :meth:`close` closes its watches."""
        ...

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        """Events of one partition from offset ``start`` on, in order, at most ``limit``."""
        ...

    def read_types(
        self, partition: int, start: int, limit: int, types: Collection[str]
    ) -> TypedRead:
        """Like :meth:`read`, but only the events of ``types`` are decoded and returned.

        Up to ``limit`` events from ``start`` are looked at, in order. For a consumer that
        needs a few types of a busy partition (the staged fraud engine's stages each read
        events the other writes): decoding is most of what reading costs.
        """
        ...

    def end_offsets(self) -> dict[int, int]:
        """Per partition, the offset the next appended event will get (0 when empty)."""
        ...

    def read_subject(
        self, subject_id: str, until: datetime | None = None, *, since: datetime | None = None
    ) -> Iterator[LoggedEvent]:
        """Every event of one subject in log order; with ``until``, only those that occurred
        at or before it (for as-of reads); with ``since``, only those that occurred at or
        after it (a branch's day: the rest is neither read nor decoded)."""
        ...

    def ping(self) -> None:
        """Return if the log is reachable, raise ``UnavailableError`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections. The log is unusable afterwards."""
        ...
