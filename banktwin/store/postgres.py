"""The state store on PostgreSQL: the tables of the SQLite store, with PostgreSQL's types.

Money is ``numeric(18,2)`` and times are ``timestamptz``, so analysts' SQL sums and compares
them natively. Twins are the store codec's JSON documents (:func:`banktwin.store.rows.twin_doc`)
kept byte for byte in ``bytea``, so loading gives back identical twins (``jsonb`` would
rewrite numbers and refuse NUL characters); ``convert_from(doc, 'UTF8')::jsonb`` queries them.

A projector batch is one transaction that first locks its consumer's positions and checks
them against the batch's start, so two projectors (in any processes) never both apply a
batch: the loser gets :class:`~banktwin.errors.ConflictError` and nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.sql import SQL, Identifier

from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.twin import Twin
from banktwin.postgres_connection import open_pool, postgres_errors, prepare_database
from banktwin.schema_migrations import Migration, create_missing, lock_schema
from banktwin.store import codec, positions, sql_generations
from banktwin.store.generations import TwinGeneration
from banktwin.store.port import ProjectionChanges, SubjectKey
from banktwin.store.rows import (
    ACCOUNT_COLUMNS,
    ALERT_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_KEY,
    TWIN_TABLES,
    alert_row,
    changed_account_rows,
    loan_customer,
    subject_id,
    transaction_row,
    twin_doc,
)
from banktwin.store.sql_store import SqlStateStore

log = logging.getLogger(__name__)
T = TypeVar("T")

META_DDL = """
    CREATE TABLE IF NOT EXISTS store_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )
    """


def twin_tables_ddl(suffix: str) -> list[str]:
    """The tables of one twin generation, their names ending with ``suffix``."""
    return [
        f"""
    CREATE TABLE IF NOT EXISTS customers{suffix} (
        customer_id text        PRIMARY KEY,
        updated_at  timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc         bytea       NOT NULL
    )
    """,
        f"""
    CREATE TABLE IF NOT EXISTS branches{suffix} (
        branch_id  text        PRIMARY KEY,
        updated_at timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc        bytea       NOT NULL
    )
    """,
        f"""
    CREATE TABLE IF NOT EXISTS loans{suffix} (
        application_id text        PRIMARY KEY,
        customer_id    text,
        updated_at     timestamptz NOT NULL,
        version     bigint      NOT NULL,
        doc            bytea       NOT NULL
    )
    """,
        f"CREATE INDEX IF NOT EXISTS loans_by_customer{suffix} "
        f"ON loans{suffix} (customer_id, updated_at)",
        f"""
    CREATE TABLE IF NOT EXISTS accounts{suffix} (
        account_id  text          NOT NULL,
        customer_id text          NOT NULL,
        type        text,
        currency    text          NOT NULL,
        balance     numeric(18,2) NOT NULL,
        status      text          NOT NULL,
        opened_at   timestamptz,
        updated_at  timestamptz   NOT NULL,
    PRIMARY KEY (customer_id, account_id)
    )
    """,
        f"CREATE INDEX IF NOT EXISTS accounts_by_id{suffix} ON accounts{suffix} (account_id)",
        f"""
    CREATE TABLE IF NOT EXISTS transactions{suffix} (
        transaction_id    text          NOT NULL,
        customer_id       text          NOT NULL,
        account_id        text          NOT NULL,
        amount            numeric(18,2) NOT NULL,
        currency          text          NOT NULL,
        direction         text          NOT NULL,
        channel           text          NOT NULL,
        merchant          text,
        merchant_category text,
        terminal_id       text,
        card_token        text,
        device_id         text,
        country           text,
        city              text,
        description       text,
        occurred_at       timestamptz   NOT NULL,
        event_id          text          NOT NULL,
    -- The SQLite store's key: a customer's transactions in time order (the newest-first page
    -- is a backward scan of it); see TRANSACTION_KEY.
    PRIMARY KEY (customer_id, occurred_at, transaction_id)
    )
    """,
        f"""
    CREATE TABLE IF NOT EXISTS fraud_alerts{suffix} (
        alert_id       text             PRIMARY KEY,
        customer_id    text             NOT NULL,
        transaction_id text             NOT NULL,
        severity       text             NOT NULL,
        status         text             NOT NULL,
        score          double precision,
        reasons        jsonb            NOT NULL,
        rule_ids       jsonb            NOT NULL,
        raised_at      timestamptz      NOT NULL,
        updated_at     timestamptz      NOT NULL
    )
    """,
        f"""
    CREATE INDEX IF NOT EXISTS fraud_alerts_recent{suffix}
        ON fraud_alerts{suffix} (raised_at DESC, alert_id DESC)
    """,
        f"""
    CREATE INDEX IF NOT EXISTS fraud_alerts_by_status{suffix}
        ON fraud_alerts{suffix} (status, raised_at DESC, alert_id DESC)
    """,
    ]


def _rekey_transactions(conn: psycopg.Connection[Any]) -> None:
    """Give a transactions table made by an earlier build (keyed by customer and transaction
    id) the key every store has now, :data:`~banktwin.store.rows.TRANSACTION_KEY`. Its rows
    are unique under the old key, so under the new one too: nothing is dropped or rebuilt."""
    key = [
        name
        for (name,) in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            "WHERE i.indrelid = 'transactions'::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey::smallint[], a.attnum)"
        ).fetchall()
    ]
    if key == list(TRANSACTION_KEY):
        return
    row = conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'transactions'::regclass "
        "AND contype = 'p'"
    ).fetchone()
    if row is not None:
        conn.execute(SQL("ALTER TABLE transactions DROP CONSTRAINT {}").format(Identifier(row[0])))
    conn.execute(f"ALTER TABLE transactions ADD PRIMARY KEY ({', '.join(TRANSACTION_KEY)})")
    conn.execute("DROP INDEX IF EXISTS transactions_by_customer")
    log.info("state store: transactions re-keyed by %s", ", ".join(TRANSACTION_KEY))


def _initial_schema(conn: psycopg.Connection[Any]) -> None:
    # What builds before migrations made at start-up, including their one conversion.
    create_missing(conn, [META_DDL, positions.POSTGRES_DDL, *twin_tables_ddl("")])
    _rekey_transactions(conn)


def _twin_generations(conn: psycopg.Connection[Any]) -> None:
    create_missing(conn, sql_generations.generations_ddl("text", "timestamptz"))
    sql_generations.adopt_legacy(conn, "%s", _time)


def _alert_indexes(conn: psycopg.Connection[Any]) -> None:
    for suffix in sql_generations.standing_suffixes(conn):
        create_missing(conn, sql_generations.alert_indexes_ddl(suffix))


MIGRATIONS = (
    Migration("initial schema", _initial_schema),
    Migration("twin generations", _twin_generations),
    Migration("fraud alert indexes", _alert_indexes),
)
"""The state store's schema, version by version (:mod:`banktwin.schema_migrations`); append
only. Version 1 is the schema of the builds before migrations: their stores are adopted."""

_ALERT_SELECT = ", ".join(
    f"{c}::text" if c in ("reasons", "rule_ids") else c for c in ALERT_COLUMNS
)  # jsonb as text: the shared row builder parses it


def _account_upsert(suffix: str) -> str:
    return (
        f"INSERT INTO accounts{suffix} ({', '.join(ACCOUNT_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(ACCOUNT_COLUMNS))}) "
        "ON CONFLICT (customer_id, account_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in ACCOUNT_COLUMNS[2:])
    )


def _transaction_insert(suffix: str) -> str:
    return (
        f"INSERT INTO transactions{suffix} ({', '.join(TRANSACTION_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(TRANSACTION_COLUMNS))}) ON CONFLICT DO NOTHING"
    )


def _alert_insert(suffix: str) -> str:
    return (
        f"INSERT INTO fraud_alerts{suffix} ({', '.join(ALERT_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(ALERT_COLUMNS))}) ON CONFLICT DO NOTHING"
    )


def _money(value: Decimal) -> Decimal:
    return value


def _time(moment: datetime) -> datetime:
    return moment


class PostgresStateStore(SqlStateStore):
    """The :class:`~banktwin.store.port.StateStore` on PostgreSQL.

    Safe to share between threads: each operation borrows a pooled connection, so API readers
    are never queued behind the projector's commit.
    """

    alert_select = _ALERT_SELECT
    mark = "%s"

    @property
    def reads_are_local(self) -> bool:
        return False  # a server

    def __init__(self, url: str, schema: str | None = None) -> None:
        prepare_database(url, schema, "state-store", MIGRATIONS, lambda conn: None)
        self._pool = open_pool(url, schema, "state-store")
        try:
            self._start_generations(codec.TWIN_FORMAT)
        except BaseException:
            self._pool.close()
            raise

    def _transaction(self, what: str, work: Callable[[Any], T], *, schema: bool = False) -> T:
        with (
            postgres_errors(what),
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            if schema:  # serialised with migrations and other processes' generations
                lock_schema(conn)
            return work(cur)

    def _tables_ddl(self, suffix: str) -> Iterable[str]:
        return [*twin_tables_ddl(suffix), *sql_generations.alert_indexes_ddl(suffix)]

    def _drop_tables(self, generation: TwinGeneration) -> Iterable[str]:
        return sql_generations.drop_statements(generation, "TRUNCATE {}")

    # --- projector side -----------------------------------------------------------------

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        suffix = self._required_target().suffix
        by_kind: dict[SubjectKind, list[str]] = {}
        for kind, subject in keys:
            by_kind.setdefault(kind, []).append(subject)
        found: dict[SubjectKey, Twin] = {}
        with postgres_errors("load twins"), self._pool.connection() as conn:
            for kind, ids in by_kind.items():
                spec = TWIN_TABLES[kind]
                rows = conn.execute(
                    f"SELECT {spec.key}, doc FROM {spec.table}{suffix} "
                    f"WHERE {spec.key} = ANY(%s::text[])",
                    (ids,),
                ).fetchall()
                for key, doc in rows:
                    found[(kind, key)] = spec.decode(doc)
        return found

    def _lock_positions(self, conn: Any, key: str) -> dict[int, int]:
        return positions.lock_postgres_positions(conn, key)

    def _write_rows(self, conn: Any, changes: ProjectionChanges, suffix: str, key: str) -> None:
        cur: psycopg.Cursor[Any] = conn
        for kind, spec in TWIN_TABLES.items():
            twins = [t for (k, _), t in changes.twins.items() if k is kind]
            if not twins:
                continue
            if kind is SubjectKind.LOAN:
                cur.executemany(
                    f"INSERT INTO loans{suffix} "
                    "(application_id, customer_id, updated_at, version, doc) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (application_id) DO UPDATE SET "
                    "customer_id = excluded.customer_id, updated_at = excluded.updated_at, "
                    "version = excluded.version, doc = excluded.doc",
                    [
                        (
                            t.application_id,
                            loan_customer(t),
                            t.last_updated,
                            t.events_applied,
                            twin_doc(t),
                        )
                        for t in twins
                        if isinstance(t, LoanTwin)
                    ],
                )
                continue
            cur.executemany(
                f"INSERT INTO {spec.table}{suffix} ({spec.key}, updated_at, version, doc) "
                "VALUES (%s, %s, %s, %s) "
                f"ON CONFLICT ({spec.key}) DO UPDATE SET updated_at = excluded.updated_at, "
                "version = excluded.version, doc = excluded.doc",
                [(subject_id(t), t.last_updated, t.events_applied, twin_doc(t)) for t in twins],
            )
        accounts = changed_account_rows(changes, _money, _time)
        if accounts:
            cur.executemany(_account_upsert(suffix), accounts)
        if changes.transactions:
            cur.executemany(
                _transaction_insert(suffix),
                [transaction_row(r, _money, _time) for r in changes.transactions],
            )
        if changes.alerts_raised:
            cur.executemany(
                _alert_insert(suffix), [alert_row(a, _time) for a in changes.alerts_raised]
            )
        if changes.alert_changes:
            cur.executemany(
                f"UPDATE fraud_alerts{suffix} SET status = %s, updated_at = %s WHERE alert_id = %s",
                [(c.status, c.updated_at, c.alert_id) for c in changes.alert_changes],
            )
        if changes.end:
            cur.executemany(positions.upsert_sql("%s"), positions.position_rows(key, changes.end))

    # --- reader side (queries in SqlTwinReader) ------------------------------------------

    def _fetch(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with postgres_errors(what), self._pool.connection() as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

    def _read_time(self, value: Any) -> datetime:
        return _time(value)

    def _time_param(self, value: datetime) -> Any:
        return value

    def close(self) -> None:
        self._pool.close()
