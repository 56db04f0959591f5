"""Wake-ups between processes sharing a PostgreSQL log: LISTEN/NOTIFY.

Every append that logs something notifies channel ``banktwin_log`` inside its transaction,
with the schema holding the log (``current_schema()``) as payload: PostgreSQL delivers it at
commit, once per transaction, to every session of the database listening on the channel. A
watch holds a connection of its own (not from the pool: a LISTEN lasts as long as its
session) and calls back for notifications naming its own schema, so logs in other schemas of
the database wake it only as far as its thread, never its watcher.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

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


class NotifyListener:
    """A LISTEN connection and the daemon thread that calls ``on_append`` for its schema.

    The first connection is made before the constructor returns, so every append committed
    afterwards is seen. When the connection drops, the thread reconnects with back-off and
    then calls back once, as appends may have been missed meanwhile.
    """

    def __init__(self, url: str, schema: str | None, on_append: Callable[[], None]) -> None:
        self._url = url
        self._schema = schema
        self._on_append = on_append
        self._stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._key = ""
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            _log.warning("event-log watch: cannot listen yet, will retry: %s", exc)
        self._thread = threading.Thread(target=self._run, name="banktwin-log-watch", daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, **connection_kwargs(self._schema, "event-log watch"))
        try:
            row = conn.execute("SELECT current_schema()").fetchone()
            self._key = row[0] if row is not None and row[0] is not None else ""
            conn.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        conn, self._conn = self._conn, None
        backoff = RECONNECT_MIN_S
        try:
            while not self._stop.is_set():
                if conn is None:
                    try:
                        conn = self._connect()
                    except psycopg.Error as exc:
                        _log.debug("event-log watch: reconnect failed: %s", exc)
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, RECONNECT_MAX_S)
                        continue
                    backoff = RECONNECT_MIN_S
                    call_back(self._on_append)  # appends made while it was away
                try:
                    woken = self._receive(conn)
                except psycopg.Error as exc:
                    _log.warning("event-log watch: connection lost, reconnecting: %s", exc)
                    conn.close()
                    conn = None
                    self._stop.wait(backoff)
                    continue
                if woken and not self._stop.is_set():
                    call_back(self._on_append)
        finally:
            if conn is not None:
                conn.close()

    def _receive(self, conn: psycopg.Connection[Any]) -> bool:
        """Wait up to ``POLL_S`` for notifications; whether one named this log's schema (those
        arriving together are taken together: a burst is one call back)."""
        woken = False
        for notify in conn.notifies(timeout=POLL_S, stop_after=1):  # (iterated to its end)
            woken = woken or notify.payload == self._key
        return woken

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_S + 5)


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
