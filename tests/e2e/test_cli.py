"""The ``banktwin`` command as a user runs it: demo, serve, simulate, replay, worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from banktwin.adapters import open_event_log, open_kv_store, open_state_store
from banktwin.kpis.reader import KpiReader
from tests.factories import new_id, opened, posted, registered

pytestmark = pytest.mark.slow

SECRET = "cli-test-signing-key-0123456789abcdefgh"
CLIENTS = "loader:loader-secret-123:digitaltwin.read+digitaltwin.write"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")}
    return {**env, **extra}


def banktwin(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "banktwin", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(data_dir: Path, port: int) -> Iterator[str]:
    env = clean_env(
        BANKTWIN_DATA_DIR=str(data_dir), BANKTWIN_TOKEN_SECRET=SECRET, BANKTWIN_CLIENTS=CLIENTS
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "banktwin", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def count_events(data_dir: Path) -> int:
    log = open_event_log(f"sqlite:///{data_dir / 'twin.db'}")
    try:
        return sum(log.end_offsets().values())
    finally:
        log.close()


def test_serve_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    result = banktwin("serve", "--data-dir", str(tmp_path), env=clean_env())
    assert result.returncode == 2
    assert "BANKTWIN_TOKEN_SECRET" in result.stderr and "Traceback" not in result.stderr
    short = banktwin(
        "serve", env=clean_env(BANKTWIN_TOKEN_SECRET="short", BANKTWIN_CLIENTS=CLIENTS)
    )
    assert short.returncode == 2 and "too short" in short.stderr
    bad = banktwin(
        "serve", env=clean_env(BANKTWIN_TOKEN_SECRET=SECRET, BANKTWIN_CLIENTS="x:y:root")
    )
    assert bad.returncode == 2 and "unknown scope 'root'" in bad.stderr


def test_bad_options_name_the_option(tmp_path: Path) -> None:
    result = banktwin("demo", "--customers", "0", env=clean_env())
    assert result.returncode == 2 and "--customers" in result.stderr
    result = banktwin(
        "serve",
        env=clean_env(
            BANKTWIN_PORT="99999", BANKTWIN_TOKEN_SECRET=SECRET, BANKTWIN_CLIENTS=CLIENTS
        ),
    )
    assert result.returncode == 2 and "port" in result.stderr
    result = banktwin(
        "worker", "--data-dir", str(tmp_path), "--consumers", "twin,drift", env=clean_env()
    )
    assert result.returncode == 2 and "--consumers" in result.stderr and "'drift'" in result.stderr


def test_a_worker_refuses_partitions_the_log_does_not_have(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    result = banktwin("worker", *data, "--partitions", "0,7", env=clean_env())
    assert result.returncode == 2
    assert "BANKTWIN_PARTITIONS (--partitions)" in result.stderr and "0..3" in result.stderr
    result = banktwin("worker", *data, "--partitions", "one", env=clean_env())
    assert result.returncode == 2 and "BANKTWIN_PARTITIONS (--partitions)" in result.stderr


def test_demo_backfills_projects_serves_and_continues(tmp_path: Path) -> None:
    args = (
        "demo",
        "--data-dir",
        str(tmp_path),
        "--customers",
        "30",
        "--branches",
        "2",
        "--history-days",
        "1",
        "--duration",
        "2",
        "--rate",
        "20",
        "--port",
        str(free_port()),
    )
    first = banktwin(*args, env=clean_env())
    assert first.returncode == 0, first.stderr
    assert "banktwin demo is running" in first.stdout and "export TOKEN=" in first.stdout
    logged = count_events(tmp_path)
    store = open_state_store(f"sqlite:///{tmp_path / 'twin-state.db'}")
    try:
        # A day of this bank's history is 240 (a Sunday: branches closed) to 680 events.
        assert logged > 200
        assert sum(store.positions("twin").values()) >= logged - 100  # projected (live tail aside)
    finally:
        store.close()
    again = banktwin(*args[:-1], str(free_port()), env=clean_env())
    assert again.returncode == 0 and "Continuing the bank" in again.stdout
    assert count_events(tmp_path) > logged  # live activity kept flowing, no re-registration
    assert (tmp_path / "sim_ground_truth.db").exists()


def test_simulate_streams_to_a_running_server_and_replay_rebuilds_the_same_twin(
    tmp_path: Path,
) -> None:
    server_dir, sim_dir = tmp_path / "server", tmp_path / "sim"
    with serving(server_dir, free_port()) as base:
        result = banktwin(
            "simulate",
            "--url",
            base,
            "--client-id",
            "loader",
            "--client-secret",
            "loader-secret-123",
            "--customers",
            "25",
            "--branches",
            "1",
            "--history-days",
            "1",
            "--duration",
            "1",
            "--rate",
            "10",
            "--data-dir",
            str(sim_dir),
            env=clean_env(),
        )
        assert result.returncode == 0, result.stderr
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("loader", "loader-secret-123"),
        ).json()["access_token"]
        deadline = time.monotonic() + 30
        while (
            max(c["lag"] for c in httpx.get(f"{base}/readyz").json()["consumers"])
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        kpis_before = httpx.get(
            f"{base}/v1/kpis", params={"hours": 72}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        alerts = httpx.get(f"{base}/v1/fraud-alerts", headers={"Authorization": f"Bearer {token}"})
        assert alerts.status_code == 200
    logged = count_events(server_dir)
    assert logged > 150  # a day of this bank's history: 192 (weekend) to 560 events
    url = f"sqlite:///{server_dir / 'twin-state.db'}"
    store = open_state_store(url)
    before = {key: store.customer(key) for key in _customer_ids(server_dir)}
    store.close()
    for processes in ("2", "1"):  # the log's 4 partitions split between 2 processes, or not
        replayed = banktwin(
            "replay", "--data-dir", str(server_dir), "--processes", processes, env=clean_env()
        )
        assert replayed.returncode == 0, replayed.stderr
        assert f"replayed {4 * logged:,} events (twin, kpis, fraud, risk)" in replayed.stdout
        assert f"({processes} processes)" in replayed.stdout
        store = open_state_store(url)
        try:
            assert {key: store.customer(key) for key in before} == before
        finally:
            store.close()
    replayed = banktwin(
        "replay", "--data-dir", str(server_dir), "--consumers", "kpis", env=clean_env()
    )
    assert f"replayed {logged:,} events (kpis)" in replayed.stdout
    kv = open_kv_store(url)
    try:
        after = KpiReader(kv, 4).report(datetime.fromisoformat(kpis_before["asOf"]), hours=72)
    finally:
        kv.close()
    assert after.events == kpis_before["events"] == logged
    assert after.completeness.percent == kpis_before["dataCompleteness"]["percent"]
    assert len(after.history) == len(kpis_before["history"])


def test_simulate_with_wrong_credentials_is_a_clear_error(tmp_path: Path) -> None:
    with serving(tmp_path, free_port()) as base:
        result = banktwin(
            "simulate",
            "--url",
            base,
            "--client-id",
            "loader",
            "--client-secret",
            "wrong",
            "--customers",
            "5",
            env=clean_env(),
        )
    assert result.returncode == 2 and "refused client 'loader'" in result.stderr


def _customer_ids(data_dir: Path) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(data_dir / "twin-state.db")
    try:
        return [row[0] for row in conn.execute("SELECT customer_id FROM customers LIMIT 25")]
    finally:
        conn.close()


def _start_worker(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "banktwin", "worker", "--data-dir", str(data_dir), *args],
        env=clean_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_a_worker_splits_the_partitions_between_processes_and_stops_them(
    tmp_path: Path,
) -> None:
    log = open_event_log(f"sqlite:///{tmp_path / 'twin.db'}")
    customers = [new_id() for _ in range(24)]
    events = [registered(c) for c in customers] + [opened(c, minutes=1) for c in customers]
    events += [posted(c, amount="2.00", minutes=2) for c in customers]
    log.append(events)
    assert log.partitions == 4
    log.close()
    worker = _start_worker(tmp_path, "--processes", "2")
    try:
        store = open_state_store(f"sqlite:///{tmp_path / 'twin-state.db'}")
        deadline = time.monotonic() + 60
        while sum(store.positions("twin").values()) < len(events):
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.2)
        assert len(_children(worker.pid)) == 2
        for c in customers:
            twin = store.customer(c)
            assert twin is not None and twin.accounts[0].balance == 98
        store.close()
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0
    said = " ".join(out.split())  # the console wraps long lines
    assert (
        "consuming (twin, kpis, fraud, risk) with 2 processes, partitions [[0, 2], [1, 3]]" in said
    )


def _started_processes(worker: subprocess.Popen[str], count: int = 2) -> list[int]:
    """The pids of the ``count`` processes ``worker`` starts, once it has started them."""
    deadline = time.monotonic() + 30
    while len(_children(worker.pid)) < count:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.2)
    return _children(worker.pid)


def test_a_worker_s_processes_stop_when_it_is_killed(tmp_path: Path) -> None:
    worker = _start_worker(tmp_path, "--processes", "2")
    try:
        children = _started_processes(worker)
        worker.kill()  # SIGKILL: it cannot stop them itself
        worker.wait(10)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() and not _is_zombie(pid) for pid in children):
            assert time.monotonic() < deadline, "orphaned worker processes kept running"
            time.sleep(0.2)
    finally:
        if worker.poll() is None:
            worker.kill()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone meanwhile


def test_a_worker_stops_when_one_of_its_processes_dies(tmp_path: Path) -> None:
    worker = _start_worker(tmp_path, "--processes", "2")
    try:
        os.kill(_started_processes(worker)[0], 9)
        out, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 1 and "a worker process ended (exit code -9)" in out
