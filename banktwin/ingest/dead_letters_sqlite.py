"""The dead-letter table in a SQLite file (by default the twin state store's file)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from banktwin.ingest import dead_letters_sql as sql
from banktwin.ingest.dead_letters import DeadLetter, SourceCounts, Status, check_resolution
from banktwin.schema_migrations import Migration, migrate_sqlite, run_sqlite_script
from banktwin.sqlite_connection import (
    ThreadLocalConnections,
    connect_sqlite,
    in_write_transaction,
    sqlite_errors,
)

MIGRATIONS = (
    Migration(
        "initial schema",
        run_sqlite_script(
            ";\n".join(sql.ddl(seq="INTEGER PRIMARY KEY", blob="BLOB", time="TEXT")) + ";\n"
        ),
    ),
)
"""The dead-letter table's schema, version by version (:mod:`banktwin.schema_migrations`)."""


def _time(at: datetime) -> str:
    # One fixed format in UTC, so that times compare as text.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _read_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqliteDeadLetterStore:
    """The :class:`~banktwin.ingest.dead_letters.DeadLetterStore` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._write_lock = threading.Lock()
        self._writer = connect_sqlite(path)
        self._readers = ThreadLocalConnections(path)
        with sqlite_errors("create the dead-letter table"):
            migrate_sqlite(self._writer, "dead-letters", MIGRATIONS, str(path))

    def add(self, letters: Sequence[DeadLetter]) -> int:
        if not letters:
            return 0
        rows = [sql.insert_row(letter, _time) for letter in letters]
        added = 0

        def insert(conn: sqlite3.Connection) -> None:
            nonlocal added
            before = conn.total_changes
            conn.executemany(sql.insert_sql("?"), rows)
            added = conn.total_changes - before

        with sqlite_errors("keep dead letters"):
            self._in_write_transaction(insert)
        return added

    def page(
        self,
        *,
        source: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DeadLetter], int]:
        condition, params = sql.where("?", source, status)
        conn = self._readers.get()
        with sqlite_errors("read dead letters"):
            rows = conn.execute(sql.page_sql("?", condition), (*params, limit, offset)).fetchall()
            (total,) = conn.execute(sql.count_sql(condition), params).fetchone()
        return [sql.letter_from_row(row, _read_time) for row in rows], int(total)

    def get(self, letter_id: str) -> DeadLetter | None:
        with sqlite_errors("read a dead letter"):
            row = self._readers.get().execute(sql.get_sql("?"), (letter_id,)).fetchone()
        return None if row is None else sql.letter_from_row(row, _read_time)

    def counts(self, since: datetime) -> dict[str, SourceCounts]:
        with sqlite_errors("count dead letters"):
            rows = self._readers.get().execute(sql.counts_sql("?"), (_time(since),)).fetchall()
        return {source: SourceCounts(int(t), int(p), int(s)) for source, t, p, s in rows}

    def resolve(self, letter_id: str, status: Status, note: str, at: datetime) -> DeadLetter:
        check_resolution(letter_id, status, Status.PENDING)  # refuses `pending` before writing

        def update(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                sql.resolve_sql("?"), (status.value, _time(at), note, letter_id)
            ).rowcount
            if not changed:
                row = conn.execute(sql.status_sql("?"), (letter_id,)).fetchone()
                check_resolution(letter_id, status, None if row is None else Status(row[0]))

        with sqlite_errors("resolve a dead letter"):
            self._in_write_transaction(update)
        resolved = self.get(letter_id)
        assert resolved is not None
        return resolved

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], None]) -> None:
        in_write_transaction(self._writer, self._write_lock, work)

    def ping(self) -> None:
        with sqlite_errors("reach the dead-letter table"):
            self._readers.get().execute("SELECT 1 FROM dead_letters LIMIT 1").fetchall()

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        self._readers.close()
