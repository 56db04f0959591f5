"""Commit announcements: "consumer NAME committed (positions …)", heard in every process.

A consumer's post-commit listeners (:meth:`Consumer.add_listener`) run in the process that
commits; under ``serve`` that is a process of its own, not the API's. The runtime therefore
registers one more listener on each consumer it runs (:func:`announce_commits`), which hands
the news to a :class:`CommitAnnouncer`: its subscribers in this process hear it directly, and
those of other processes sharing the same data (the same SQLite file, the same PostgreSQL
schema) through a channel between processes, the same kind the log's appends wake watchers
with. The live dashboard streams (``/v1/stream/kpis``, ``/v1/stream/branches``) subscribe,
so they push when the figures they show are committed, not when events are appended.

Adapters (chosen by the state store's URL, :func:`banktwin.adapters.open_commit_announcer`)
are :class:`~banktwin.consumers.announcement_channels.ChannelAnnouncer` over a channel of
datagram sockets (SQLite, :mod:`banktwin.consumers.sqlite_announcements`), over LISTEN/NOTIFY
(PostgreSQL, :mod:`banktwin.consumers.postgres_announcements`), or over none (in memory: this
process only).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Committed, Listener


@dataclass(frozen=True, slots=True)
class CommitAnnouncement:
    """A consumer committed."""

    consumer: str
    positions: Mapping[int, int] = field(default_factory=dict)
    """The positions the commit reached, per partition it covers (the next offset to read);
    empty when they are not known: an announcement standing for some a subscriber may have
    missed (a reconnection), or one too big to carry them (hundreds of partitions)."""


class CommitSubscription(Protocol):
    """A subscription to commit announcements (see :meth:`CommitAnnouncer.subscribe`)."""

    def close(self) -> None:
        """Stop calling back (idempotent); the last subscription of a process releases what
        listening to other processes holds (a socket, a connection)."""
        ...


class CommitAnnouncer(Protocol):
    """Tells whoever listens, in this process and in others sharing the data, that a consumer
    committed."""

    def announce(self, consumer: str, positions: Mapping[int, int]) -> None:
        """Announce that ``consumer`` committed, reaching ``positions``.

        Called on the committing consumer's thread, after the commit: it never blocks on I/O
        and never raises (a failure to tell others is logged; the commit stands), and it
        costs next to nothing when nobody listens.

        Args:
            consumer: the consumer's name (``twin``, ``kpis``, ``fraud``, ``risk``).
            positions: per partition the commit covers, the next offset to read.
        """
        ...

    def subscribe(
        self, consumers: Collection[str], on_commit: Callable[[CommitAnnouncement], None]
    ) -> CommitSubscription:
        """Call ``on_commit`` soon after any of ``consumers`` commits, in this process or
        another sharing the data.

        ``on_commit`` runs on the committing thread (this process's commits) or on a thread
        of the announcer's own (others'): keep it quick, hand the news on. Announcements of a
        moment may be merged into one per consumer; one may be missed when a subscriber's
        queue is full, and after a channel lost some (a reconnection) each of ``consumers`` is
        announced with empty positions. An ``on_commit`` that raises is logged.

        Args:
            consumers: the names of the consumers whose commits to hear of.
            on_commit: what to call, with the announcement.

        Returns:
            The subscription; close it when done.
        """
        ...

    def close(self) -> None:
        """Close every subscription still open and release the channel."""
        ...


def announce_commits(consumers: Iterable[Consumer[Any]], announcer: CommitAnnouncer) -> None:
    """Announce each of ``consumers``' commits (the runtime's post-commit listener)."""
    for consumer in consumers:
        consumer.add_listener(_announcing(consumer.name, announcer))


def _announcing(name: str, announcer: CommitAnnouncer) -> Listener[Any]:
    def announce(committed: Committed[Any]) -> None:
        announcer.announce(name, committed.checkpoint.end)

    return announce
