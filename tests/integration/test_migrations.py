"""Versioned schema migrations of the event log, the state store and the key-value store, on
SQLite and PostgreSQL: stores made before migrations (their DDL copied from those builds) are
adopted and keep their data, a second open changes nothing, processes opening at once apply
each migration once, a failed migration leaves the version it started from, and a store
migrated by a newer build is refused."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from banktwin.adapters import open_event_log, open_kv_store, open_state_store
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.records import TransactionRecord, records_for
from banktwin.domain.twin import fold
from banktwin.log.codec import encode_payload, utc_text
from banktwin.log.port import subject_hash
from banktwin.schema_migrations import Migration, NewerSchemaError
from banktwin.store import codec
from banktwin.store.port import ProjectionChanges
from banktwin.store.rows import transaction_row
from tests.contract.legacy_stores import (
    LEGACY_FORMAT,
    POSTGRES_KV_DDL,
    POSTGRES_LOG_DDL,
    SQLITE_KV_DDL,
    SQLITE_LOG_DDL,
    postgres_connect,
    sqlite_path,
    write_legacy_store,
)
from tests.factories import T0, new_id, opened, posted, registered

STATE_VERSIONS = [(1, "initial schema"), (2, "twin generations"), (3, "fraud alert indexes")]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'twin.db'}"  # log and stores in one file
    return str(request.getfixturevalue("postgres_url"))


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(sqlite_path(url))) as conn:
            return conn.execute(sql).fetchall()
    with postgres_connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def _execute(url: str, statements: list[str] | tuple[str, ...], *params: Any) -> None:
    """Run DDL (and ``params``: ``(sql, values)`` pairs) as an old build would have."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(sqlite_path(url))) as conn, conn:
            conn.executescript("".join(f"{s};\n" for s in statements))
            for sql, values in params:
                conn.execute(sql, values)
        return
    with postgres_connect(url) as conn:
        for statement in statements:
            conn.execute(statement)
        for sql, values in params:
            conn.execute(sql.replace("?", "%s"), values)


def _versions(url: str, component: str) -> list[tuple[Any, ...]]:
    return _query(
        url,
        "SELECT version, name, applied_at FROM schema_migrations "
        f"WHERE component = '{component}' ORDER BY version",
    )


def _twin(customer_id: str) -> CustomerTwin:
    twin = fold([registered(customer_id), opened(customer_id), posted(customer_id, minutes=1)])
    assert isinstance(twin, CustomerTwin)
    return twin


