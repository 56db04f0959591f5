"""The dead-letter table's SQL, the same on SQLite and PostgreSQL but for placeholders and
column types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from banktwin.ingest.dead_letters import (
    DeadLetter,
    Origin,
    Status,
    errors_from_json,
    errors_to_json,
)

COLUMNS = (
    "letter_id, source, origin_stream, origin_partition, origin_position, raw, errors, "
    "received_at, status, resolved_at, note"
)


def ddl(*, seq: str, blob: str, time: str) -> tuple[str, ...]:
    """The table and its indexes; ``seq`` is the type of the column that orders letters as
    they were first kept."""
    return (
        f"""CREATE TABLE IF NOT EXISTS dead_letters (
        seq              {seq},
        letter_id        text    NOT NULL UNIQUE,
        source           text    NOT NULL,
        origin_stream    text    NOT NULL,
        origin_partition integer,
        origin_position  bigint  NOT NULL,
        raw              {blob}  NOT NULL,
        errors           text    NOT NULL,
        received_at      {time}  NOT NULL,
        status           text    NOT NULL,
        resolved_at      {time},
        note             text
    )""",
        "CREATE INDEX IF NOT EXISTS dead_letters_by_source ON dead_letters (source, status, seq)",
        "CREATE INDEX IF NOT EXISTS dead_letters_by_status ON dead_letters (status, seq)",
        "CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters (received_at)",
    )


def insert_sql(mark: str) -> str:
    marks = ", ".join([mark] * 11)
    return (
        f"INSERT INTO dead_letters ({COLUMNS}) VALUES ({marks}) ON CONFLICT (letter_id) DO NOTHING"
    )


def insert_row(letter: DeadLetter, time: Any) -> tuple[Any, ...]:
    """A letter as the row :func:`insert_sql` takes; ``time`` turns a datetime into the
    column's value."""
    origin = letter.origin
    return (
        letter.letter_id,
        letter.source,
        origin.stream,
        origin.partition,
        origin.position,
        letter.raw,
        errors_to_json(letter.errors),
        time(letter.received_at),
        letter.status.value,
        None if letter.resolved_at is None else time(letter.resolved_at),
        letter.note,
    )


def letter_from_row(row: Sequence[Any], read_time: Callable[[Any], datetime]) -> DeadLetter:
    """A letter from a row of ``SELECT {COLUMNS}``; ``read_time`` reads a time column."""
    (
        letter_id,
        source,
        stream,
        partition,
        position,
        raw,
        errors,
        received,
        status,
        resolved,
        note,
    ) = row
    return DeadLetter(
        letter_id=letter_id,
        source=source,
        origin=Origin(stream, partition, int(position)),
        raw=bytes(raw),
        errors=errors_from_json(errors),
        received_at=read_time(received),
        status=Status(status),
        resolved_at=None if resolved is None else read_time(resolved),
        note=note,
    )


def where(mark: str, source: str | None, status: Status | None) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (empty when nothing is filtered) and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if source is not None:
        clauses.append(f"source = {mark}")
        params.append(source)
    if status is not None:
        clauses.append(f"status = {mark}")
        params.append(status.value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def page_sql(mark: str, condition: str) -> str:
    return f"SELECT {COLUMNS} FROM dead_letters{condition} ORDER BY seq LIMIT {mark} OFFSET {mark}"


def count_sql(condition: str) -> str:
    return f"SELECT COUNT(*) FROM dead_letters{condition}"


def get_sql(mark: str) -> str:
    return f"SELECT {COLUMNS} FROM dead_letters WHERE letter_id = {mark}"


def counts_sql(mark: str) -> str:
    return (
        "SELECT source, COUNT(*), "
        "SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN received_at >= {mark} THEN 1 ELSE 0 END) "
        "FROM dead_letters GROUP BY source ORDER BY source"
    )


def resolve_sql(mark: str) -> str:
    return (
        f"UPDATE dead_letters SET status = {mark}, resolved_at = {mark}, note = {mark} "
        f"WHERE letter_id = {mark} AND status = 'pending'"
    )


def status_sql(mark: str) -> str:
    return f"SELECT status FROM dead_letters WHERE letter_id = {mark}"
