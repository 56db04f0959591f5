"""Taking SQLite's write lock: waiting for another writer without SQLite's coarse sleeps."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from banktwin.sqlite_connection import BUSY_TIMEOUT_S, begin_immediate, connect_sqlite


def busy_timeout_ms(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])


def test_a_writer_waits_for_another_and_gets_the_lock_when_it_is_released(
    tmp_path: Path,
) -> None:
    holder, waiter = connect_sqlite(tmp_path / "f.db"), connect_sqlite(tmp_path / "f.db")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    released = threading.Timer(0.05, lambda: holder.execute("COMMIT"))
    released.start()
    begin_immediate(waiter)  # returns only once the holder has committed
    assert waiter.execute("SELECT x FROM t").fetchall() == [(1,)]
    waiter.execute("COMMIT")
    released.join()
    assert busy_timeout_ms(waiter) == BUSY_TIMEOUT_S * 1000  # SQLite's wait restored


def test_a_lock_never_released_is_an_error_after_the_timeout(tmp_path: Path) -> None:
    holder, waiter = connect_sqlite(tmp_path / "f.db"), connect_sqlite(tmp_path / "f.db")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter, timeout_s=0.02)
    assert not waiter.in_transaction and busy_timeout_ms(waiter) == BUSY_TIMEOUT_S * 1000
    holder.execute("ROLLBACK")


def test_connections_opening_a_new_file_at_once_all_get_it_in_wal_mode(tmp_path: Path) -> None:
    """Switching a new file to WAL needs its lock, and SQLite may answer "database is locked"
    at once (no busy wait) while another connection switches it: every opener must wait."""
    errors: list[BaseException] = []
    connections: list[sqlite3.Connection] = []
    barrier = threading.Barrier(8)

    def open_one(path: Path) -> None:
        barrier.wait()
        try:
            connections.append(connect_sqlite(path))
        except BaseException as exc:
            errors.append(exc)

    for attempt in range(20):  # the race is in SQLite's timing: give it many chances
        path = tmp_path / f"new-{attempt}.db"
        threads = [threading.Thread(target=open_one, args=(path,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        modes = {c.execute("PRAGMA journal_mode").fetchone()[0] for c in connections}
        for conn in connections:
            conn.close()
        connections.clear()
        assert errors == [] and modes == {"wal"}
