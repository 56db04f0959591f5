"""The embedded state store: SQLite (by default the same file as the event log)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.twin import Twin
from banktwin.log.codec import parse_utc, utc_text
from banktwin.schema_migrations import (
    Migration,
    migrate_sqlite,
    run_sqlite_script,
    sqlite_statements,
)
from banktwin.sqlite_connection import (
    ThreadLocalConnections,
    connect_sqlite,
    in_write_transaction,
    sqlite_errors,
)
from banktwin.store import codec, positions, sql_generations
from banktwin.store.generations import TwinGeneration
from banktwin.store.port import ProjectionChanges, SubjectKey
from banktwin.store.rows import (
    ACCOUNT_COLUMNS,
    ALERT_COLUMNS,
    TRANSACTION_COLUMNS,
    TWIN_TABLES,
    alert_row,
    changed_account_rows,
    loan_customer,
    subject_id,
    transaction_row,
    twin_doc,
)
from banktwin.store.sql_store import SqlStateStore

T = TypeVar("T")

META_DDL = """
CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def twin_tables_ddl(suffix: str) -> str:
    """The tables of one twin generation, their names ending with ``suffix``."""
    return f"""
CREATE TABLE IF NOT EXISTS customers{suffix} (
    customer_id TEXT PRIMARY KEY,
    updated_at  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc         BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS branches{suffix} (
    branch_id  TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS loans{suffix} (
    application_id TEXT PRIMARY KEY,
    customer_id    TEXT,
    updated_at     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc            BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS loans_by_customer{suffix} ON loans{suffix} (customer_id, updated_at);
CREATE TABLE IF NOT EXISTS accounts{suffix} (
    account_id  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    type        TEXT,
    currency    TEXT NOT NULL,
    balance     TEXT NOT NULL,
    status      TEXT NOT NULL,
    opened_at   TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, account_id)
);
CREATE INDEX IF NOT EXISTS accounts_by_id{suffix} ON accounts{suffix} (account_id);
CREATE TABLE IF NOT EXISTS transactions{suffix} (
    transaction_id    TEXT NOT NULL,
    customer_id       TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    amount            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    direction         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    merchant          TEXT,
    merchant_category TEXT,
    terminal_id       TEXT,
    card_token        TEXT,
    device_id         TEXT,
    country           TEXT,
    city              TEXT,
    description       TEXT,
    occurred_at       TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    -- Clustered by customer and time: the newest-first page is one range scan, and an
    -- insert touches one B-tree instead of a table and an index. (rows.TRANSACTION_KEY)
    PRIMARY KEY (customer_id, occurred_at, transaction_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fraud_alerts{suffix} (
    alert_id       TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    severity       TEXT NOT NULL,
    status         TEXT NOT NULL,
    score          REAL,
    reasons        TEXT NOT NULL,
    rule_ids       TEXT NOT NULL,
    raised_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fraud_alerts_recent{suffix}
    ON fraud_alerts{suffix} (raised_at DESC, alert_id DESC);
CREATE INDEX IF NOT EXISTS fraud_alerts_by_status{suffix}
    ON fraud_alerts{suffix} (status, raised_at DESC, alert_id DESC);
"""


def _twin_generations(conn: sqlite3.Connection) -> None:
    for statement in sql_generations.generations_ddl("TEXT", "TEXT"):
        conn.execute(statement)
    sql_generations.adopt_legacy(conn, "?", utc_text)


def _alert_indexes(conn: sqlite3.Connection) -> None:
    for suffix in sql_generations.standing_suffixes(conn):
        for statement in sql_generations.alert_indexes_ddl(suffix):
            conn.execute(statement)


MIGRATIONS = (
    Migration(
        "initial schema", run_sqlite_script(positions.SQLITE_DDL + META_DDL + twin_tables_ddl(""))
    ),
    Migration("twin generations", _twin_generations),
    Migration("fraud alert indexes", _alert_indexes),
)
"""The state store's schema, version by version (:mod:`banktwin.schema_migrations`); append
only. Version 1 is the schema of the builds before migrations: their stores are adopted."""

_KEY_CHUNK = 500


