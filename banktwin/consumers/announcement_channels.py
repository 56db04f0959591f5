"""The :class:`~banktwin.consumers.announcements.CommitAnnouncer` over a channel between
processes (datagram sockets, LISTEN/NOTIFY), or over none: this process only.

An announcement reaches this process's subscribers directly, on the committing thread, and
goes out on the channel as a short JSON text naming the announcer it comes from, so one that
comes back (PostgreSQL delivers to every listening session) is not heard twice. A process
listens on the channel only while it has a subscriber: with none, it holds no socket and no
connection, and the others' announcements cost nothing for it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from banktwin.consumers.announcements import CommitAnnouncement

_log = logging.getLogger(__name__)

MAX_ANNOUNCEMENT_BYTES = 7900
"""The longest announcement sent (PostgreSQL refuses a NOTIFY payload of 8000 bytes or
more): past it, the positions are left out."""


class Closeable(Protocol):
    def close(self) -> None: ...


class AnnouncementChannel(Protocol):
    """How announcements travel between processes (for :class:`ChannelAnnouncer`)."""

    def send(self, text: str) -> None:
        """Hand ``text`` to every other process listening, without blocking and without
        raising (a failure is logged)."""
        ...

    def listen(self, on_texts: Callable[[list[str] | None], None]) -> Closeable:
        """Call ``on_texts`` with the texts other processes send (a burst at once), or with
        ``None`` when some may have been lost; until the result is closed.

        Raises:
            OSError: the channel cannot be listened to (this process then hears only its own
                announcements).
        """
        ...

    def close(self) -> None:
        """Release what sending holds."""
        ...


def encode(announcement: CommitAnnouncement, origin: str) -> str:
    """The announcement as sent: JSON with the consumer, its positions and the sender."""
    text = _dump(origin, announcement.consumer, announcement.positions)
    if len(text.encode()) > MAX_ANNOUNCEMENT_BYTES:
        text = _dump(origin, announcement.consumer, {})
    return text


def _dump(origin: str, consumer: str, positions: Mapping[int, int]) -> str:
    body = {"consumer": consumer, "positions": {str(p): o for p, o in positions.items()}}
    return json.dumps({**body, "origin": origin}, separators=(",", ":"))


def decode(text: str) -> tuple[str, CommitAnnouncement] | None:
    """The sender and the announcement of a text :func:`encode` made (``None``, and a log
    line, for anything else: a process of another version, a stray datagram)."""
    try:
        body = json.loads(text)
        positions = {int(p): int(o) for p, o in body["positions"].items()}
        return str(body["origin"]), CommitAnnouncement(str(body["consumer"]), positions)
    except (ValueError, TypeError, KeyError, AttributeError):
        _log.warning("ignored a commit announcement that does not parse: %.200r", text)
        return None


class _Subscription:
    def __init__(
        self,
        owner: ChannelAnnouncer,
        consumers: frozenset[str],
        on_commit: Callable[[CommitAnnouncement], None],
    ) -> None:
        self._owner = owner
        self.consumers = consumers
        self._on_commit = on_commit

    def hear(self, announcement: CommitAnnouncement) -> None:
        if announcement.consumer not in self.consumers:
            return
        try:
            self._on_commit(announcement)
        except Exception:
            _log.exception("a commit announcement subscriber failed")

    def close(self) -> None:
        self._owner._forget(self)


class ChannelAnnouncer:
    """Announces to this process's subscribers and, through ``channel``, to other processes'
    (with no channel: this process only, the in-memory adapter)."""

    def __init__(self, channel: AnnouncementChannel | None = None) -> None:
        self._channel = channel
        self._origin = os.urandom(8).hex()
        self._lock = threading.Lock()
        self._subscriptions: tuple[_Subscription, ...] = ()  # replaced, never changed
        self._listening: Closeable | None = None

    def announce(self, consumer: str, positions: Mapping[int, int]) -> None:
        try:
            announcement = CommitAnnouncement(consumer, dict(positions))
            for subscription in self._subscriptions:
                subscription.hear(announcement)
            if self._channel is not None:
                self._channel.send(encode(announcement, self._origin))
        except Exception:  # news, not state: the commit stands
            _log.exception("could not announce consumer %s's commit", consumer)

    def subscribe(
        self, consumers: Collection[str], on_commit: Callable[[CommitAnnouncement], None]
    ) -> _Subscription:
        subscription = _Subscription(self, frozenset(consumers), on_commit)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
            if self._channel is not None and self._listening is None:
                try:
                    self._listening = self._channel.listen(self._received)
                except OSError as exc:
                    _log.warning(
                        "hearing this process's commit announcements only: cannot listen "
                        "to other processes': %s",
                        exc,
                    )
        return subscription

    def _forget(self, subscription: _Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)
            listening = None
            if not self._subscriptions:
                listening, self._listening = self._listening, None
        if listening is not None:  # nobody listens here any more: costs others nothing
            listening.close()

    def _received(self, texts: list[str] | None) -> None:
        subscriptions = self._subscriptions
        if texts is None:  # some may be lost: each subscriber hears of each of its consumers
            for subscription in subscriptions:
                for name in sorted(subscription.consumers):
                    subscription.hear(CommitAnnouncement(name))
            return
        merged: dict[str, dict[int, int]] = {}
        for text in texts:
            decoded = decode(text)
            if decoded is None or decoded[0] == self._origin:
                continue
            _, announcement = decoded
            merged.setdefault(announcement.consumer, {}).update(announcement.positions)
        for name, positions in merged.items():
            for subscription in subscriptions:
                subscription.hear(CommitAnnouncement(name, positions))

    def close(self) -> None:
        with self._lock:
            self._subscriptions = ()
            listening, self._listening = self._listening, None
        if listening is not None:
            listening.close()
        if self._channel is not None:
            self._channel.close()
