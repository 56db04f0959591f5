"""The embedded state store: SQLite (by default the same file as the event log)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.twin import Twin
from banktwin.log.codec import parse_utc, utc_text
from banktwin.sqlite_connection import (
    ThreadLocalConnections,
    connect_sqlite,
    in_write_transaction,
    sqlite_errors,
)
from banktwin.store import positions
from banktwin.store.port import TWIN_CONSUMER, ProjectionChanges, SubjectKey
from banktwin.store.rows import (
    ACCOUNT_COLUMNS,
    ALERT_COLUMNS,
    TRANSACTION_COLUMNS,
    TWIN_TABLES,
    adopt_twin_format,
    alert_row,
    changed_account_rows,
    loan_customer,
    subject_id,
    transaction_row,
    twin_doc,
)
from banktwin.store.sql_reader import SqlTwinReader

SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    updated_at  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc         BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS branches (
    branch_id  TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS loans (
    application_id TEXT PRIMARY KEY,
    customer_id    TEXT,
    updated_at     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc            BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS loans_by_customer ON loans (customer_id, updated_at);
CREATE TABLE IF NOT EXISTS accounts (
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
CREATE INDEX IF NOT EXISTS accounts_by_id ON accounts (account_id);
CREATE TABLE IF NOT EXISTS transactions (
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
CREATE TABLE IF NOT EXISTS fraud_alerts (
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
CREATE INDEX IF NOT EXISTS fraud_alerts_recent ON fraud_alerts (raised_at DESC, alert_id DESC);
CREATE INDEX IF NOT EXISTS fraud_alerts_by_status
    ON fraud_alerts (status, raised_at DESC, alert_id DESC);
"""
TWIN_PROJECTION_TABLES = (
    "customers",
    "branches",
    "loans",
    "accounts",
    "transactions",
    "fraud_alerts",
)
_KEY_CHUNK = 500


def _money(value: Any) -> str:
    return str(value)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteStateStore(SqlTwinReader):
    """The :class:`~banktwin.store.port.StateStore` on one SQLite file."""

    @property
    def reads_are_local(self) -> bool:
        return True  # an embedded file

    def __init__(self, path: Path) -> None:
        self._write_lock = threading.Lock()
        self._writer = connect_sqlite(path)
        self._readers = ThreadLocalConnections(path)
        with sqlite_errors("create the state store"):
            self._writer.executescript(positions.SQLITE_DDL + SCHEMA)
            self._in_write_transaction(self._adopt_twin_format)

    @staticmethod
    def _adopt_twin_format(conn: sqlite3.Connection) -> None:
        adopt_twin_format(conn, "?", TWIN_PROJECTION_TABLES)

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], None]) -> None:
        in_write_transaction(self._writer, self._write_lock, work)

    def _reader(self) -> sqlite3.Connection:
        return self._readers.get()

    # --- projector side -----------------------------------------------------------------

    def positions(self, consumer: str) -> dict[int, int]:
        with sqlite_errors("read projection positions"):
            rows = self._reader().execute(positions.select_sql("?"), (consumer,)).fetchall()
        return {int(p): int(o) for p, o in rows}

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
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
                        f"SELECT {spec.key}, doc FROM {spec.table} "
                        f"WHERE {spec.key} IN ({_marks(len(chunk))})",
                        chunk,
                    ):
                        found[(kind, key)] = spec.decode(doc)
        return found

    def commit(self, changes: ProjectionChanges) -> None:
        def check_and_write(conn: sqlite3.Connection) -> None:
            self._check_positions(conn, changes)
            self._write(conn, changes)

        with sqlite_errors("commit projections"):
            self._in_write_transaction(check_and_write)

    @staticmethod
    def _check_positions(conn: sqlite3.Connection, changes: ProjectionChanges) -> None:
        stored = dict(conn.execute(positions.select_sql("?"), (changes.consumer,)).fetchall())
        positions.check_positions(changes.consumer, stored, changes.start)

    @staticmethod
    def _write(conn: sqlite3.Connection, changes: ProjectionChanges) -> None:
        for kind, spec in TWIN_TABLES.items():
            twins = [t for (k, _), t in changes.twins.items() if k is kind]
            if not twins:
                continue
            if kind is SubjectKind.LOAN:
                conn.executemany(
                    "INSERT INTO loans (application_id, customer_id, updated_at, version, doc) "
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
                f"INSERT INTO {spec.table} ({spec.key}, updated_at, version, doc) "
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
                f"INSERT INTO accounts ({', '.join(ACCOUNT_COLUMNS)}) "
                f"VALUES ({_marks(len(ACCOUNT_COLUMNS))}) "
                f"ON CONFLICT (customer_id, account_id) DO UPDATE SET {updates}",
                accounts,
            )
        if changes.transactions:
            conn.executemany(
                f"INSERT OR IGNORE INTO transactions ({', '.join(TRANSACTION_COLUMNS)}) "
                f"VALUES ({_marks(len(TRANSACTION_COLUMNS))})",
                [transaction_row(r, _money, utc_text) for r in changes.transactions],
            )
        if changes.alerts_raised:
            conn.executemany(
                f"INSERT OR IGNORE INTO fraud_alerts ({', '.join(ALERT_COLUMNS)}) "
                f"VALUES ({_marks(len(ALERT_COLUMNS))})",
                [alert_row(a, utc_text) for a in changes.alerts_raised],
            )
        if changes.alert_changes:
            conn.executemany(
                "UPDATE fraud_alerts SET status = ?, updated_at = ? WHERE alert_id = ?",
                [(c.status, utc_text(c.updated_at), c.alert_id) for c in changes.alert_changes],
            )
        conn.executemany(
            positions.upsert_sql("?"), positions.position_rows(changes.consumer, changes.end)
        )

    def reset(self, consumer: str = TWIN_CONSUMER) -> None:
        def delete_all(conn: sqlite3.Connection) -> None:
            for table in TWIN_PROJECTION_TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM projection_positions WHERE consumer = ?", (consumer,))

        with sqlite_errors("reset projections"):
            self._in_write_transaction(delete_all)

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
