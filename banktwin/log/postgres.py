"""The event log on PostgreSQL: several writer processes, offsets visible strictly in order.

Readers (the projector, any Kafka-style consumer) keep per partition the next offset they want
and never look back, so an offset must never become visible after a higher one of the same
partition: a reader that had moved past the gap would skip that event forever. A sequence or
``MAX(log_offset) + 1`` allows exactly that (a later writer can commit first). Offsets are
therefore taken from one counter row per partition (``log_partitions``), locked and advanced
inside the appending transaction. The row lock is held until commit, so the writers of a
partition commit one after another, in offset order, whichever process they run in.
Partitions are locked in ascending order, so two appends spanning the same partitions cannot
deadlock.

Appends rely on PostgreSQL's default ``synchronous_commit = on``: an append returns only when
its events are on disk, so an event answered 202 survives a crash of either side.

The same locks make expected-version appends race-free: every append to a subject locks the
subject's partition first, so a count of the subject's events taken after that lock holds
until the append commits. Each append that logs something notifies the log's watchers
(:mod:`banktwin.log.postgres_notify`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from banktwin.domain.events import Event
from banktwin.errors import UnavailableError
from banktwin.log.codec import decode_event, encode_payload
from banktwin.log.expected_versions import check_versions, subjects_to_check
from banktwin.log.partitioners import CRC32, MURMUR2, check_partitioner, subject_partitioner
from banktwin.log.port import AppendResult, LoggedEvent, LogWatch, TypedRead
from banktwin.log.postgres_notify import NOTIFY, PostgresLogWatches
from banktwin.postgres_connection import (
    RETRYABLE,
    Setup,
    open_pool,
    postgres_errors,
    prepare_database,
)
from banktwin.schema_migrations import Migration, create_missing_step, lock_schema

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS log_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS log_partitions (
        partition_id integer PRIMARY KEY,
        next_offset  bigint  NOT NULL CHECK (next_offset >= 0)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS event_log (
        partition_id integer     NOT NULL,
        log_offset   bigint      NOT NULL,
        event_id     text        NOT NULL UNIQUE,
        subject_id   text        NOT NULL,
        type         text        NOT NULL,
        version      integer     NOT NULL,
        occurred_at  timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL,
        source       text        NOT NULL,
        payload      jsonb       NOT NULL,
        PRIMARY KEY (partition_id, log_offset)
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS event_log_by_subject
        ON event_log (subject_id, partition_id, log_offset)
    """,
)
MIGRATIONS = (Migration("initial schema", create_missing_step(SCHEMA)),)
"""The log's schema, version by version (:mod:`banktwin.schema_migrations`); append only."""

_COLUMNS = (
    "partition_id, log_offset, event_id, subject_id, type, version, occurred_at, recorded_at, "
    "source, payload"
)
# jsonb is read back as its text form: the codec parses it into the typed payload.
_SELECT = (
    "SELECT partition_id, log_offset, event_id, subject_id, type, version, occurred_at, "
    "recorded_at, source, payload::text FROM event_log"
)
_COPY = f"COPY event_log ({_COLUMNS}) FROM STDIN"
# The notification rides on the statement every append that logs something runs anyway (one
# round trip fewer; evaluated once per partition row, delivered once per transaction).
_ALLOCATE = (
    "UPDATE log_partitions AS lp SET next_offset = lp.next_offset + c.n "
    "FROM unnest(%s::int[], %s::bigint[]) AS c (partition_id, n) "
    "WHERE lp.partition_id = c.partition_id "
    f"RETURNING lp.partition_id, lp.next_offset, clock_timestamp(), {NOTIFY}"
)
_COUNT_SUBJECTS = (
    "SELECT subject_id, count(*) FROM event_log WHERE subject_id = ANY(%s::text[]) "
    "GROUP BY subject_id"
)


@dataclass(frozen=True, slots=True)
class _Encoded:
    """An event ready to be written: its partition and JSON payload computed once."""

    event: Event
    partition: int
    payload: str


