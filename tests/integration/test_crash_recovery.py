"""kill -9 the API during a stream of appends and the worker during projection: every event
answered 202 is in the log exactly once and applied exactly once after restart, by each of
the two consumers the worker runs (the twin and the KPIs)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from banktwin.adapters import open_kv_store, open_state_store
from banktwin.kpis.reader import KpiReader
from banktwin.log.sqlite import DEFAULT_PARTITIONS as PARTITIONS

pytestmark = pytest.mark.slow

SECRET = "crash-test-signing-key-0123456789abcdef"
CLIENT = ("loader", "loader-secret-123")
CUSTOMERS = [str(uuid.uuid4()) for _ in range(8)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def banktwin(data_dir: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``banktwin *args`` on ``data_dir``, its output appended to ``<command>.log`` there
    (shown when the test fails: see :func:`process_logs`)."""
    env = {
        **os.environ,
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": f"{CLIENT[0]}:{CLIENT[1]}:digitaltwin.read+digitaltwin.write",
    }
    with (data_dir / f"{args[0]}.log").open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "banktwin", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                kill_9(process.pid)
            process.wait(10)


def start_serve(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``banktwin serve`` on a free port with ``env``, its output in ``serve.log`` of
    ``data_dir``; the process and its base URL (not yet ready: see :func:`wait_ready`)."""
    port = free_port()
    with (data_dir / "serve.log").open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "banktwin", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return server, f"http://127.0.0.1:{port}"


def process_logs(data_dir: Path) -> str:
    """The end of what each banktwin process printed, for a failure message."""
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
        for log in sorted(data_dir.glob("*.log"))
    )


def kill_9(pid: int) -> None:
    """SIGKILL a banktwin process and the processes it started (a worker projects in child
    processes, one per core): what a crash of the machine's workload looks like."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        os.kill(int(child), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def wait_ready(base: str, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{base} did not start")


def token(base: str) -> str:
    r = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    return str(r.json()["access_token"])


def open_accounts(base: str, headers: dict[str, str]) -> None:
    for cid in CUSTOMERS:
        r = httpx.post(
            f"{base}/v1/customers/{cid}/events",
            headers=headers,
            json={
                "type": "account.opened",
                "payload": {
                    "accountId": f"ACC-{cid[:8]}",
                    "type": "checking",
                    "currency": "EUR",
                    "balance": "1000.00",
                },
            },
        )
        assert r.status_code == 202


def stream_transactions(
    base: str, headers: dict[str, str], acked: list[str], stop: threading.Event
) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        n = 0
        while not stop.is_set():
            cid = CUSTOMERS[n % len(CUSTOMERS)]
            event_id = str(uuid.uuid4())
            body = {
                "eventId": event_id,
                "type": "transaction.posted",
                "payload": {
                    "transactionId": f"TX-{event_id}",
                    "accountId": f"ACC-{cid[:8]}",
                    "amount": "1.00",
                    "currency": "EUR",
                    "channel": "ecommerce",
                },
            }
            try:
                r = client.post(f"/v1/customers/{cid}/events", json=body)
            except httpx.HTTPError:
                return  # the server is gone: this event was never acknowledged
            if r.status_code == 202:
                acked.append(event_id)
            n += 1


def consumers_lag(base: str) -> int:
    """Events the slowest consumer has not applied (by ``/readyz``)."""
    consumers = httpx.get(f"{base}/readyz").json()["consumers"]
    assert {c["name"] for c in consumers} == {"twin", "kpis", "fraud", "risk"}
    return max(int(c["lag"]) for c in consumers)


def test_kill_9_loses_no_acknowledged_event_and_applies_each_once(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    serve_args = ("serve", "--port", str(port), "--no-consumers")
    with banktwin(tmp_path, *serve_args) as server, banktwin(tmp_path, "worker") as worker:
        wait_ready(base)
        headers = {"Authorization": f"Bearer {token(base)}"}
        open_accounts(base, headers)
        stop = threading.Event()
        writers = [
            threading.Thread(target=stream_transactions, args=(base, headers, acked, stop))
            for _ in range(4)
        ]
        for w in writers:
            w.start()
        while len(acked) < 300:
            time.sleep(0.02)
        kill_9(worker.pid)  # mid-projection
        while len(acked) < 600:
            time.sleep(0.02)
        kill_9(server.pid)  # mid-append
        stop.set()
        for w in writers:
            w.join(10)
    assert len(acked) >= 600

    with banktwin(tmp_path, *serve_args), banktwin(tmp_path, "worker"):
        wait_ready(base)
        deadline = time.monotonic() + 60
        while (lag := consumers_lag(base)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lag == 0, f"the restarted worker did not catch up:\n{process_logs(tmp_path)}"

    db = sqlite3.connect(tmp_path / "twin.db")
    logged = {
        str(uuid.UUID(bytes=event_id)): count
        for event_id, count in db.execute(
            "SELECT event_id, COUNT(*) FROM event_log WHERE type = 'transaction.posted' "
            "GROUP BY event_id"
        ).fetchall()
    }
    missing = [e for e in acked if e not in logged]
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert set(logged.values()) == {1}
    per_customer = dict(
        db.execute(
            "SELECT subject_id, COUNT(*) FROM event_log WHERE type = 'transaction.posted' "
            "GROUP BY subject_id"
        ).fetchall()
    )
    logged_events = db.execute("SELECT COUNT(*) FROM event_log").fetchone()[0]
    times: dict[str, list[datetime]] = {}
    for subject_id, occurred_at in db.execute(
        "SELECT subject_id, occurred_at FROM event_log WHERE type = 'transaction.posted'"
    ):
        times.setdefault(subject_id, []).append(datetime.fromisoformat(occurred_at))
    alerts = dict(
        db.execute(
            "SELECT subject_id, COUNT(DISTINCT event_id) FROM event_log "
            "WHERE type = 'fraud.alert_raised' GROUP BY subject_id"
        ).fetchall()
    )
    db.close()
    # The third consumer: every transaction scored once, none skipped. Each is a 1.00 online
    # debit, so the card-testing rule alerts on any with three or more in the hour before it.
    for cid in CUSTOMERS:
        posted = sorted(times.get(cid, []))
        expected = sum(
            1 for t in posted if sum(1 for u in posted if t - timedelta(hours=1) <= u < t) >= 3
        )
        assert alerts.get(cid, 0) == expected
    kv = open_kv_store(f"sqlite:///{tmp_path / 'twin-state.db'}")
    report = KpiReader(kv, PARTITIONS).report(datetime.now(UTC))
    kv.close()
    assert report.events == logged_events  # the second consumer: each event counted once
    assert report.transactions == sum(per_customer.values())
    store = open_state_store(f"sqlite:///{tmp_path / 'twin-state.db'}")
    try:
        for cid in CUSTOMERS:
            twin = store.customer(cid)
            assert twin is not None
            posted = per_customer.get(cid, 0)
            assert twin.transaction_count == posted  # applied once each, none skipped
            assert twin.accounts[0].balance == Decimal("1000.00") - posted
            assert store.transactions(cid, 1, 0).total == posted
    finally:
        store.close()
