"""Watching a log's appends, on every adapter; across processes on SQLite, across sessions and
schemas on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from banktwin.adapters import open_event_log
from banktwin.log.postgres_notify import NotifyListener
from banktwin.log.sqlite_wake import wake_directory, wake_supported
from tests.contract.event_logs import (
    ADAPTERS,
    Calls,
    LogFactory,
    eventually,
    log_factories,
    postgres_parts,
)
from tests.factories import new_id, registered

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=ADAPTERS)
def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogFactory]:
    yield from log_factories(request.param, request, tmp_path)


def _watch_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "banktwin-log-watch" and t.is_alive()}


def test_a_watch_is_called_back_at_once_for_its_own_logs_appends(
    log_factory: LogFactory,
) -> None:
    log = log_factory()
    calls = Calls()
    watch = log.watch(calls)
    log.append([registered(new_id())])
    assert calls.count >= 1  # in the appending thread, before append returned
    watch.close()


def test_a_watch_sees_appends_through_another_log_object(log_factory: LogFactory) -> None:
    watching = log_factory()
    calls = Calls()
    watch = watching.watch(calls)
    log_factory().append([registered(new_id())])
    assert eventually(lambda: calls.count >= 1)
    watch.close()


def test_a_closed_watch_is_not_called_back(log_factory: LogFactory) -> None:
    watching = log_factory()
    closed, witness = Calls(), Calls()
    watching.watch(closed).close()
    watch = watching.watch(witness)
    appender = log_factory()
    appender.append([registered(new_id())])
    watching.append([registered(new_id())])
    assert eventually(lambda: witness.count >= 2 or appender is watching)
    assert closed.count == 0
    watch.close()


def test_a_failing_watcher_fails_neither_the_append_nor_other_watchers(
    log_factory: LogFactory,
) -> None:
    log = log_factory()

    def broken() -> None:
        raise RuntimeError("watcher bug")

    calls = Calls()
    watches = [log.watch(broken), log.watch(calls)]
    assert not log.append([registered(new_id())])[0].duplicate
    assert calls.count >= 1
    for watch in watches:
        watch.close()


def test_closing_watches_and_the_log_stops_their_threads(log_factory: LogFactory) -> None:
    before = _watch_threads()
    log = log_factory()
    first = log.watch(Calls())
    log.watch(Calls())  # left open: closing the log closes it
    first.close()
    log.close()
    assert _watch_threads() <= before


needs_sockets = pytest.mark.skipif(not wake_supported(), reason="no AF_UNIX datagram sockets")


@needs_sockets
def test_a_sqlite_watch_sees_another_processs_append(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = open_event_log(f"sqlite:///{path}")
    calls = Calls()
    watch = log.watch(calls)
    script = (
        "import sys; from pathlib import Path; from banktwin.log.sqlite import SqliteEventLog; "
        "from tests.factories import new_id, registered; "
        "log = SqliteEventLog(Path(sys.argv[1])); log.append([registered(new_id())]); log.close()"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, check=True, timeout=60)
    assert eventually(lambda: calls.count >= 1)
    assert log.end_offsets() != dict.fromkeys(range(log.partitions), 0)
    watch.close()
    log.close()


@needs_sockets
def test_a_sqlite_watch_leaves_no_socket_behind(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = open_event_log(f"sqlite:///{path}")
    directory = wake_directory(path)
    watches = [log.watch(Calls()) for _ in range(3)]
    assert len(os.listdir(directory)) == 3
    watches[0].close()
    assert len(os.listdir(directory)) == 2
    log.close()  # closes the other two
    assert not directory.exists()


def test_a_postgres_watch_is_not_called_back_for_another_schemas_log(postgres_url: str) -> None:
    url, _ = postgres_parts(postgres_url)
    other_url = f"{url}?schema=bt_test_{uuid.uuid4().hex[:12]}"
    mine, other = open_event_log(postgres_url), open_event_log(other_url)
    try:
        calls, witness = Calls(), Calls()
        mine.watch(calls)
        watching_other = open_event_log(other_url)  # not the appending object: via the server
        watching_other.watch(witness)
        other.append([registered(new_id())])
        assert eventually(lambda: witness.count >= 1)  # the notification was delivered…
        assert calls.count == 0  # …and the other schema's watch filtered it out
        watching_other.close()
    finally:
        mine.close()
        other.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{postgres_parts(other_url)[1]}" CASCADE')


def test_a_postgres_watch_reconnects_after_its_connection_drops(postgres_url: str) -> None:
    url, schema = postgres_parts(postgres_url)
    log = open_event_log(postgres_url)
    name = f"bt-watch-{uuid.uuid4().hex[:8]}"
    calls = Calls()
    listener = NotifyListener(f"{url}?application_name={name}", schema, calls)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert killed == [(True,)]
        assert eventually(lambda: calls.count >= 1)  # back: appends may have been missed
        seen = calls.count
        log.append([registered(new_id())])
        assert eventually(lambda: calls.count > seen)
    finally:
        listener.close()
        log.close()