def _aware(moment: datetime) -> datetime:
    # A naive time means local time, as the SQLite log reads it (not the session's UTC).
    return moment if moment.tzinfo is not None else moment.astimezone(UTC)


def _logged(row: tuple[Any, ...]) -> LoggedEvent:
    partition, offset, event_id, subject_id, type_, version, occurred, recorded, source, data = row
    return LoggedEvent(
        partition=partition,
        offset=offset,
        event=decode_event(
            event_id=event_id,
            event_type=type_,
            version=version,
            subject_id=subject_id,
            occurred_at=occurred,
            recorded_at=recorded,
            source=source,
            payload=data,
        ),
    )


def _create(partitions: int) -> Setup[tuple[int, str]]:
    """The step run after the migrations, under the DDL lock: record the partition count and
    the partitioner (an existing log keeps its own; one made before partitioners were
    recorded keeps crc32) and seed one offset counter per partition."""

    def setup(conn: psycopg.Connection[Any]) -> tuple[int, str]:
        with conn.transaction():  # under the lock: processes opening a new log agree
            lock_schema(conn)
            return settle(conn)

    def settle(conn: psycopg.Connection[Any]) -> tuple[int, str]:
        query = "SELECT key, value FROM log_meta WHERE key IN ('partitions', 'partitioner')"
        meta = dict(conn.execute(query).fetchall())
        if "partitioner" not in meta:
            empty = conn.execute("SELECT 1 FROM event_log LIMIT 1").fetchone() is None
            meta["partitioner"] = MURMUR2 if "partitions" not in meta and empty else CRC32
        meta.setdefault("partitions", str(partitions))
        with conn.cursor() as cur:  # only missing keys: the DDL lock serializes the openers
            cur.executemany(
                "INSERT INTO log_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                list(meta.items()),
            )
        stored = int(meta["partitions"])
        # Only missing counters are inserted: an insert meeting an existing row would wait
        # for the appends holding its lock. They start after any rows already there (a log
        # restored or copied in).
        conn.execute(
            "INSERT INTO log_partitions (partition_id, next_offset) "
            "SELECT p, COALESCE((SELECT MAX(log_offset) + 1 FROM event_log "
            "                    WHERE partition_id = p), 0) "
            "FROM generate_series(0, %s - 1) AS p "
            "WHERE NOT EXISTS (SELECT 1 FROM log_partitions WHERE partition_id = p)",
            (stored,),
        )
        return stored, check_partitioner(meta["partitioner"])

    return setup


