"""Commit announcements between processes sharing a SQLite file: datagram sockets.

The mechanism of the log's appends (:mod:`banktwin.log.sqlite_wake`) on a channel of its own
(``commits``: a directory of sockets per file, so appends and commits never wake each other's
watchers), each datagram carrying one announcement. A process binds a socket only while it
has a subscriber; a committing process sends one non-blocking datagram per socket there, none
when there is none. It lists the directory at every announcement (a few microseconds, next to
a commit's milliseconds; the log's appends, far more frequent, list it at most every
``LISTING_TTL_S``): a stream reads its first snapshot after it binds its socket, so no commit
can fall between the two unheard. A socket holds a few datagrams unread (ten, on a default
Linux): a sender finding it full sends nothing more, and the receiver, draining a burst that
long, tells its subscribers they may have missed some.

Where AF_UNIX datagram sockets do not exist (Windows), announcements stay in their process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from banktwin.consumers.announcement_channels import MAX_ANNOUNCEMENT_BYTES, Closeable
from banktwin.log.sqlite_wake import (
    DatagramReceiver,
    WakeSender,
    datagram_queue_limit,
    wake_directory,
    wake_supported,
)

COMMITS = "commits"
"""The channel of the consumers' commits (the log's appends have another)."""

_log = logging.getLogger(__name__)


class SqliteAnnouncementChannel:
    """The :class:`~banktwin.consumers.announcement_channels.AnnouncementChannel` of the
    processes sharing the SQLite file at ``path`` (the state store's)."""

    def __init__(self, path: Path) -> None:
        self._directory = wake_directory(path, COMMITS)
        self._lock = threading.Lock()  # the sender is not thread-safe; consumers share it
        self._sender = WakeSender(self._directory, listing_ttl_s=0.0) if wake_supported() else None

    def send(self, text: str) -> None:
        if self._sender is None:
            return
        payload = text.encode()
        try:
            with self._lock:
                self._sender.send(payload)
        except OSError as exc:  # (a full queue is not one: that receiver has news to take)
            _log.warning("could not announce a commit to other processes: %s", exc)

    def listen(self, on_texts: Callable[[list[str] | None], None]) -> Closeable:
        if self._sender is None:
            raise OSError("no AF_UNIX datagram sockets here to hear other processes' commits")

        def received(burst: list[bytes]) -> None:
            # (An empty datagram is no announcement: the one that wakes a closing receiver.)
            on_texts([datagram.decode(errors="replace") for datagram in burst if datagram])
            if len(burst) >= datagram_queue_limit():  # the queue was full: some were refused
                on_texts(None)

        receiver = DatagramReceiver(
            self._directory,
            received,
            max_bytes=MAX_ANNOUNCEMENT_BYTES,
            thread_name="banktwin-commit-watch",
        )
        with self._lock:
            self._sender.skip(receiver.path)  # this process hears its own directly
        return _Listening(self, receiver)

    def _unskip(self, path: str) -> None:
        if self._sender is not None:
            with self._lock:
                self._sender.unskip(path)

    def close(self) -> None:
        if self._sender is not None:
            with self._lock:
                self._sender.close()


class _Listening:
    def __init__(self, owner: SqliteAnnouncementChannel, receiver: DatagramReceiver) -> None:
        self._owner = owner
        self._receiver = receiver

    def close(self) -> None:
        self._receiver.close()
        self._owner._unskip(self._receiver.path)
