"""Datagram wake-ups of a SQLite log's watchers: delivery, bursts, stale sockets, clean-up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from banktwin.log.sqlite_wake import WakeReceiver, WakeSender, wake_directory, wake_supported

pytestmark = pytest.mark.skipif(not wake_supported(), reason="no AF_UNIX datagram sockets")


def _eventually(condition: Callable[[], bool], within_s: float = 2.0) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    where = wake_directory(tmp_path / "log.db")
    yield where
    assert not where.exists() or not list(where.iterdir()), "a socket was left behind"


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.calls += 1


def test_the_directory_is_short_and_one_per_log_file(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120) / "log.db"
    where = wake_directory(deep)
    assert len(str(where / f"{2**22}-999-abcdef.sock")) < 100
    assert where == wake_directory(tmp_path / ("d" * 120) / "." / "log.db")
    assert where != wake_directory(tmp_path / "other.db")


def test_a_receiver_is_called_back_for_a_wake(directory: Path) -> None:
    calls = Counter()
    receiver = WakeReceiver(directory, calls)
    sender = WakeSender(directory)
    try:
        sender.wake()
        assert _eventually(lambda: calls.calls >= 1)
    finally:
        sender.close()
        receiver.close()


def test_a_burst_of_wakes_is_merged(directory: Path) -> None:
    entered = threading.Event()
    release = threading.Event()
    calls = Counter()

    def slow() -> None:
        calls()
        entered.set()
        release.wait(2)

    receiver = WakeReceiver(directory, slow)
    sender = WakeSender(directory)
    try:
        sender.wake()
        assert entered.wait(2)
        for _ in range(50):  # while the watcher is busy: queued (or refused, queue full)
            sender.wake()
        release.set()
        assert _eventually(lambda: calls.calls >= 2)
        time.sleep(0.05)
        assert calls.calls == 2
    finally:
        release.set()
        sender.close()
        receiver.close()


def test_close_unbinds_unlinks_and_stops_the_thread(directory: Path) -> None:
    receiver = WakeReceiver(directory, lambda: None)
    assert os.path.exists(receiver.path)
    started = time.monotonic()
    receiver.close()
    assert time.monotonic() - started < 0.5
    assert not os.path.exists(receiver.path)
    assert not any(t.name == "banktwin-log-watch" and t.is_alive() for t in threading.enumerate())
    receiver.close()  # idempotent


def test_a_socket_nobody_is_bound_to_is_unlinked_by_an_appender(directory: Path) -> None:
    directory.mkdir(mode=0o700, exist_ok=True)
    stale = str(directory / "99999999-0-000000.sock")
    left = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    left.bind(stale)
    left.close()  # as a killed process leaves it: the file without a socket
    calls = Counter()
    receiver = WakeReceiver(directory, calls)
    sender = WakeSender(directory)
    try:
        sender.wake()
        assert not os.path.exists(stale)
        assert _eventually(lambda: calls.calls >= 1)
    finally:
        sender.close()
        receiver.close()


def test_an_appender_removing_the_last_stale_socket_removes_the_directory(
    directory: Path,
) -> None:
    directory.mkdir(mode=0o700, exist_ok=True)
    left = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    left.bind(str(directory / "99999999-0-000000.sock"))
    left.close()
    sender = WakeSender(directory)
    sender.wake()
    sender.close()
    assert not directory.exists()


def test_a_process_ending_without_closing_its_watch_leaves_no_socket(directory: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from banktwin.log.sqlite_wake import WakeReceiver; "
        "WakeReceiver(Path(sys.argv[1]), lambda: None)"
    )
    repo = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", script, str(directory)], cwd=repo, check=True)
    assert not directory.exists()


def test_a_closed_watch_is_dropped_and_a_new_one_found(directory: Path) -> None:
    first = WakeReceiver(directory, lambda: None)
    sender = WakeSender(directory)
    calls = Counter()
    try:
        sender.wake()
        first.close()
        second = WakeReceiver(directory, calls)
        sender.wake()  # fails on the closed one: lists again on the next wake
        sender.wake()
        assert _eventually(lambda: calls.calls >= 1)
        second.close()
    finally:
        sender.close()


def test_a_sender_skips_its_own_logs_sockets(directory: Path) -> None:
    calls = Counter()
    own = WakeReceiver(directory, calls)
    witness_calls = Counter()
    witness = WakeReceiver(directory, witness_calls)
    sender = WakeSender(directory)
    sender.skip(own.path)
    try:
        sender.wake()
        assert _eventually(lambda: witness_calls.calls >= 1)
        assert calls.calls == 0
    finally:
        sender.close()
        own.close()
        witness.close()


def test_waking_nobody_costs_next_to_nothing(directory: Path) -> None:
    sender = WakeSender(directory)
    started = time.process_time()
    for _ in range(10_000):
        sender.wake()
    assert (time.process_time() - started) / 10_000 < 20e-6  # measured: well under 1 µs
    sender.close()
