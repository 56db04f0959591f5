"""The key-value state store in a SQLite file (by default the twin state store's file)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from banktwin.consumers.engine import Checkpoint
from banktwin.schema_migrations import Migration, migrate_sqlite, run_sqlite_script
from banktwin.sqlite_connection import (
    ThreadLocalConnections,
    connect_sqlite,
    in_write_transaction,
    sqlite_errors,
)
from banktwin.store import kv_sql, positions

_KEY_CHUNK = 500
MIGRATIONS = (
    Migration(
        "initial schema",
        run_sqlite_script(positions.SQLITE_DDL + kv_sql.ddl("BLOB") + " WITHOUT ROWID;"),
    ),
)
"""The key-value store's schema, version by version (:mod:`banktwin.schema_migrations`)."""


class SqliteKeyValueStore:
    """The :class:`~banktwin.store.kv.KeyValueStore` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._write_lock = threading.Lock()
        self._writer = connect_sqlite(path)
        self._readers = ThreadLocalConnections(path)
        with sqlite_errors("create the key-value state store"):
            migrate_sqlite(self._writer, "kv-state", MIGRATIONS, str(path))

    def positions(self, consumer: str) -> dict[int, int]:
        with sqlite_errors("read consumer positions"):
            rows = self._readers.get().execute(positions.select_sql("?"), (consumer,)).fetchall()
        return {int(p): int(o) for p, o in rows}

    def get_many(self, consumer: str, keys: Collection[str]) -> dict[str, bytes]:
        wanted = list(keys)
        found: dict[str, bytes] = {}
        conn = self._readers.get()
        with sqlite_errors("read consumer state"):
            for start in range(0, len(wanted), _KEY_CHUNK):
                chunk = wanted[start : start + _KEY_CHUNK]
                found.update(conn.execute(kv_sql.get_sql("?", len(chunk)), (consumer, *chunk)))
        return found

    def scan(
        self,
        consumer: str,
        start: str,
        end: str,
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, bytes]]:
        sql = kv_sql.scan_sql("?", limit=limit is not None, reverse=reverse)
        params = (consumer, start, end) if limit is None else (consumer, start, end, limit)
        with sqlite_errors("scan consumer state"):
            return [(k, bytes(v)) for k, v in self._readers.get().execute(sql, params)]

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        upserts, deletes = kv_sql.split_puts(checkpoint.consumer, puts)

        def write(conn: sqlite3.Connection) -> None:
            stored = dict(conn.execute(positions.select_sql("?"), (checkpoint.consumer,)))
            positions.check_positions(checkpoint.consumer, stored, checkpoint.start)
            conn.executemany(kv_sql.upsert_sql("?"), upserts)
            conn.executemany(kv_sql.delete_sql("?"), deletes)
            conn.executemany(
                positions.upsert_sql("?"),
                positions.position_rows(checkpoint.consumer, checkpoint.end),
            )

        with sqlite_errors("commit consumer state"):
            self._in_write_transaction(write)

    def reset(self, consumer: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM consumer_state WHERE consumer = ?", (consumer,))
            conn.execute("DELETE FROM projection_positions WHERE consumer = ?", (consumer,))

        with sqlite_errors("reset consumer state"):
            self._in_write_transaction(delete)

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], None]) -> None:
        in_write_transaction(self._writer, self._write_lock, work)

    def ping(self) -> None:
        with sqlite_errors("reach the key-value state store"):
            self._readers.get().execute("SELECT 1 FROM consumer_state LIMIT 1").fetchall()

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        self._readers.close()