def _money(value: Any) -> str:
    return str(value)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteStateStore(SqlStateStore):
    """The :class:`~banktwin.store.port.StateStore` on one SQLite file."""

    @property
    def reads_are_local(self) -> bool:
        return True  # an embedded file

    def __init__(self, path: Path) -> None:
        self._write_lock = threading.Lock()
        self._writer = connect_sqlite(path)
        self._readers = ThreadLocalConnections(path)
        with sqlite_errors("create the state store"):
            migrate_sqlite(self._writer, "state-store", MIGRATIONS, str(path))
        self._start_generations(codec.TWIN_FORMAT)

    def _transaction(self, what: str, work: Callable[[Any], T], *, schema: bool = False) -> T:
        # Every write holds the file's write lock: schema changes need nothing more.
        done: list[T] = []
        with sqlite_errors(what):
            in_write_transaction(self._writer, self._write_lock, lambda c: done.append(work(c)))
        return done[0]

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    def _tables_ddl(self, suffix: str) -> Iterable[str]:
        return [
            *sqlite_statements(twin_tables_ddl(suffix)),
            *sql_generations.alert_indexes_ddl(suffix),
        ]

    def _drop_tables(self, generation: TwinGeneration) -> Iterable[str]:
        return sql_generations.drop_statements(generation, "DELETE FROM {}")

    # --- projector side -----------------------------------------------------------------

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        suffix = self._required_target().suffix
        by_kind: dict[SubjectKind, list[str]] = {}
        for kind, key in keys:
            by_kind.setdefault(kind, []).append(key)
        found: dict[SubjectKey, Twin] = {}
        conn = self._reader()
        with sqlite_errors("load twins"):
            for kind, ids in by_kind.items():
                spec = TWIN_TABLES[kind]
                for start in range(0, len(ids), _KEY_CHUNK):
                    chunk = ids[start : start + _KEY_CHUNK]
                    for key, doc in conn.execute(
                        f"SELECT {spec.key}, doc FROM {spec.table}{suffix} "
                        f"WHERE {spec.key} IN ({_marks(len(chunk))})",
                        chunk,
                    ):
                        found[(kind, key)] = spec.decode(doc)
        return found

    def _lock_positions(self, conn: Any, key: str) -> dict[int, int]:
        # The transaction holds the file's write lock already.
        return {int(p): int(o) for p, o in conn.execute(positions.select_sql("?"), (key,))}

    def _write_rows(self, conn: Any, changes: ProjectionChanges, suffix: str, key: str) -> None:
        for kind, spec in TWIN_TABLES.items():
            twins = [t for (k, _), t in changes.twins.items() if k is kind]
            if not twins:
                continue
            if kind is SubjectKind.LOAN:
                conn.executemany(
                    f"INSERT INTO loans{suffix} "
                    "(application_id, customer_id, updated_at, version, doc) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (application_id) DO UPDATE SET "
                    "customer_id = excluded.customer_id, updated_at = excluded.updated_at, "
                    "version = excluded.version, doc = excluded.doc",
                    [
                        (
                            t.application_id,
                            loan_customer(t),
                            utc_text(t.last_updated),
                            t.events_applied,
                            twin_doc(t),
                        )
                        for t in twins
                        if isinstance(t, LoanTwin)
                    ],
                )
                continue
            conn.executemany(
                f"INSERT INTO {spec.table}{suffix} ({spec.key}, updated_at, version, doc) "
                "VALUES (?, ?, ?, ?) "
                f"ON CONFLICT ({spec.key}) DO UPDATE SET updated_at = excluded.updated_at, "
                "version = excluded.version, doc = excluded.doc",
                [
                    (subject_id(t), utc_text(t.last_updated), t.events_applied, twin_doc(t))
                    for t in twins
                ],
            )
        accounts = changed_account_rows(changes, _money, utc_text)
        if accounts:
            updates = ", ".join(f"{c} = excluded.{c}" for c in ACCOUNT_COLUMNS[2:])
            conn.executemany(
                f"INSERT INTO accounts{suffix} ({', '.join(ACCOUNT_COLUMNS)}) "
                f"VALUES ({_marks(len(ACCOUNT_COLUMNS))}) "
                f"ON CONFLICT (customer_id, account_id) DO UPDATE SET {updates}",
                accounts,
            )
        if changes.transactions:
            conn.executemany(
                f"INSERT OR IGNORE INTO transactions{suffix} ({', '.join(TRANSACTION_COLUMNS)}) "
                f"VALUES ({_marks(len(TRANSACTION_COLUMNS))})",
                [transaction_row(r, _money, utc_text) for r in changes.transactions],
            )
        if changes.alerts_raised:
            conn.executemany(
                f"INSERT OR IGNORE INTO fraud_alerts{suffix} ({', '.join(ALERT_COLUMNS)}) "
                f"VALUES ({_marks(len(ALERT_COLUMNS))})",
                [alert_row(a, utc_text) for a in changes.alerts_raised],
            )
        if changes.alert_changes:
            conn.executemany(
                f"UPDATE fraud_alerts{suffix} SET status = ?, updated_at = ? WHERE alert_id = ?",
                [(c.status, utc_text(c.updated_at), c.alert_id) for c in changes.alert_changes],
            )
        conn.executemany(positions.upsert_sql("?"), positions.position_rows(key, changes.end))

    # --- reader side (queries in SqlTwinReader) ------------------------------------------

    def _fetch(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite_errors(what):
            return self._reader().execute(sql, params).fetchall()

    def _read_time(self, value: Any) -> datetime:
        return parse_utc(value)

    def _time_param(self, value: datetime) -> Any:
        return utc_text(value)

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        self._readers.close()
