"""The key-value state store in PostgreSQL (by default the twin state store's database)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from banktwin.consumers.engine import Checkpoint
from banktwin.postgres_connection import open_pool, postgres_errors, prepare_database
from banktwin.schema_migrations import Migration, create_missing_step
from banktwin.store import kv_sql, positions

MIGRATIONS = (
    Migration("initial schema", create_missing_step((positions.POSTGRES_DDL, kv_sql.ddl("bytea")))),
)
"""The key-value store's schema, version by version (:mod:`banktwin.schema_migrations`)."""


def _nothing_to_set_up(conn: object) -> None:
    del conn


class PostgresKeyValueStore:
    """The :class:`~banktwin.store.kv.KeyValueStore` on PostgreSQL; safe to share between
    threads (each operation borrows a pooled connection)."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        prepare_database(url, schema, "kv-state", MIGRATIONS, _nothing_to_set_up)
        self._pool = open_pool(url, schema, "kv-state")

    def positions(self, consumer: str) -> dict[int, int]:
        with postgres_errors("read consumer positions"), self._pool.connection() as conn:
            rows = conn.execute(positions.select_sql("%s"), (consumer,)).fetchall()
        return {int(p): int(o) for p, o in rows}

    def get_many(self, consumer: str, keys: Collection[str]) -> dict[str, bytes]:
        with postgres_errors("read consumer state"), self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT key, value FROM consumer_state WHERE consumer = %s AND key = ANY(%s)",
                (consumer, list(keys)),
            ).fetchall()
        return {k: bytes(v) for k, v in rows}

    def scan(
        self,
        consumer: str,
        start: str,
        end: str,
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, bytes]]:
        sql = kv_sql.scan_sql("%s", limit=limit is not None, reverse=reverse)
        params = (consumer, start, end) if limit is None else (consumer, start, end, limit)
        with postgres_errors("scan consumer state"), self._pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(k, bytes(v)) for k, v in rows]

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        upserts, deletes = kv_sql.split_puts(checkpoint.consumer, puts)
        with (
            postgres_errors("commit consumer state"),
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            stored = positions.lock_postgres_positions(cur, checkpoint.consumer)
            positions.check_positions(checkpoint.consumer, stored, checkpoint.start)
            if upserts:
                cur.executemany(kv_sql.upsert_sql("%s"), upserts)
            if deletes:
                cur.executemany(kv_sql.delete_sql("%s"), deletes)
            rows = positions.position_rows(checkpoint.consumer, checkpoint.end)
            if rows:
                cur.executemany(positions.upsert_sql("%s"), rows)

    def reset(self, consumer: str) -> None:
        with (
            postgres_errors("reset consumer state"),
            self._pool.connection() as conn,
            conn.transaction(),
        ):
            conn.execute("DELETE FROM consumer_state WHERE consumer = %s", (consumer,))
            conn.execute("DELETE FROM projection_positions WHERE consumer = %s", (consumer,))

    def ping(self) -> None:
        with postgres_errors("reach the key-value state store"), self._pool.connection() as conn:
            conn.execute("SELECT 1 FROM consumer_state LIMIT 1").fetchall()

    def close(self) -> None:
        self._pool.close()