def test_a_state_store_made_before_migrations_is_adopted_and_keeps_serving_its_twin(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = new_id()
    twin = _twin(cid)
    write_legacy_store(url, [twin], {0: 3})
    monkeypatch.setattr(codec, "TWIN_FORMAT", LEGACY_FORMAT)
    store = open_state_store(url)
    try:
        assert store.customer(cid) == twin and store.positions("twin") == {0: 3}
    finally:
        store.close()
    applied = _versions(url, "state-store")
    assert [(v, n) for v, n, _ in applied] == STATE_VERSIONS

    store = open_state_store(url)  # a second open is a no-op
    try:
        assert store.customer(cid) == twin
    finally:
        store.close()
    assert _versions(url, "state-store") == applied


def test_a_postgres_transactions_table_of_an_earlier_build_is_rekeyed_in_place(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = new_id()
    write_legacy_store(postgres_url, [], {0: 2})
    rows = [
        r
        for e in (posted(cid, minutes=1), posted(cid, minutes=2))
        for r in records_for(e)
        if isinstance(r, TransactionRecord)
    ]
    with postgres_connect(postgres_url) as conn:  # the key before 2026-11-28
        conn.execute("ALTER TABLE transactions DROP CONSTRAINT transactions_pkey")
        conn.execute("ALTER TABLE transactions ADD PRIMARY KEY (customer_id, transaction_id)")
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO transactions VALUES ({', '.join(['%s'] * 17)})",
                [transaction_row(r, lambda m: m, lambda t: t) for r in rows],
            )

    monkeypatch.setattr(codec, "TWIN_FORMAT", LEGACY_FORMAT)
    store = open_state_store(postgres_url)
    try:
        assert store.transactions(cid, 10, 0).total == 2  # kept, not rebuilt
        later = posted(cid, transaction_id=rows[0].transaction_id, minutes=3)
        [record] = records_for(later)
        assert isinstance(record, TransactionRecord)
        store.commit(ProjectionChanges("twin", {0: 2}, {0: 3}, {}, transactions=[record]))
        assert store.transactions(cid, 10, 0).total == 3
    finally:
        store.close()
    key = _query(
        postgres_url,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'transactions'::regclass AND contype = 'p'",
    )
    assert key == [("PRIMARY KEY (customer_id, occurred_at, transaction_id)",)]


def test_an_event_log_made_before_migrations_is_adopted_and_keeps_its_events(url: str) -> None:
    event = registered(new_id())
    recorded = T0
    if url.startswith("sqlite"):
        row: tuple[Any, ...] = (
            0,
            0,
            uuid.UUID(event.event_id).bytes,
            event.subject_id,
            subject_hash(event.subject_id),
            event.type,
            event.version,
            utc_text(event.occurred_at),
            utc_text(recorded),
            event.source,
            encode_payload(event.payload),
        )
        insert = f"INSERT INTO event_log VALUES ({', '.join(['?'] * 11)})"
        _execute(
            url,
            [SQLITE_LOG_DDL.strip().rstrip(";")],
            (insert, row),
            ("INSERT INTO log_meta VALUES ('partitions', '1')", ()),
            ("INSERT INTO log_meta VALUES ('partitioner', 'murmur2')", ()),
        )
    else:
        row = (
            0,
            0,
            event.event_id,
            event.subject_id,
            event.type,
            event.version,
            event.occurred_at,
            recorded,
            event.source,
            encode_payload(event.payload).decode(),
        )
        _execute(
            url,
            POSTGRES_LOG_DDL,
            (f"INSERT INTO event_log VALUES ({', '.join(['?'] * 10)})", row),
            ("INSERT INTO log_partitions VALUES (0, 1)", ()),
            ("INSERT INTO log_meta VALUES ('partitions', '1'), ('partitioner', 'murmur2')", ()),
        )
    for _ in range(2):  # adopted, then a no-op
        log = open_event_log(url)
        try:
            [logged] = log.read(0, 0, 10)
            assert logged.event.event_id == event.event_id
            assert logged.event.payload == event.payload
            assert log.end_offsets() == {0: 1}
        finally:
            log.close()
        assert [v for v, *_ in _versions(url, "event-log")] == [1]


def test_a_key_value_store_made_before_migrations_is_adopted_and_keeps_its_state(
    url: str,
) -> None:
    ddl = [SQLITE_KV_DDL.strip().rstrip(";")] if url.startswith("sqlite") else POSTGRES_KV_DDL
    _execute(
        url,
        ddl,
        ("INSERT INTO consumer_state VALUES ('kpis', 'k', ?)", (b"v",)),
        ("INSERT INTO projection_positions VALUES ('kpis', 0, 7)", ()),
    )
    for _ in range(2):
        kv = open_kv_store(url)
        try:
            assert kv.get_many("kpis", ["k"]) == {"k": b"v"} and kv.positions("kpis") == {0: 7}
            kv.commit(Checkpoint("kpis", {0: 7}, {0: 7}), {})
        finally:
            kv.close()
        assert [v for v, *_ in _versions(url, "kv-state")] == [1]


def test_processes_opening_a_new_database_at_once_apply_each_migration_once(url: str) -> None:
    opened_all: list[Any] = []
    errors: list[BaseException] = []
    openers: list[Callable[[str], Any]] = [open_event_log, open_state_store, open_kv_store] * 2
    barrier = threading.Barrier(len(openers))

    def open_one(opener: Callable[[str], Any]) -> None:
        barrier.wait()
        try:
            opened_all.append(opener(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(o,)) for o in openers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for adapter in opened_all:
        adapter.close()
    assert errors == []
    rows = _query(url, "SELECT component, version FROM schema_migrations ORDER BY 1, 2")
    assert rows == [
        ("event-log", 1),
        ("kv-state", 1),
        ("state-store", 1),
        ("state-store", 2),
        ("state-store", 3),
    ]
    assert [r[:2] for r in _query(url, "SELECT generation, state FROM twin_generations")] == [
        (2, "active")
    ]


def _alert_indexes(url: str) -> list[str]:
    if url.startswith("sqlite"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return sorted(name for (name,) in _query(url, sql) if name.startswith("fraud_alerts_by_"))


def test_the_fraud_alert_indexes_reach_the_generations_made_before_them(url: str) -> None:
    open_state_store(url).close()  # generation 2 active, beside generation 1's plain tables
    by_status = ["fraud_alerts_by_status", "fraud_alerts_by_status_g2"]
    made = [
        f"fraud_alerts_by_{what}{suffix}"
        for suffix in ("", "_g2")
        for what in ("customer", "severity")
    ]
    assert _alert_indexes(url) == sorted(by_status + made)
    _execute(
        url,
        [f"DROP INDEX {name}" for name in made],  # as the builds before migration 3 left them
        ("DELETE FROM schema_migrations WHERE component = 'state-store' AND version = 3", ()),
    )
    assert _alert_indexes(url) == by_status
    open_state_store(url).close()
    assert _alert_indexes(url) == sorted(by_status + made)
    assert [v for v, *_ in _versions(url, "state-store")] == [1, 2, 3]


def test_a_failed_migration_is_rolled_back_and_the_earlier_ones_stay(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_state_store(url).close()

    def half_done(conn: Any) -> None:
        conn.execute("CREATE TABLE half_done (x integer)")
        raise RuntimeError("the last migration failed")

    module = "sqlite" if url.startswith("sqlite") else "postgres"
    adapter = __import__(f"banktwin.store.{module}", fromlist=["MIGRATIONS"])
    known = len(adapter.MIGRATIONS)
    monkeypatch.setattr(
        adapter, "MIGRATIONS", (*adapter.MIGRATIONS, Migration("half done", half_done))
    )
    with pytest.raises(RuntimeError, match="the last migration failed"):
        open_state_store(url)
    assert [v for v, *_ in _versions(url, "state-store")] == list(range(1, known + 1))
    missing = (
        "SELECT name FROM sqlite_master WHERE name = 'half_done'"
        if url.startswith("sqlite")
        else "SELECT to_regclass('half_done') WHERE to_regclass('half_done') IS NOT NULL"
    )
    assert _query(url, missing) == []


def test_a_database_migrated_by_a_newer_build_is_refused(url: str) -> None:
    open_state_store(url).close()
    _execute(
        url,
        [],
        (
            "INSERT INTO schema_migrations VALUES ('state-store', 9, 'from the future', ?)",
            (datetime.now(UTC).isoformat(),),
        ),
    )
    with pytest.raises(NewerSchemaError, match=r"schema version 9, newer than this build knows"):
        open_state_store(url)
    open_kv_store(url).close()  # the other components are at versions this build knows


def test_the_twin_of_a_store_adopted_from_another_format_is_not_rebuilt_in_place(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = new_id()
    write_legacy_store(url, [_twin(cid)], {0: 3})
    monkeypatch.setattr(codec, "TWIN_FORMAT", "99")
    store = open_state_store(url)
    store.close()
    # Nothing the build before generations reads was changed: it would go on serving.
    assert _query(url, "SELECT value FROM store_meta WHERE key = 'twin_format'") == [
        (LEGACY_FORMAT,)
    ]
    assert _query(url, "SELECT customer_id FROM customers") == [(cid,)]
    assert _query(url, "SELECT generation, twin_format, state FROM twin_generations") == [
        (1, LEGACY_FORMAT, "active"),
        (2, "99", "building"),
    ]
    assert _query(url, "SELECT COUNT(*) FROM customers_g2") == [(0,)]
