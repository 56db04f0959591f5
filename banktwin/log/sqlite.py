"""The embedded event log: one SQLite file in WAL mode with ``synchronous=FULL``.

An append returns only after its transaction is on disk, so an event answered 202 survives
``kill -9`` and power loss. Concurrent appends are grouped into one transaction by
:class:`banktwin.log.group_commit.GroupCommitter`, so durability costs one fsync per group,
not per event.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from banktwin.domain.events import Event
from banktwin.log.codec import decode_event, encode_payload, parse_utc, utc_text
from banktwin.log.port import AppendResult, LoggedEvent, subject_hash
from banktwin.sqlite_connection import ThreadLocalConnections, connect_sqlite, sqlite_errors

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_log (
    partition_id INTEGER NOT NULL,
    log_offset   INTEGER NOT NULL,
    event_id     BLOB    NOT NULL UNIQUE,  -- the UUID's 16 bytes: a smaller, faster index
    subject_id   TEXT    NOT NULL,
    subject_hash INTEGER NOT NULL,         -- crc32(subject_id), indexed in place of the text
    type         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    occurred_at  TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    PRIMARY KEY (partition_id, log_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_log_by_subject ON event_log (subject_hash);
"""

_COLUMNS = (
    "partition_id, log_offset, event_id, subject_id, type, version, occurred_at, recorded_at, "
    "source, payload"
)
_INSERT = (
    f"INSERT INTO event_log ({_COLUMNS}, subject_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_ID_CHUNK = 500
DEFAULT_PARTITIONS = 4
"""Partitions of a new log: enough for a worker (or replay process) per core of a small
machine. Fixed when the log is created; an existing log keeps its own."""


_EncodedEvent = tuple[Event, bytes, int, int, str, bytes]
"""An event ready to insert: the event, its id's bytes, partition, subject hash, occurrence
time and payload as stored (a plain tuple: one is built per appended event)."""


def _encoded(event: Event, partitions: int) -> _EncodedEvent:
    hashed = subject_hash(event.subject_id)
    return (
        event,
        _uuid_bytes(event.event_id),
        hashed % partitions,  # partition_for(), from the hash the row keeps anyway
        hashed,
        utc_text(event.occurred_at),
        encode_payload(event.payload),
    )


def _uuid_bytes(text: str) -> bytes:
    # Event ids are canonical UUID text (the edge makes them so): five times faster than
    # uuid.UUID(text).bytes.
    raw = bytes.fromhex(text.replace("-", ""))
    if len(raw) != 16:
        raise ValueError(f"event id {text!r} is not a UUID")
    return raw


def _uuid_text(raw: bytes) -> str:
    # Formatting the hex by hand is three times faster than uuid.UUID(bytes=raw), once per
    # event read.
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _logged_rows(rows: list[tuple[Any, ...]]) -> list[LoggedEvent]:
    # The hottest loop of a projector: positional calls, and the recording time (shared by
    # every event of an append) parsed once.
    recorded_times: dict[str, datetime] = {}
    logged = []
    for (
        partition,
        offset,
        event_id,
        subject,
        type_,
        version,
        occurred,
        recorded,
        source,
        data,
    ) in rows:
        recorded_at = recorded_times.get(recorded)
        if recorded_at is None:
            recorded_at = recorded_times[recorded] = parse_utc(recorded)
        event = decode_event(
            _uuid_text(event_id),
            type_,
            version,
            subject,
            parse_utc(occurred),
            recorded_at,
            source,
            data,
        )
        logged.append(LoggedEvent(partition, offset, event))
    return logged


class SqliteEventLog:
    """The :class:`~banktwin.log.port.EventLog` on one SQLite file."""

    def __init__(self, path: Path, partitions: int = DEFAULT_PARTITIONS) -> None:
        self._path = path
        self._write_lock = threading.Lock()
        self._readers = ThreadLocalConnections(path)
        self._writer = connect_sqlite(path)
        with sqlite_errors("create the event log"):
            self._writer.executescript(SCHEMA)
            self._writer.execute(
                "INSERT OR IGNORE INTO log_meta (key, value) VALUES ('partitions', ?)",
                (str(partitions),),
            )
            row = self._writer.execute(
                "SELECT value FROM log_meta WHERE key = 'partitions'"
            ).fetchone()
        self._partitions = int(row[0])
        self._last_recorded = datetime.min.replace(tzinfo=UTC)

    @property
    def partitions(self) -> int:
        return self._partitions

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    def append(self, events: Sequence[Event]) -> list[AppendResult]:
        if not events:
            return []
        encoded = [_encoded(e, self._partitions) for e in events]
        with self._write_lock, sqlite_errors("append to the event log"):
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                results = self._insert(conn, encoded, known={})
                if results is None:  # some ids were logged before: look them up, insert the rest
                    conn.execute("ROLLBACK")
                    conn.execute("BEGIN IMMEDIATE")
                    results = self._insert(conn, encoded, known=self._existing(conn, encoded))
                    assert results is not None, "ids checked under the write lock"
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return results

    def _insert(
        self,
        conn: sqlite3.Connection,
        encoded: list[_EncodedEvent],
        known: dict[bytes, AppendResult],
    ) -> list[AppendResult] | None:
        """Insert the events not in ``known``; ``None`` if the log already held one of them
        (the caller rolls back and retries knowing which)."""
        next_offset = {
            p: conn.execute(
                "SELECT COALESCE(MAX(log_offset) + 1, 0) FROM event_log WHERE partition_id = ?",
                (p,),
            ).fetchone()[0]
            for p in {partition for _, _, partition, *_ in encoded}
        }
        # The log's clock only moves forward, even if the machine's clock steps back.
        now = max(datetime.now(UTC), self._last_recorded)
        self._last_recorded = now
        recorded_text = utc_text(now)
        rows = []
        results = []
        known = dict(known)
        for event, id_bytes, partition, hashed, occurred_text, payload in encoded:
            original = known.get(id_bytes)
            if original is not None:
                results.append(original._replace(event_id=event.event_id, duplicate=True))
                continue
            offset = next_offset[partition]
            next_offset[partition] = offset + 1
            result = AppendResult(event.event_id, partition, offset, now)
            known[id_bytes] = result
            results.append(result)
            rows.append(
                (
                    partition,
                    offset,
                    id_bytes,
                    event.subject_id,
                    event.type,
                    event.version,
                    occurred_text,
                    recorded_text,
                    event.source,
                    payload,
                    hashed,
                )
            )
        before = conn.total_changes
        conn.executemany(_INSERT, rows)
        return results if conn.total_changes - before == len(rows) else None

    @staticmethod
    def _existing(
        conn: sqlite3.Connection, encoded: list[_EncodedEvent]
    ) -> dict[bytes, AppendResult]:
        ids = list({id_bytes for _, id_bytes, *_ in encoded})
        found: dict[bytes, AppendResult] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            for event_id, partition, offset, recorded in conn.execute(
                "SELECT event_id, partition_id, log_offset, recorded_at FROM event_log "
                f"WHERE event_id IN ({marks})",
                chunk,
            ):
                found[event_id] = AppendResult(
                    str(uuid.UUID(bytes=event_id)),
                    partition,
                    offset,
                    parse_utc(recorded),
                    duplicate=True,
                )
        return found

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        with sqlite_errors("read the event log"):
            rows = (
                self._reader()
                .execute(
                    f"SELECT {_COLUMNS} FROM event_log WHERE partition_id = ? AND log_offset >= ? "
                    "ORDER BY log_offset LIMIT ?",
                    (partition, start, limit),
                )
                .fetchall()
            )
        return _logged_rows(rows)

    def end_offsets(self) -> dict[int, int]:
        with sqlite_errors("read the event log's offsets"):
            conn = self._reader()
            return {
                p: conn.execute(
                    "SELECT COALESCE(MAX(log_offset) + 1, 0) FROM event_log WHERE partition_id = ?",
                    (p,),
                ).fetchone()[0]
                for p in range(self._partitions)
            }

    def read_subject(self, subject_id: str, until: datetime | None = None) -> Iterator[LoggedEvent]:
        sql = f"SELECT {_COLUMNS} FROM event_log WHERE subject_hash = ? AND subject_id = ?"
        params: tuple[object, ...] = (subject_hash(subject_id), subject_id)
        if until is not None:
            sql += " AND occurred_at <= ?"
            params = (*params, utc_text(until))
        with sqlite_errors("read a subject's events"):
            rows = self._reader().execute(sql + " ORDER BY partition_id, log_offset", params)
            yield from _logged_rows(rows.fetchall())

    def ping(self) -> None:
        with sqlite_errors("reach the event log"):
            self._reader().execute("SELECT 1 FROM event_log LIMIT 1").fetchone()

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        self._readers.close()
