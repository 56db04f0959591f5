"""Wake-ups between processes sharing a PostgreSQL log: LISTEN/NOTIFY.

Every append that logs something notifies channel ``banktwin_log`` inside its transaction,
with the schema holding the log (``current_schema()``) as payload: PostgreSQL delivers it at
commit, once per transaction, to every session of the database listening on the channel. A
watch holds a connection of its own (not from the pool: a LISTEN lasts as long as its
session) and calls back for notifications naming its own schema, so logs in other schemas of
the database wake it only as far as its thread, never its watcher.

:class:`ChannelListener` is the LISTEN side for any channel: the consumers' commit
announcements (:mod:`banktwin.consumers.postgres_announcements`) use it with a channel per
schema.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from banktwin.log.local_watches import LocalWatch, LocalWatches, call_back
from banktwin.log.port import LogWatch
from banktwin.postgres_connection import connection_kwargs

CHANNEL = "banktwin_log"
NOTIFY = f"pg_notify('{CHANNEL}', current_schema())"
"""The SQL expression an append evaluates in its transaction (a duplicate in one transaction,
same channel and payload, is delivered once)."""

POLL_S = 0.2
"""How long a listener waits for a notification before it looks at its stop flag: the most
:meth:`NotifyListener.close` waits."""

RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 5.0

_log = logging.getLogger(__name__)


class ChannelListener:
    """A LISTEN connection and the daemon thread that hands its notifications on.

    ``channel`` names the channel to listen on from the session's schema
    (``current_schema()``); ``on_notifies`` is called with that schema and the payloads of a
    burst of notifications, or with ``None`` after the connection was made again (what was
    notified meanwhile is lost). The first connection is made before the constructor
    returns, so every notification committed afterwards is seen. When the connection drops,
    the thread reconnects with back-off.
    """

    def __init__(
        self,
        url: str,
        schema: str | None,
        channel: Callable[[str], str],
        on_notifies: Callable[[str, list[str] | None], None],
        *,
        purpose: str = "event-log watch",
        thread_name: str = "banktwin-log-watch",
    ) -> None:
        self._url = url
        self._schema = schema
        self._channel = channel
        self._on_notifies = on_notifies
        self._purpose = purpose
        self._stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._key = ""
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            _log.warning("%s: cannot listen yet, will retry: %s", purpose, exc)
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, **connection_kwargs(self._schema, self._purpose))
        try:
            row = conn.execute("SELECT current_schema()").fetchone()
            self._key = row[0] if row is not None and row[0] is not None else ""
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel(self._key))))
        except BaseException:
            conn.close()
            raise
        return conn

    def _hand_on(self, payloads: list[str] | None) -> None:
        try:
            self._on_notifies(self._key, payloads)
        except Exception:  # the listener goes on: the next notification is handed on again
            _log.exception("%s: a listener failed", self._purpose)

    def _run(self) -> None:
        conn, self._conn = self._conn, None
        backoff = RECONNECT_MIN_S
        try:
            while not self._stop.is_set():
                if conn is None:
                    try:
                        conn = self._connect()
                    except psycopg.Error as exc:
                        _log.debug("%s: reconnect failed: %s", self._purpose, exc)
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, RECONNECT_MAX_S)
                        continue
                    backoff = RECONNECT_MIN_S
                    self._hand_on(None)  # notified while it was away
                try:
                    payloads = self._receive(conn)
                except psycopg.Error as exc:
                    _log.warning("%s: connection lost, reconnecting: %s", self._purpose, exc)
                    conn.close()
                    conn = None
                    self._stop.wait(backoff)
                    continue
                if payloads and not self._stop.is_set():
                    self._hand_on(payloads)
        finally:
            if conn is not None:
                conn.close()

    def _receive(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Wait up to ``POLL_S`` for notifications; their payloads (those arriving together
        are taken together: a burst is one call)."""
        return [n.payload for n in conn.notifies(timeout=POLL_S, stop_after=1)]

    def close(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:  # (closed by its own listener)
            self._thread.join(timeout=POLL_S + 5)


class NotifyListener(ChannelListener):
    """A LISTEN on ``banktwin_log`` that calls ``on_append`` for its schema's appends, and
    once after a reconnection, as appends may have been missed meanwhile."""

    def __init__(self, url: str, schema: str | None, on_append: Callable[[], None]) -> None:
        self._on_append = on_append
        super().__init__(url, schema, lambda _schema: CHANNEL, self._notified)

    def _notified(self, schema: str, payloads: list[str] | None) -> None:
        if payloads is None or schema in payloads:
            call_back(self._on_append)


class PostgresLogWatches:
    """The watches of one PostgreSQL log object: each is called back directly for this
    object's appends, and by its own listener for every append to the log (this one's too:
    a second, harmless call)."""

    def __init__(self, url: str, schema: str | None) -> None:
        self._url = url
        self._schema = schema
        self._local = LocalWatches()
        self._lock = threading.Lock()
        self._open: set[_PostgresWatch] = set()

    def appended(self) -> None:
        self._local.notify()

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        listener = NotifyListener(self._url, self._schema, on_append)
        watch = _PostgresWatch(self, self._local.add(on_append), listener)
        with self._lock:
            self._open.add(watch)
        return watch

    def _forget(self, watch: _PostgresWatch) -> None:
        with self._lock:
            self._open.discard(watch)

    def close(self) -> None:
        """Close every watch still open."""
        with self._lock:
            still_open = list(self._open)
        for watch in still_open:
            watch.close()


class _PostgresWatch:
    def __init__(
        self, owner: PostgresLogWatches, local: LocalWatch, listener: NotifyListener
    ) -> None:
        self._owner = owner
        self._local = local
        self._listener = listener

    def close(self) -> None:
        self._local.close()
        self._listener.close()
        self._owner._forget(self)
