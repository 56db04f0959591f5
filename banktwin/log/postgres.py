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
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from banktwin.domain.events import Event
from banktwin.errors import UnavailableError
from banktwin.log.codec import decode_event, encode_payload
from banktwin.log.port import AppendResult, LoggedEvent, partition_for
from banktwin.postgres_connection import (
    RETRYABLE,
    Setup,
    open_pool,
    postgres_errors,
    prepare_database,
)

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
_ALLOCATE = (
    "UPDATE log_partitions AS lp SET next_offset = lp.next_offset + c.n "
    "FROM unnest(%s::int[], %s::bigint[]) AS c (partition_id, n) "
    "WHERE lp.partition_id = c.partition_id "
    "RETURNING lp.partition_id, lp.next_offset, clock_timestamp()"
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


def _create(partitions: int) -> Setup[int]:
    """The setup step run with the DDL: record the partition count (an existing log keeps
    its own) and seed one offset counter per partition."""

    def setup(conn: psycopg.Connection[Any]) -> int:
        conn.execute(
            "INSERT INTO log_meta (key, value) VALUES ('partitions', %s) "
            "ON CONFLICT (key) DO NOTHING",
            (str(partitions),),
        )
        row = conn.execute("SELECT value FROM log_meta WHERE key = 'partitions'").fetchone()
        stored = int(row[0]) if row is not None else partitions
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
        return stored

    return setup


class PostgresEventLog:
    """The :class:`~banktwin.log.port.EventLog` on PostgreSQL.

    Safe to share between threads (each operation borrows a pooled connection) and to run in
    several processes against one database (offsets are allocated under a row lock).
    """

    def __init__(self, url: str, partitions: int = 8, schema: str | None = None) -> None:
        self._partitions = prepare_database(url, schema, "event-log", SCHEMA, _create(partitions))
        self._pool = open_pool(url, schema, "event-log")
        self._clock_lock = threading.Lock()
        self._last_recorded = datetime.min.replace(tzinfo=UTC)

    @property
    def partitions(self) -> int:
        return self._partitions

    def append(self, events: Sequence[Event]) -> list[AppendResult]:
        """Append in one transaction (see :meth:`~banktwin.log.port.EventLog.append`).

        The partitions' counter rows are locked before ids are looked up, so a concurrent
        re-send of the same event (same subject, same partition) is either committed and found,
        or waits for us. Only an id reused by another subject can still collide (a unique
        violation, or a deadlock on the id); then the whole append runs once more and finds it.
        """
        if not events:
            return []
        encoded = [
            _Encoded(
                e, partition_for(e.subject_id, self._partitions), encode_payload(e.payload).decode()
            )
            for e in events
        ]
        with postgres_errors("append to the event log", conflicts=False):
            try:
                return self._append_once(encoded)
            except (pg_errors.UniqueViolation, *RETRYABLE):
                return self._append_once(encoded)

    def _append_once(self, encoded: list[_Encoded]) -> list[AppendResult]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            self._lock_partitions(cur, sorted({item.partition for item in encoded}))
            known = self._existing(cur, list({item.event.event_id for item in encoded}))
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
        for partition, end, clock in cur.fetchall():
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

    def read(self, partition: int, start: int, limit: int) -> list[LoggedEvent]:
        with postgres_errors("read the event log"), self._pool.connection() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE partition_id = %s AND log_offset >= %s "
                "ORDER BY log_offset LIMIT %s",
                (partition, start, limit),
            ).fetchall()
        return [_logged(row) for row in rows]

    def end_offsets(self) -> dict[int, int]:
        """The counters: they move in the same transactions as the rows, so they never run
        ahead of what readers can see."""
        with postgres_errors("read the event log's offsets"), self._pool.connection() as conn:
            rows = conn.execute("SELECT partition_id, next_offset FROM log_partitions").fetchall()
        stored = {int(p): int(o) for p, o in rows}
        return {p: stored.get(p, 0) for p in range(self._partitions)}

    def read_subject(self, subject_id: str, until: datetime | None = None) -> Iterator[LoggedEvent]:
        sql = f"{_SELECT} WHERE subject_id = %s"
        params: tuple[object, ...] = (subject_id,)
        if until is not None:
            sql += " AND occurred_at <= %s"
            params = (subject_id, _aware(until))
        # Fetched in full before yielding: a pooled connection is not held by a paused caller.
        with postgres_errors("read a subject's events"), self._pool.connection() as conn:
            rows = conn.execute(sql + " ORDER BY partition_id, log_offset", params).fetchall()
        yield from (_logged(row) for row in rows)

    def ping(self) -> None:
        with postgres_errors("reach the event log"), self._pool.connection() as conn:
            conn.execute("SELECT 1 FROM event_log LIMIT 1").fetchall()

    def close(self) -> None:
        self._pool.close()
