"""Consumer positions in a SQL store: the table every engine's commit writes in the same
transaction as its state, and the check that makes a commit fail if another process moved
them first. Shared by the twin store and the key-value store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from banktwin.errors import ConflictError

SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    consumer     TEXT    NOT NULL,
    partition_id INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    PRIMARY KEY (consumer, partition_id)
);
"""
POSTGRES_DDL = """
    CREATE TABLE IF NOT EXISTS projection_positions (
        consumer     text    NOT NULL,
        partition_id integer NOT NULL,
        next_offset  bigint  NOT NULL,
        PRIMARY KEY (consumer, partition_id)
    )
    """
CONSUMER_LOCK_CLASS = 0x62746B02
"""First key of the PostgreSQL advisory lock a commit takes on its consumer (the second is a
hash of schema and consumer). It serialises commits of one consumer even before it has any
position rows to lock."""


def select_sql(mark: str) -> str:
    return f"SELECT partition_id, next_offset FROM projection_positions WHERE consumer = {mark}"


def upsert_sql(mark: str) -> str:
    return (
        "INSERT INTO projection_positions (consumer, partition_id, next_offset) "
        f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT (consumer, partition_id) "
        "DO UPDATE SET next_offset = excluded.next_offset"
    )


def position_rows(consumer: str, end: Mapping[int, int]) -> list[tuple[str, int, int]]:
    """The rows :func:`upsert_sql` writes for ``end`` (in partition order: PostgreSQL locks
    rows in the order given, and a fixed order cannot deadlock)."""
    return [(consumer, p, o) for p, o in sorted(end.items())]


def check_positions(consumer: str, stored: Mapping[int, int], start: Mapping[int, int]) -> None:
    """Refuse a commit whose start is not what the store holds.

    Raises:
        ConflictError: another process applied these events first.
    """
    for partition, offset in start.items():
        if stored.get(partition, 0) != offset:
            raise ConflictError(
                f"partition {partition} of {consumer!r} is at {stored.get(partition, 0)}, "
                f"not {offset}: another process is consuming it"
            )


def lock_postgres_positions(cur: Any, consumer: str) -> dict[int, int]:
    """In a PostgreSQL transaction: lock ``consumer``'s positions (until commit) and return
    them. The advisory lock covers a consumer with no rows yet (``FOR UPDATE`` locks nothing
    then): two first commits must not both succeed."""
    cur.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || '/' || %s))",
        (CONSUMER_LOCK_CLASS, consumer),
    )
    cur.execute(select_sql("%s") + " ORDER BY partition_id FOR UPDATE", (consumer,))
    return {int(p): int(o) for p, o in cur.fetchall()}
