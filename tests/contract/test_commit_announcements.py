"""Commit announcements on every adapter: in the announcing process, between announcer objects
standing for two processes (SQLite, PostgreSQL), from a real process that commits, and their
costs and failures (never the commit's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from banktwin.adapters import open_commit_announcer
from banktwin.consumers.announcement_channels import ChannelAnnouncer
from banktwin.consumers.announcements import CommitAnnouncement, CommitAnnouncer
from banktwin.consumers.postgres_announcements import PostgresAnnouncementChannel, commit_channel
from banktwin.consumers.sqlite_announcements import COMMITS
from banktwin.log.sqlite_wake import wake_directory, wake_supported
from tests.contract.event_logs import eventually, postgres_parts

REPO = Path(__file__).resolve().parents[2]
ADAPTERS = ["memory", "sqlite", "postgres"]
SHARED = ["sqlite", "postgres"]
"""The adapters whose announcements reach other processes."""

needs_sockets = pytest.mark.skipif(not wake_supported(), reason="no AF_UNIX datagram sockets")

AnnouncerFactory = Callable[[], CommitAnnouncer]


class Heard:
    """A subscriber keeping what it hears."""

    def __init__(self) -> None:
        self.announcements: list[CommitAnnouncement] = []
        self._lock = threading.Lock()

    def __call__(self, announcement: CommitAnnouncement) -> None:
        with self._lock:
            self.announcements.append(announcement)

    def names(self) -> list[str]:
        with self._lock:
            return [a.consumer for a in self.announcements]


def _url(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if adapter == "memory":
        return "memory://"
    if adapter == "sqlite":
        return f"sqlite:///{tmp_path / 'twin.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request.param, request, tmp_path)


def _factory(url: str) -> Iterator[AnnouncerFactory]:
    """Announcers of the same store, one per call (each stands for a process of its own),
    closed afterwards."""
    opened: list[CommitAnnouncer] = []

    def factory() -> CommitAnnouncer:
        announcer = open_commit_announcer(url)
        opened.append(announcer)
        return announcer

    yield factory
    for announcer in opened:
        announcer.close()


@pytest.fixture(params=ADAPTERS)
def announcers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnnouncerFactory]:
    yield from _factory(_url(request.param, request, tmp_path))


@pytest.fixture(params=SHARED)
def shared_announcers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnnouncerFactory]:
    if request.param == "sqlite" and not wake_supported():
        pytest.skip("no AF_UNIX datagram sockets")
    yield from _factory(_url(request.param, request, tmp_path))


def test_a_subscriber_hears_this_processs_commit_at_once(announcers: AnnouncerFactory) -> None:
    announcer = announcers()
    heard = Heard()
    subscription = announcer.subscribe(["kpis"], heard)
    announcer.announce("kpis", {0: 12, 1: 7})
    # In the announcing thread, before announce returned.
    assert heard.announcements == [CommitAnnouncement("kpis", {0: 12, 1: 7})]
    subscription.close()
    announcer.announce("kpis", {0: 13, 1: 7})
    assert len(heard.announcements) == 1


def test_a_subscriber_hears_only_the_consumers_it_names(announcers: AnnouncerFactory) -> None:
    announcer = announcers()
    kpis, twin = Heard(), Heard()
    announcer.subscribe(["kpis"], kpis)
    announcer.subscribe(["twin", "fraud"], twin)
    for name in ("twin", "kpis", "risk", "fraud"):
        announcer.announce(name, {0: 1})
    assert kpis.names() == ["kpis"]
    assert twin.names() == ["twin", "fraud"]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    announcers: AnnouncerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    announcer = announcers()

    def broken(_: CommitAnnouncement) -> None:
        raise RuntimeError("a subscriber's bug")

    heard = Heard()
    announcer.subscribe(["twin"], broken)
    announcer.subscribe(["twin"], heard)
    announcer.announce("twin", {0: 3})  # does not raise
    assert heard.names() == ["twin"]
    assert "subscriber failed" in caplog.text


def test_another_process_hears_a_commit(shared_announcers: AnnouncerFactory) -> None:
    listening, committing = shared_announcers(), shared_announcers()
    heard = Heard()
    listening.subscribe(["kpis"], heard)
    committing.announce("kpis", {0: 5, 3: 9})
    assert eventually(lambda: bool(heard.announcements), within_s=5)
    assert heard.announcements[0] == CommitAnnouncement("kpis", {0: 5, 3: 9})


def test_an_announcer_hears_its_own_announcement_once(shared_announcers: AnnouncerFactory) -> None:
    """Directly; not a second time through the channel (PostgreSQL delivers a notification to
    every listening session, the sender's process's too)."""
    announcer, witness = shared_announcers(), shared_announcers()
    mine, theirs = Heard(), Heard()
    announcer.subscribe(["twin"], mine)
    witness.subscribe(["twin"], theirs)
    announcer.announce("twin", {0: 1})
    assert eventually(lambda: bool(theirs.announcements), within_s=5)  # it went out…
    time.sleep(0.3)
    assert mine.names() == ["twin"]  # …and did not come back


def test_a_burst_ends_with_its_last_announcement_or_a_may_have_missed(
    shared_announcers: AnnouncerFactory,
) -> None:
    """Faster than a receiver takes them (a socket holds ten datagrams on a default Linux):
    the subscriber hears the last one, or, after it, that it may have missed some."""
    listening, committing = shared_announcers(), shared_announcers()
    heard = Heard()
    listening.subscribe(["twin"], heard)
    for offset in range(1, 51):
        committing.announce("twin", {0: offset})
    assert eventually(
        lambda: bool(heard.announcements) and heard.announcements[-1].positions in ({0: 50}, {}),
        within_s=5,
    )
    offsets = [a.positions[0] for a in heard.announcements if a.positions]
    assert offsets == sorted(offsets)


def test_positions_too_many_to_carry_are_left_out(shared_announcers: AnnouncerFactory) -> None:
    listening, committing = shared_announcers(), shared_announcers()
    heard = Heard()
    listening.subscribe(["fraud"], heard)
    committing.announce("fraud", {p: 10**9 + p for p in range(1024)})
    assert eventually(lambda: bool(heard.announcements), within_s=5)
    assert heard.announcements[0] == CommitAnnouncement("fraud", {})


_COMMITTING_PROCESS = """
import sys
from banktwin.adapters import open_commit_announcer, open_event_log, open_kv_store
from banktwin.consumers.announcements import announce_commits
from banktwin.consumers.consumer import Consumer
from banktwin.kpis.engine import KpiEngine
from tests.factories import new_id, registered

