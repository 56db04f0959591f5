"""Commit announcements between processes sharing a PostgreSQL schema: LISTEN/NOTIFY.

A channel per schema (:func:`commit_channel`; the log's appends notify ``banktwin_log``, so
the two never wake each other's listeners), the announcement as payload. A committing process
hands the announcement to a sender thread of its own, which notifies on a connection of its
own (not from the pool: a commit must never wait for one): the consumer's thread does no I/O,
and announcements arriving while a notification is on its way go together in the next
statement. The server drops a notification nobody listens to, but cannot tell the sender
beforehand, so each commit costs one such statement, on that thread, committed without waiting
for its WAL flush (``synchronous_commit = off``). A subscribing process holds one LISTEN
connection while it has subscribers (:class:`~banktwin.log.postgres_notify.ChannelListener`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from banktwin.consumers.announcement_channels import Closeable
from banktwin.log.postgres_notify import RECONNECT_MAX_S, RECONNECT_MIN_S, ChannelListener
from banktwin.postgres_connection import connection_kwargs

PREFIX = "banktwin_commits_"
MAX_CHANNEL_BYTES = 63
"""PostgreSQL's longest identifier (a channel is one)."""
MAX_PENDING = 1000
"""Most announcements waiting for the sender (the oldest go first: a later one of the same
consumer says as much)."""
CLOSE_WAIT_S = 2.0
"""How long closing waits for the sender to hand on what is pending."""
NOTIFY_ALL = "SELECT pg_notify(%s, text) FROM unnest(%s::text[]) AS text"

_log = logging.getLogger(__name__)


def commit_channel(schema: str) -> str:
    """The channel of the commits of consumers whose state is in ``schema``: its name, or a
    digest of it when the name would be too long for a channel."""
    channel = PREFIX + schema
    if len(channel.encode()) > MAX_CHANNEL_BYTES:
        channel = PREFIX + hashlib.sha256(schema.encode()).hexdigest()[:32]
    return channel


class PostgresAnnouncementChannel:
    """The :class:`~banktwin.consumers.announcement_channels.AnnouncementChannel` of the
    processes sharing a PostgreSQL database and schema (the state store's)."""

    def __init__(self, url: str, schema: str | None) -> None:
        self._url = url
        self._schema = schema
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._due = threading.Event()
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self._failing = False

    def send(self, text: str) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            if len(self._pending) >= MAX_PENDING:
                del self._pending[0]
            self._pending.append(text)
            if self._sender is None:  # started by the first announcement, not before
                self._sender = threading.Thread(
                    target=self._send_pending, name="banktwin-commit-announcer", daemon=True
                )
                self._sender.start()
        self._due.set()

    def _send_pending(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        channel = ""
        backoff = RECONNECT_MIN_S
        try:
            while True:
                self._due.wait()
                self._due.clear()
                with self._lock:
                    texts, self._pending = self._pending, []
                if texts:
                    try:
                        if conn is None:
                            conn, channel = self._connect()
                        conn.execute(NOTIFY_ALL, (channel, texts))
                    except psycopg.Error as exc:
                        self._failed(exc, len(texts))
                        if conn is not None:
                            conn.close()
                            conn = None
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, RECONNECT_MAX_S)
                    else:
                        backoff = RECONNECT_MIN_S
                        self._recovered()
                if self._stop.is_set():
                    return
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> tuple[psycopg.Connection[Any], str]:
        conn = psycopg.connect(self._url, **connection_kwargs(self._schema, "commit announcer"))
        try:
            # A notifying transaction holds the database's notification lock until its commit
            # is done (the log's appends wait for it too): no WAL flush to wait for, then. An
            # announcement lost in a crash of the server is what the subscribers' re-reads are for.
            conn.execute("SET synchronous_commit = off")
            row = conn.execute("SELECT current_schema()").fetchone()
        except BaseException:
            conn.close()
            raise
        schema = row[0] if row is not None and row[0] is not None else ""
        return conn, commit_channel(schema)

    def _failed(self, exc: psycopg.Error, count: int) -> None:
        # Lost, not retried: a subscriber re-reads on its own now and then (the streams do).
        if not self._failing:
            _log.warning("could not announce %d commit(s) to other processes: %s", count, exc)
        else:
            _log.debug("could not announce %d commit(s) to other processes: %s", count, exc)
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            _log.info("announcing commits to other processes again")
        self._failing = False

    def listen(self, on_texts: Callable[[list[str] | None], None]) -> Closeable:
        return ChannelListener(
            self._url,
            self._schema,
            commit_channel,
            lambda _schema, texts: on_texts(texts),
            purpose="commit announcements",
            thread_name="banktwin-commit-watch",
        )

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            sender = self._sender
        self._due.set()
        if sender is not None:
            sender.join(CLOSE_WAIT_S)
