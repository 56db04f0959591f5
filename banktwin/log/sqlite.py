"""The embedded event log: one SQLite file in WAL mode with ``synchronous=FULL``.

An append returns only after its transaction is on disk, so an event answered 202 survives
``kill -9`` and power loss. Concurrent appends are grouped into one transaction by
:class:`banktwin.log.group_commit.GroupCommitter`, so durability costs one fsync per group,
not per event. Every append takes SQLite's write lock (``BEGIN IMMEDIATE``), so appends from
any number of processes are serialized, and an expected-version check made inside that
transaction holds until it commits. Watches of other processes are woken by datagrams
(:mod:`banktwin.log.sqlite_wake`).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from banktwin.domain.events import Event
from banktwin.log.codec import decode_event, encode_payload, parse_utc, utc_text
from banktwin.log.expected_versions import check_versions, subjects_to_check
from banktwin.log.partitioners import (
    CACHE_SUBJECTS,
    CRC32,
    MURMUR2,
    check_partitioner,
    partition_function,
)
from banktwin.log.port import AppendResult, LoggedEvent, LogWatch, TypedRead, subject_hash
from banktwin.log.sqlite_wake import SqliteLogWatches
from banktwin.schema_migrations import Migration, migrate_sqlite, run_sqlite_script
from banktwin.sqlite_connection import (
    ThreadLocalConnections,
    begin_immediate,
    connect_sqlite,
    sqlite_errors,
)

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
                                           -- (an index key only: not what picks the partition)
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
MIGRATIONS = (Migration("initial schema", run_sqlite_script(SCHEMA)),)
"""The log's schema, version by version (:mod:`banktwin.schema_migrations`); append only."""

