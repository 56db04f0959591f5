"""The dead-letter table in PostgreSQL (by default the twin state store's database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from banktwin.ingest import dead_letters_sql as sql
from banktwin.ingest.dead_letters import DeadLetter, SourceCounts, Status, check_resolution
from banktwin.postgres_connection import open_pool, postgres_errors, prepare_database
from banktwin.schema_migrations import Migration, create_missing_step

MIGRATIONS = (
    Migration(
        "initial schema",
        create_missing_step(
            sql.ddl(
                seq="bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                blob="bytea",
                time="timestamptz",
            )
        ),
    ),
)
"""The dead-letter table's schema, version by version (:mod:`banktwin.schema_migrations`)."""


def _nothing_to_set_up(conn: object) -> None:
    del conn


def _same(at: datetime) -> datetime:
    return at


class PostgresDeadLetterStore:
    """The :class:`~banktwin.ingest.dead_letters.DeadLetterStore` on PostgreSQL; safe to share
    between threads (each operation borrows a pooled connection)."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        prepare_database(url, schema, "dead-letters", MIGRATIONS, _nothing_to_set_up)
        self._pool = open_pool(url, schema, "dead-letters")

    def add(self, letters: Sequence[DeadLetter]) -> int:
        if not letters:
            return 0
        rows = [sql.insert_row(letter, _same) for letter in letters]
        with (
            postgres_errors("keep dead letters"),
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            cur.executemany(sql.insert_sql("%s"), rows)
            return max(cur.rowcount, 0)

    def page(
        self,
        *,
        source: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DeadLetter], int]:
        condition, params = sql.where("%s", source, status)
        with postgres_errors("read dead letters"), self._pool.connection() as conn:
            rows = conn.execute(sql.page_sql("%s", condition), (*params, limit, offset)).fetchall()
            counted = conn.execute(sql.count_sql(condition), params).fetchone()
        total = 0 if counted is None else int(counted[0])
        return [sql.letter_from_row(row, _same) for row in rows], total

    def get(self, letter_id: str) -> DeadLetter | None:
        with postgres_errors("read a dead letter"), self._pool.connection() as conn:
            row = conn.execute(sql.get_sql("%s"), (letter_id,)).fetchone()
        return None if row is None else sql.letter_from_row(row, _same)

    def counts(self, since: datetime) -> dict[str, SourceCounts]:
        with postgres_errors("count dead letters"), self._pool.connection() as conn:
            rows = conn.execute(sql.counts_sql("%s"), (since,)).fetchall()
        return {source: SourceCounts(int(t), int(p), int(s)) for source, t, p, s in rows}

    def resolve(self, letter_id: str, status: Status, note: str, at: datetime) -> DeadLetter:
        check_resolution(letter_id, status, Status.PENDING)
        with (
            postgres_errors("resolve a dead letter"),
            self._pool.connection() as conn,
            conn.transaction(),
        ):
            changed = conn.execute(
                sql.resolve_sql("%s"), (status.value, at, note, letter_id)
            ).rowcount
            if not changed:
                row = conn.execute(sql.status_sql("%s"), (letter_id,)).fetchone()
                check_resolution(letter_id, status, None if row is None else Status(row[0]))
        resolved = self.get(letter_id)
        assert resolved is not None
        return resolved

    def ping(self) -> None:
        with postgres_errors("reach the dead-letter table"), self._pool.connection() as conn:
            conn.execute("SELECT 1 FROM dead_letters LIMIT 1").fetchall()

    def close(self) -> None:
        self._pool.close()