url = sys.argv[1]
log, kv, announcer = open_event_log(url), open_kv_store(url), open_commit_announcer(url)
consumer = Consumer(log, KpiEngine(kv))
announce_commits([consumer], announcer)
log.append([registered(new_id())])
consumer.run_until_caught_up()
announcer.close()
log.close()
kv.close()
"""


@pytest.mark.parametrize("store_url", SHARED, indirect=True)
def test_a_consumer_committing_in_another_process_is_heard(store_url: str) -> None:
    """A real process runs the KPI consumer with the runtime's post-commit listener
    (:func:`announce_commits`); this one hears its commit, with the positions it reached."""
    if store_url.startswith("sqlite") and not wake_supported():
        pytest.skip("no AF_UNIX datagram sockets")
    announcer = open_commit_announcer(store_url)
    heard = Heard()
    announcer.subscribe(["kpis"], heard)
    try:
        subprocess.run(
            [sys.executable, "-c", _COMMITTING_PROCESS, store_url],
            cwd=REPO,
            check=True,
            timeout=120,
        )
        assert eventually(lambda: bool(heard.announcements), within_s=5)
        kpis = heard.announcements[-1]
        assert kpis.consumer == "kpis"
        assert sum(kpis.positions.values()) == 1  # the one event it applied
    finally:
        announcer.close()


@needs_sockets
def test_sqlite_nobody_listening_costs_no_socket_and_next_to_nothing(tmp_path: Path) -> None:
    path = tmp_path / "twin.db"
    announcer = open_commit_announcer(f"sqlite:///{path}")
    directory = wake_directory(path, COMMITS)
    started = time.process_time()
    for offset in range(2000):
        announcer.announce("twin", {0: offset, 1: offset})
    per_call = (time.process_time() - started) / 2000
    assert per_call < 100e-6  # a JSON text and a directory listing: a few µs
    assert not directory.exists()
    subscription = announcer.subscribe(["twin"], Heard())
    assert len(os.listdir(directory)) == 1  # one socket while anyone here listens
    second = announcer.subscribe(["kpis"], Heard())
    assert len(os.listdir(directory)) == 1  # one per process, not per subscriber
    subscription.close()
    second.close()
    assert not directory.exists()
    announcer.close()


@needs_sockets
def test_sqlite_appends_and_commits_have_channels_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "twin.db"
    assert wake_directory(path, COMMITS) != wake_directory(path)


@needs_sockets
def test_sqlite_a_datagram_that_is_no_announcement_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "twin.db"
    listening, committing = (open_commit_announcer(f"sqlite:///{path}") for _ in range(2))
    heard = Heard()
    listening.subscribe(["twin"], heard)
    directory = wake_directory(path, COMMITS)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as stray:
        for name in os.listdir(directory):
            stray.sendto(b"not json", str(directory / name))
    committing.announce("twin", {0: 2})
    assert eventually(lambda: bool(heard.announcements), within_s=5)
    assert heard.announcements == [CommitAnnouncement("twin", {0: 2})]
    assert "does not parse" in caplog.text
    listening.close()
    committing.close()


def test_postgres_schemas_have_channels_of_their_own(postgres_url: str) -> None:
    url, schema = postgres_parts(postgres_url)
    other_url = f"{url}?schema=bt_test_{uuid.uuid4().hex[:12]}"
    mine, other = open_commit_announcer(postgres_url), open_commit_announcer(other_url)
    witness = open_commit_announcer(other_url)
    try:
        heard, witnessed = Heard(), Heard()
        mine.subscribe(["kpis"], heard)
        witness.subscribe(["kpis"], witnessed)
        other.announce("kpis", {0: 1})
        assert eventually(lambda: bool(witnessed.announcements), within_s=5)
        time.sleep(0.3)
        assert heard.announcements == []
    finally:
        for announcer in (mine, other, witness):
            announcer.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{postgres_parts(other_url)[1]}" CASCADE')
    assert commit_channel(schema) == f"banktwin_commits_{schema}"
    assert len(commit_channel("s" * 80)) <= 63


def test_postgres_a_reconnected_listener_tells_its_subscribers_they_may_have_missed_some(
    postgres_url: str,
) -> None:
    url, schema = postgres_parts(postgres_url)
    name = f"bt-commits-{uuid.uuid4().hex[:8]}"
    listening = ChannelAnnouncer(
        PostgresAnnouncementChannel(f"{url}?application_name={name}", schema)
    )
    committing = open_commit_announcer(postgres_url)
    heard = Heard()
    listening.subscribe(["twin", "kpis"], heard)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert killed == [(True,)]
        # Back: each of its consumers, positions unknown.
        assert eventually(lambda: len(heard.announcements) >= 2, within_s=10)
        assert heard.announcements[:2] == [CommitAnnouncement("kpis"), CommitAnnouncement("twin")]
        committing.announce("twin", {0: 4})
        assert eventually(lambda: heard.announcements[-1].positions == {0: 4}, within_s=5)
    finally:
        listening.close()
        committing.close()


def test_postgres_an_unreachable_server_never_fails_or_slows_a_commit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed_port = _closed_port()
    announcer = open_commit_announcer(f"postgresql://postgres@127.0.0.1:{closed_port}/test")
    started = time.monotonic()
    for offset in range(100):
        announcer.announce("twin", {0: offset})  # never raises
    assert time.monotonic() - started < 0.5  # the sender thread meets the failure, not us
    assert eventually(lambda: "could not announce" in caplog.text, within_s=5)
    announcer.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