_COLUMNS = (
    "partition_id, log_offset, event_id, subject_id, type, version, occurred_at, recorded_at, "
    "source, payload"
)
_INSERT = (
    f"INSERT INTO event_log ({_COLUMNS}, subject_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_COUNT_SUBJECT = "SELECT COUNT(*) FROM event_log WHERE subject_hash = ? AND subject_id = ?"
_ID_CHUNK = 500
DEFAULT_PARTITIONS = 4
"""Partitions of a new log: enough for a worker (or replay process) per core of a small
machine. Fixed when the log is created; an existing log keeps its own."""


_EncodedEvent = tuple[Event, bytes, int, int, str, bytes]
"""An event ready to insert: the event, its id's bytes, partition, subject hash, occurrence
time and payload as stored (a plain tuple: one is built per appended event)."""


def _encoded(event: Event, place: Callable[[str], tuple[int, int]]) -> _EncodedEvent:
    partition, hashed = place(event.subject_id)
    return (
        event,
        _uuid_bytes(event.event_id),
        partition,
        hashed,
        utc_text(event.occurred_at),
        encode_payload(event.payload),
    )


def _placement(partitioner: str, partitions: int) -> Callable[[str], tuple[int, int]]:
    """``subject_id -> (partition, subject_hash)``, the last ``CACHE_SUBJECTS`` remembered:
    one lookup per appended event (under 0.1 µs) instead of a murmur2 (about 4 µs for a UUID
    in Python) and a crc32 (0.2 µs)."""
    place = partition_function(partitioner)

    @functools.lru_cache(maxsize=CACHE_SUBJECTS)
    def placement(subject_id: str) -> tuple[int, int]:
        return place(subject_id, partitions), subject_hash(subject_id)

    return placement


def _settle_meta(conn: sqlite3.Connection, partitions: int) -> tuple[int, str]:
    """The log's partition count and partitioner, recorded on first use: a new log gets
    ``partitions`` and murmur2; a log made before partitioners were recorded keeps crc32."""
    query = "SELECT key, value FROM log_meta WHERE key IN ('partitions', 'partitioner')"
    meta = dict(conn.execute(query).fetchall())
    if len(meta) < 2:  # under the write lock: two processes opening a new log agree
        begin_immediate(conn)
        try:
            meta = dict(conn.execute(query).fetchall())
            if "partitioner" not in meta:
                empty = conn.execute("SELECT 1 FROM event_log LIMIT 1").fetchone() is None
                new = "partitions" not in meta and empty
                meta["partitioner"] = MURMUR2 if new else CRC32
            meta.setdefault("partitions", str(partitions))
            conn.executemany(
                "INSERT OR IGNORE INTO log_meta (key, value) VALUES (?, ?)", meta.items()
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return int(meta["partitions"]), check_partitioner(meta["partitioner"])


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
            migrate_sqlite(self._writer, "event-log", MIGRATIONS, str(path))
            self._partitions, self._partitioner = _settle_meta(self._writer, partitions)
        self._place = _placement(self._partitioner, self._partitions)
        self._last_recorded = datetime.min.replace(tzinfo=UTC)
        self._watches = SqliteLogWatches(path)

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def partitioner(self) -> str:
        return self._partitioner

    def partition_of(self, subject_id: str) -> int:
        return self._place(subject_id)[0]

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        if not events:
            return []
        place = self._place
        encoded = [_encoded(e, place) for e in events]
        with self._write_lock, sqlite_errors("append to the event log"):
            conn = self._writer
            try:
                begin_immediate(conn)
                if expected:  # only a conditional append looks ids up and counts first
                    known = self._existing(conn, encoded)
                    self._check(conn, encoded, known, expected)
                    results = self._insert(conn, encoded, known)
                else:
                    results = self._insert(conn, encoded, known={})
                    if results is None:  # some ids were logged before: look them up, retry
                        conn.execute("ROLLBACK")
                        begin_immediate(conn)
                        results = self._insert(conn, encoded, self._existing(conn, encoded))
                assert results is not None, "ids checked under the write lock"
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._watches.appended()
        return results

    @staticmethod
    def _check(
        conn: sqlite3.Connection,
        encoded: list[_EncodedEvent],
        known: dict[bytes, AppendResult],
        expected: Mapping[str, int],
    ) -> None:
        """Raise if a checked subject has moved (counted inside the append's transaction)."""
        checked = subjects_to_check(
            expected, ((e.subject_id, id_bytes in known) for e, id_bytes, *_ in encoded)
        )
        actual = {
            s: conn.execute(_COUNT_SUBJECT, (subject_hash(s), s)).fetchone()[0] for s in checked
        }
        check_versions(checked, actual)

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

    def subject_version(self, subject_id: str) -> int:
        with sqlite_errors("count a subject's events"):
            row = (
                self._reader()
                .execute(_COUNT_SUBJECT, (subject_hash(subject_id), subject_id))
                .fetchone()
            )
        return int(row[0])

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        """This object's appends are called back directly; other objects' and processes'
        through a socket of this watch's own (see :mod:`banktwin.log.sqlite_wake`)."""
        return self._watches.watch(on_append)

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        return _logged_rows(self._rows(partition, start, limit))

    def read_types(
        self, partition: int, start: int, limit: int, types: Collection[str]
    ) -> TypedRead:
        rows = self._rows(partition, start, limit)
        if not rows:
            return TypedRead([], 0, start)
        wanted = [row for row in rows if row[4] in types]  # decoded only if of those types
        return TypedRead(_logged_rows(wanted), len(rows), rows[-1][1] + 1)

    def _rows(self, partition: int, start: int, limit: int) -> list[tuple[Any, ...]]:
        with sqlite_errors("read the event log"):
            return (
                self._reader()
                .execute(
                    f"SELECT {_COLUMNS} FROM event_log WHERE partition_id = ? AND log_offset >= ? "
                    "ORDER BY log_offset LIMIT ?",
                    (partition, start, limit),
                )
                .fetchall()
            )

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

    def read_subject(
        self, subject_id: str, until: datetime | None = None, *, since: datetime | None = None
    ) -> Iterator[LoggedEvent]:
        sql = f"SELECT {_COLUMNS} FROM event_log WHERE subject_hash = ? AND subject_id = ?"
        params: tuple[object, ...] = (subject_hash(subject_id), subject_id)
        if until is not None:
            sql += " AND occurred_at <= ?"
            params = (*params, utc_text(until))
        if since is not None:
            sql += " AND occurred_at >= ?"
            params = (*params, utc_text(since))
        with sqlite_errors("read a subject's events"):
            rows = self._reader().execute(sql + " ORDER BY partition_id, log_offset", params)
            yield from _logged_rows(rows.fetchall())

    def ping(self) -> None:
        with sqlite_errors("reach the event log"):
            self._reader().execute("SELECT 1 FROM event_log LIMIT 1").fetchone()

    def close(self) -> None:
        self._watches.close()
        with self._write_lock:
            self._writer.close()
        self._readers.close()
