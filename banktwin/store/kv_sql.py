"""The key-value state store's SQL, the same on SQLite and PostgreSQL but for placeholders and
the type of a value (``BLOB``, ``bytea``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ddl(value_type: str) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS consumer_state (
        consumer text NOT NULL,
        key      text NOT NULL,
        value    {value_type} NOT NULL,
        PRIMARY KEY (consumer, key)
    )"""


def get_sql(mark: str, count: int) -> str:
    marks = ", ".join([mark] * count)
    return f"SELECT key, value FROM consumer_state WHERE consumer = {mark} AND key IN ({marks})"


def scan_sql(mark: str, *, limit: bool, reverse: bool) -> str:
    sql = (
        f"SELECT key, value FROM consumer_state WHERE consumer = {mark} "
        f"AND key >= {mark} AND key < {mark} ORDER BY key {'DESC' if reverse else 'ASC'}"
    )
    return sql + f" LIMIT {mark}" if limit else sql


def upsert_sql(mark: str) -> str:
    return (
        f"INSERT INTO consumer_state (consumer, key, value) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (consumer, key) DO UPDATE SET value = excluded.value"
    )


def delete_sql(mark: str) -> str:
    return f"DELETE FROM consumer_state WHERE consumer = {mark} AND key = {mark}"


def split_puts(
    consumer: str, puts: Mapping[str, bytes | None]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The rows to upsert and the keys to delete, in key order (a fixed order: two writers
    of overlapping keys in PostgreSQL cannot deadlock)."""
    upserts: list[tuple[Any, ...]] = []
    deletes: list[tuple[str, str]] = []
    for key in sorted(puts):
        value = puts[key]
        if value is None:
            deletes.append((consumer, key))
        else:
            upserts.append((consumer, key, value))
    return upserts, deletes
