"""Versioned schema migrations for every SQL adapter (event log, state store, key-value store).

Each adapter keeps an ordered list of :class:`Migration` s; version ``n`` is the ``n``-th of the
list. What a database holds is recorded in ``schema_migrations`` (``component``, ``version``,
``name``, ``applied_at``): ``component`` names the adapter, because the log and the stores may
share one SQLite file or one PostgreSQL schema. Opening an adapter applies what is missing,
each migration in its own transaction under the database's write lock (SQLite) or an advisory
lock (PostgreSQL), checking again under the lock, so processes opening at once apply each
migration once and every one of them sees the result.

Migration 1 of every adapter is the schema of the builds before migrations were recorded,
written to create only what is missing: run on a database those builds made, it changes
nothing and records version 1 (the database is adopted as it is). A database at a version this
build does not know was migrated by a newer build: it is refused (:class:`NewerSchemaError`)
rather than used with a schema the code does not understand.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from banktwin.errors import ConfigurationError
from banktwin.sqlite_connection import begin_immediate

log = logging.getLogger(__name__)

DDL_LOCK = (0x62746B01, 0)
"""Advisory-lock key (two int4s; the first spells "btk") held by a PostgreSQL transaction that
changes the schema: a migration, or creating and dropping a twin generation's tables."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of an adapter's schema. ``apply`` runs inside the migration's transaction
    with the adapter's DB-API connection (``sqlite3.Connection`` or ``psycopg.Connection``)."""

    name: str
    apply: Callable[[Any], None]


class NewerSchemaError(ConfigurationError):
    """The database was migrated by a newer build than this one."""


def _refuse_newer(component: str, where: str, version: int, known: int) -> None:
    if version > known:
        raise NewerSchemaError(
            f"the {component} at {where} has schema version {version}, newer than this build "
            f"knows ({known}): it was migrated by a newer banktwin. Run that build (or newer), "
            "or point the URL at a database this build made"
        )


def _applied(component: str, where: str, version: int, migration: Migration) -> None:
    log.info("%s at %s: schema version %d (%s)", component, where, version, migration.name)


# --- SQLite --------------------------------------------------------------------------------

_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL,
    PRIMARY KEY (component, version)
)"""


def sqlite_statements(script: str) -> list[str]:
    """A script's statements, one by one (``executescript`` would commit the transaction a
    migration runs in). Statements are separated by ``;`` at the end of a line."""
    statements = (s.strip().rstrip(";").strip() for s in re.split(r";\s*\n", script))
    return [s for s in statements if s]


def sqlite_version(conn: sqlite3.Connection, component: str) -> int:
    """The version ``component`` is at (0: none recorded)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute(
        "SELECT MAX(version) FROM schema_migrations WHERE component = ?", (component,)
    ).fetchone()
    return int(row[0] or 0)


def migrate_sqlite(
    conn: sqlite3.Connection, component: str, migrations: Sequence[Migration], where: str
) -> int:
    """Apply the migrations ``conn``'s database lacks, each in its own write transaction.

    Returns:
        How many were applied (0: the database was up to date).

    Raises:
        NewerSchemaError: the database is at a version after the last of ``migrations``.
        sqlite3.Error: a migration failed (it was rolled back; earlier ones stay applied).
    """
    current = sqlite_version(conn, component)
    _refuse_newer(component, where, current, len(migrations))
    applied = 0
    for version, migration in enumerate(migrations, start=1):
        if version <= current:
            continue
        begin_immediate(conn)
        try:
            conn.execute(_SQLITE_TABLE)
            current = sqlite_version(conn, component)  # under the lock: another may have run it
            _refuse_newer(component, where, current, len(migrations))
            if version > current:
                migration.apply(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, applied_at) "
                    "VALUES (?, ?, ?, ?)",
                    (component, version, migration.name, datetime.now(UTC).isoformat()),
                )
                applied += 1
                current = version
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        _applied(component, where, version, migration)
    return applied


def run_sqlite_script(script: str) -> Callable[[sqlite3.Connection], None]:
    """A migration step running each statement of ``script`` (``IF NOT EXISTS`` ones to
    create only what is missing)."""

    def apply(conn: sqlite3.Connection) -> None:
        for statement in sqlite_statements(script):
            conn.execute(statement)

    return apply


# --- PostgreSQL ----------------------------------------------------------------------------

_POSTGRES_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        component  text        NOT NULL,
        version    integer     NOT NULL,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL,
        PRIMARY KEY (component, version)
    )"""
_CREATED_NAME = re.compile(r"IF NOT EXISTS\s+(\w+)", re.IGNORECASE)


def _created_name(statement: str) -> str:
    match = _CREATED_NAME.search(statement)
    if match is None:
        raise ValueError(f"not a CREATE ... IF NOT EXISTS statement: {statement!r}")
    return match.group(1)


def create_missing(conn: psycopg.Connection[Any], ddl: Sequence[str]) -> None:
    """Run each ``CREATE TABLE|INDEX IF NOT EXISTS name ...`` whose object is missing. Only
    those: even ``CREATE INDEX IF NOT EXISTS`` takes a share lock on its table before it
    finds the index, which would queue (or deadlock) a process starting next to busy
    writers."""
    for statement in ddl:
        found = conn.execute("SELECT to_regclass(%s)", (_created_name(statement),)).fetchone()
        if found is None or found[0] is None:
            conn.execute(statement)


def postgres_version(conn: psycopg.Connection[Any], component: str) -> int:
    """The version ``component`` is at in the connection's schema (0: none recorded)."""
    found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute(
        "SELECT MAX(version) FROM schema_migrations WHERE component = %s", (component,)
    ).fetchone()
    return int(row[0] or 0) if row is not None else 0


def lock_schema(conn: psycopg.Connection[Any]) -> None:
    """Take the DDL advisory lock until the end of the current transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", DDL_LOCK)


def ensure_schema(conn: psycopg.Connection[Any], schema: str | None) -> None:
    """Create ``schema`` if it is named and missing (only then: ``CREATE SCHEMA`` needs a
    privilege that using one does not)."""
    if schema is None:
        return
    if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
        return
    with conn.transaction():
        lock_schema(conn)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def migrate_postgres(
    conn: psycopg.Connection[Any], component: str, migrations: Sequence[Migration], where: str
) -> int:
    """Apply the migrations the connection's schema lacks, each in its own transaction under
    the DDL advisory lock. Up to date, it only reads ``schema_migrations``: no lock, no DDL.
    ``conn`` is in autocommit mode.

    Returns:
        How many were applied.

    Raises:
        NewerSchemaError: the schema is at a version after the last of ``migrations``.
        psycopg.Error: a migration failed (rolled back; earlier ones stay applied).
    """
    current = postgres_version(conn, component)
    _refuse_newer(component, where, current, len(migrations))
    applied = 0
    for version, migration in enumerate(migrations, start=1):
        if version <= current:
            continue
        with conn.transaction():
            lock_schema(conn)
            create_missing(conn, [_POSTGRES_TABLE])
            current = postgres_version(conn, component)
            _refuse_newer(component, where, current, len(migrations))
            if version > current:
                migration.apply(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, applied_at) "
                    "VALUES (%s, %s, %s, now())",
                    (component, version, migration.name),
                )
                applied += 1
                current = version
        _applied(component, where, version, migration)
    return applied


def create_missing_step(ddl: Sequence[str]) -> Callable[[psycopg.Connection[Any]], None]:
    """A migration step creating the objects of ``ddl`` that are missing."""

    def apply(conn: psycopg.Connection[Any]) -> None:
        create_missing(conn, ddl)

    return apply