class PostgresEventLog:
    """The :class:`~banktwin.log.port.EventLog` on PostgreSQL.

    Safe to share between threads (each operation borrows a pooled connection) and to run in
    several processes against one database (offsets are allocated under a row lock).
    """

    def __init__(self, url: str, partitions: int = 8, schema: str | None = None) -> None:
        self._partitions, self._partitioner = prepare_database(
            url, schema, "event-log", MIGRATIONS, _create(partitions)
        )
        self._partition_of = subject_partitioner(self._partitioner, self._partitions)
        self._pool = open_pool(url, schema, "event-log")
        self._clock_lock = threading.Lock()
        self._last_recorded = datetime.min.replace(tzinfo=UTC)
        self._watches = PostgresLogWatches(url, schema)

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def partitioner(self) -> str:
        return self._partitioner

    def partition_of(self, subject_id: str) -> int:
        return self._partition_of(subject_id)

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        """Append in one transaction (see :meth:`~banktwin.log.port.EventLog.append`).

        The partitions' counter rows are locked before ids are looked up, so a concurrent
        re-send of the same event (same subject, same partition) is either committed and found,
        or waits for us. Only an id reused by another subject can still collide (a unique
        violation, or a deadlock on the id); then the whole append runs once more and finds it.
        With ``expected``, the partitions of its subjects are locked too, and the subjects'
        events counted once every lock is held.
        """
        if not events:
            return []
        partition_of = self._partition_of
        encoded = [
            _Encoded(e, partition_of(e.subject_id), encode_payload(e.payload).decode())
            for e in events
        ]
        with postgres_errors("append to the event log", conflicts=False):
            try:
                results = self._append_once(encoded, expected)
            except (pg_errors.UniqueViolation, *RETRYABLE):
                results = self._append_once(encoded, expected)
        self._watches.appended()
        return results

    def _append_once(
        self, encoded: list[_Encoded], expected: Mapping[str, int] | None
    ) -> list[AppendResult]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            partitions = {item.partition for item in encoded}
            if expected:
                partitions.update(self._partition_of(s) for s in expected)
            self._lock_partitions(cur, sorted(partitions))
            known = self._existing(cur, list({item.event.event_id for item in encoded}))
            if expected:
                self._check(cur, encoded, known, expected)
            fresh: dict[str, _Encoded] = {}
            for item in encoded:
                event_id = item.event.event_id
                if event_id not in known and event_id not in fresh:
                    fresh[event_id] = item
            appended = self._insert(cur, list(fresh.values())) if fresh else {}
        results = []
        reported: set[str] = set()
        for item in encoded:
            event_id = item.event.event_id
            result = known.get(event_id) or appended[event_id]
            if event_id in reported:
                result = result._replace(duplicate=True)
            reported.add(event_id)
            results.append(result)
        return results

    @staticmethod
    def _check(
        cur: psycopg.Cursor[Any],
        encoded: list[_Encoded],
        known: dict[str, AppendResult],
        expected: Mapping[str, int],
    ) -> None:
        """Raise if a checked subject has moved (counted under its partition's lock)."""
        checked = subjects_to_check(
            expected, ((item.event.subject_id, item.event.event_id in known) for item in encoded)
        )
        if checked:
            cur.execute(_COUNT_SUBJECTS, (list(checked),))
            check_versions(checked, {s: int(n) for s, n in cur.fetchall()})

    @staticmethod
    def _lock_partitions(cur: psycopg.Cursor[Any], partitions: list[int]) -> None:
        """Lock the counter rows of ``partitions`` in ascending order (so two appends cannot
        deadlock) until this transaction ends: this is what makes commits follow offsets."""
        cur.execute(
            "SELECT partition_id FROM log_partitions WHERE partition_id = ANY(%s::int[]) "
            "ORDER BY partition_id FOR UPDATE",
            (partitions,),
        )
        missing = set(partitions) - {row[0] for row in cur.fetchall()}
        if missing:
            raise UnavailableError(
                f"log_partitions has no counter for partition(s) {sorted(missing)}: the log's "
                "tables were changed outside banktwin"
            )

    def _insert(self, cur: psycopg.Cursor[Any], fresh: list[_Encoded]) -> dict[str, AppendResult]:
        counts = Counter(item.partition for item in fresh)
        next_offset, moment = self._allocate(cur, counts)
        recorded_at = self._advance_clock(moment)
        appended: dict[str, AppendResult] = {}
        with cur.copy(_COPY) as copy:
            for item in fresh:
                e = item.event
                offset = next_offset[item.partition]
                next_offset[item.partition] = offset + 1
                appended[e.event_id] = AppendResult(e.event_id, item.partition, offset, recorded_at)
                copy.write_row(
                    (item.partition, offset, e.event_id, e.subject_id, e.type, e.version,
                     _aware(e.occurred_at), recorded_at, e.source, item.payload)
                )  # fmt: skip
        return appended

    @staticmethod
    def _allocate(
        cur: psycopg.Cursor[Any], counts: Counter[int]
    ) -> tuple[dict[int, int], datetime]:
        """Advance the (locked) counters by ``counts``; return each partition's first reserved
        offset and the database's clock, read now that every counter is ours."""
        partitions = sorted(counts)
        cur.execute(_ALLOCATE, (partitions, [counts[p] for p in partitions]))
        first: dict[int, int] = {}
        moment = datetime.min.replace(tzinfo=UTC)
        for partition, end, clock, _ in cur.fetchall():
            first[partition] = end - counts[partition]
            moment = max(moment, clock)
        return first, moment

    def _advance_clock(self, moment: datetime) -> datetime:
        # The log's clock only moves forward in this process, even if the server's steps back.
        with self._clock_lock:
            moment = max(moment, self._last_recorded)
            self._last_recorded = moment
            return moment

    @staticmethod
    def _existing(cur: psycopg.Cursor[Any], event_ids: list[str]) -> dict[str, AppendResult]:
        cur.execute(
            "SELECT event_id, partition_id, log_offset, recorded_at FROM event_log "
            "WHERE event_id = ANY(%s::text[])",
            (event_ids,),
        )
        return {
            event_id: AppendResult(event_id, partition, offset, recorded, duplicate=True)
            for event_id, partition, offset, recorded in cur.fetchall()
        }

    def subject_version(self, subject_id: str) -> int:
        with postgres_errors("count a subject's events"), self._pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM event_log WHERE subject_id = %s", (subject_id,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def watch(self, on_append: Callable[[], None]) -> LogWatch:
        """This object's appends are called back directly; every append to this log (this
        schema), from any process, through a LISTEN connection of this watch's own."""
        return self._watches.watch(on_append)

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        with postgres_errors("read the event log"), self._pool.connection() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE partition_id = %s AND log_offset >= %s "
                "ORDER BY log_offset LIMIT %s",
                (partition, start, limit),
            ).fetchall()
        return [_logged(row) for row in rows]

    def read_types(
        self, partition: int, start: int, limit: int, types: Collection[str]
    ) -> TypedRead:
        """The payloads of other types stay in the database: only their offsets travel."""
        with postgres_errors("read the event log"), self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT partition_id, log_offset, event_id, subject_id, type, version, "
                "occurred_at, recorded_at, source, "
                "CASE WHEN type = ANY(%s) THEN payload::text END FROM event_log "
                "WHERE partition_id = %s AND log_offset >= %s ORDER BY log_offset LIMIT %s",
                (list(types), partition, start, limit),
            ).fetchall()
        if not rows:
            return TypedRead([], 0, start)
        wanted = [_logged(row) for row in rows if row[4] in types]
        return TypedRead(wanted, len(rows), int(rows[-1][1]) + 1)

    def end_offsets(self) -> dict[int, int]:
        """The counters: they move in the same transactions as the rows, so they never run
        ahead of what readers can see."""
        with postgres_errors("read the event log's offsets"), self._pool.connection() as conn:
            rows = conn.execute("SELECT partition_id, next_offset FROM log_partitions").fetchall()
        stored = {int(p): int(o) for p, o in rows}
        return {p: stored.get(p, 0) for p in range(self._partitions)}

    def read_subject(
        self, subject_id: str, until: datetime | None = None, *, since: datetime | None = None
    ) -> Iterator[LoggedEvent]:
        sql = f"{_SELECT} WHERE subject_id = %s"
        params: tuple[object, ...] = (subject_id,)
        if until is not None:
            sql += " AND occurred_at <= %s"
            params = (*params, _aware(until))
        if since is not None:
            sql += " AND occurred_at >= %s"
            params = (*params, _aware(since))
        # Fetched in full before yielding: a pooled connection is not held by a paused caller.
        with postgres_errors("read a subject's events"), self._pool.connection() as conn:
            rows = conn.execute(sql + " ORDER BY partition_id, log_offset", params).fetchall()
        yield from (_logged(row) for row in rows)

    def ping(self) -> None:
        with postgres_errors("reach the event log"), self._pool.connection() as conn:
            conn.execute("SELECT 1 FROM event_log LIMIT 1").fetchall()

    def close(self) -> None:
        self._watches.close()
        self._pool.close()
