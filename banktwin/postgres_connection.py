"""PostgreSQL connections as both PostgreSQL adapters open them, and their error mapping.

Each adapter owns a small :class:`~psycopg_pool.ConnectionPool`: API threads, the projector
thread and the group committer each borrow a connection for one operation, so they work at
the same time instead of queueing behind one shared connection.

Every pooled connection is in autocommit mode (writes open explicit transactions with
``conn.transaction()``), speaks UTC (so ``timestamptz`` values come back with
``datetime.timezone.utc``) and, when a schema is configured, has ``search_path`` set to it
through the startup ``options``, which costs no extra round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from banktwin.errors import ConfigurationError, ConflictError, UnavailableError
from banktwin.schema_migrations import Migration, ensure_schema, migrate_postgres

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 8
CONNECT_TIMEOUT_S = 10
POOL_TIMEOUT_S = 30.0
"""How long an operation waits for a free pooled connection before it is unavailable."""

RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
"""Errors after which the same transaction, run again, normally succeeds."""

T = TypeVar("T")
Setup = Callable[[psycopg.Connection[Any]], T]


def _escape_option(value: str) -> str:
    # libpq splits ``options`` on spaces; a backslash escapes a space or a backslash.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def _quoted_schema(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def connection_kwargs(schema: str | None, name: str) -> dict[str, Any]:
    """The connection parameters every adapter connection uses (besides the URL).

    ``name`` shows in ``pg_stat_activity`` unless the URL sets ``application_name``.
    """
    options = "-c TimeZone=UTC"
    if schema is not None:
        options += f" -c search_path={_escape_option(_quoted_schema(schema))}"
    return {
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "options": options,
        "fallback_application_name": f"banktwin {name}",
    }


def check_schema_name(schema: str | None) -> None:
    """Refuse a schema name PostgreSQL could not use, naming the setting to fix."""
    if schema is None:
        return
    if not schema or "\x00" in schema or len(schema.encode()) > 63:
        raise ConfigurationError(f"schema={schema!r}: use a PostgreSQL identifier of 1 to 63 bytes")


@contextmanager
def postgres_errors(action: str, *, conflicts: bool = True) -> Iterator[None]:
    """Map psycopg's errors to banktwin's, naming what was being done.

    A serialization failure or deadlock is a :class:`ConflictError` (a concurrent writer won;
    running the operation again is the fix); with ``conflicts=False`` it is reported as
    :class:`UnavailableError` too, for ports that promise only that. Every other driver or
    pool error (unreachable server, pool timeout, refused statement) is an
    :class:`UnavailableError`.
    """
    try:
        yield
    except RETRYABLE as exc:
        if conflicts:
            raise ConflictError(f"could not {action}: {exc}") from exc
        raise UnavailableError(f"could not {action}: {exc}") from exc
    except psycopg.Error as exc:
        raise UnavailableError(f"could not {action}: {exc}") from exc


def prepare_database(
    url: str,
    schema: str | None,
    name: str,
    migrations: Sequence[Migration],
    setup: Setup[T],
) -> T:
    """Create the schema (if named and missing), apply the adapter's migrations that the
    schema lacks (:mod:`banktwin.schema_migrations`; ``name`` is the adapter's component
    name there), then run ``setup`` with the connection (autocommit: ``setup`` opens the
    transactions it needs). A direct connection (not the pool) is used so an unreachable
    server fails at once with libpq's own reason.

    Raises:
        UnavailableError: the server cannot be reached or refused the DDL.
        NewerSchemaError: a newer build migrated the schema.
    """
    check_schema_name(schema)
    where = f"schema {schema}" if schema else "the default schema"
    with (
        postgres_errors("prepare the PostgreSQL schema", conflicts=False),
        psycopg.connect(url, **connection_kwargs(schema, name)) as conn,
    ):
        ensure_schema(conn, schema)
        migrate_postgres(conn, name, migrations, where)
        return setup(conn)


def open_pool(url: str, schema: str | None, name: str) -> ConnectionPool:
    """A pool of ``POOL_MIN_SIZE`` to ``POOL_MAX_SIZE`` configured connections, opened.

    Raises:
        UnavailableError: the first connection could not be made in time.
    """
    pool: ConnectionPool = ConnectionPool(
        url,
        kwargs=connection_kwargs(schema, name),
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        timeout=POOL_TIMEOUT_S,
        name=name,
        open=False,
    )
    try:
        with postgres_errors(f"open the {name} connection pool"):
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except UnavailableError:
        pool.close()
        raise
    return pool
