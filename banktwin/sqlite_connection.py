"""SQLite connections as every embedded adapter opens them, and their error mapping."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from banktwin.errors import UnavailableError

BUSY_TIMEOUT_S = 30.0
CACHE_KIB = 64 * 1024
PAGE_BYTES = 8192
"""Page size of a new file (an existing file keeps its own). Appends rewrite the pages of the
log's id and subject indexes that their keys land on, and the projector one page per subject
it writes: with 8 KiB pages an append costs about 9 % less CPU than with SQLite's default
4 KiB (docs/performance.md); smaller pages cost more."""


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, ``synchronous=FULL``.

    FULL (not NORMAL) because an answered 202 must survive power loss, not only a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA page_size={PAGE_BYTES}")  # before WAL: fixed once the file has any
    _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    # The log's id and subject indexes take random inserts: keep their pages in memory.
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, waiting while another connection switches a new file: SQLite
    answers "database is locked" at once then, without its busy wait (seen with six adapters
    opening a fresh data directory together). WAL stays set in the file, so this is a one-time
    wait."""
    _execute_when_free(conn, "PRAGMA journal_mode=WAL", BUSY_TIMEOUT_S)


class ThreadLocalConnections:
    """One reading connection per thread (a SQLite connection must not be shared by threads
    that use it at the same time); all are closed together."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_sqlite(self._path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


WRITE_LOCK_POLL_S = 0.0005
"""How often a writer looks again at a file another connection is writing (see
:func:`begin_immediate`)."""


def begin_immediate(conn: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """``BEGIN IMMEDIATE``, waiting for another connection's write to end by looking again
    every half millisecond. SQLite's own busy handler sleeps in growing steps (1, 2, 5 … up to
    100 ms at a time), so a writer waiting on two consumer processes that share a state file
    overslept locks released long before: the tail of freshness (docs/performance.md).

    Raises:
        sqlite3.OperationalError: still locked after ``timeout_s``, or another error.
    """
    conn.execute("PRAGMA busy_timeout=0")
    try:
        _execute_when_free(conn, "BEGIN IMMEDIATE", timeout_s)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")


def _execute_when_free(conn: sqlite3.Connection, statement: str, timeout_s: float) -> None:
    """``statement``, run again every :data:`WRITE_LOCK_POLL_S` while the file is busy.

    Raises:
        sqlite3.OperationalError: still busy after ``timeout_s``, or another error.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(WRITE_LOCK_POLL_S)


def in_write_transaction(
    conn: sqlite3.Connection, lock: threading.Lock, work: Callable[[sqlite3.Connection], None]
) -> None:
    """Run ``work`` in a write transaction of ``conn`` (``BEGIN IMMEDIATE``: the file's write
    lock is taken first, so nothing read inside can change before the commit); rolled back if
    it raises. ``lock`` keeps this process's threads from sharing the connection meanwhile."""
    with lock:
        begin_immediate(conn)
        try:
            work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextmanager
def sqlite_errors(action: str) -> Iterator[None]:
    """Map sqlite3's errors to :class:`UnavailableError` naming what was being done."""
    try:
        yield
    except sqlite3.Error as exc:
        raise UnavailableError(f"could not {action}: {exc}") from exc
