"""The dashboard streams on SQLite and PostgreSQL, fed across processes: a stream opened on the
API pushes what a consumer running in another process (``banktwin worker``, as ``serve``'s
consumer processes) has committed, woken by that commit's announcement, not by polling."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from banktwin.api.app import create_app
from banktwin.api.routers.streams import GRACEFUL_SHUTDOWN_S, REREAD_S
from banktwin.config import Settings
from banktwin.runtime import Runtime
from banktwin.worker_processes import worker_environment
from tests.integration.conftest import CLIENTS
from tests.integration.test_crash_recovery import free_port, wait_ready

WITHIN_S = 20.0
"""Generous for a worker's start on a busy machine, and still short of the streams'
fallback re-read (``REREAD_S``): a push in time came from the announcement."""


@contextlib.contextmanager
def _serving(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """The API on a free port until the block ends (open streams are cut after
    ``GRACEFUL_SHUTDOWN_S``, as ``serve`` does)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, runtime=runtime),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(30)


def _follow(url: str, headers: dict[str, str], pushes: queue.Queue[tuple[str, Any]]) -> None:
    """Read a stream in a thread of its own, each event's name and data into ``pushes``."""
    with (
        contextlib.suppress(httpx.HTTPError),
        httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=60)) as stream,
    ):
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                pushes.put((name, orjson.loads(line.removeprefix("data: "))))


def _token(client: httpx.Client) -> str:
    admin = CLIENTS.split(",")[0].split(":")
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": admin[0], "client_secret": admin[1]},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _next(pushes: queue.Queue[tuple[str, Any]], name: str, deadline: float) -> Any:
    while True:
        got, data = pushes.get(timeout=max(deadline - time.monotonic(), 0.01))
        if got == name:
            return data


@contextlib.contextmanager
def _worker(settings: Settings, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``banktwin worker`` running the twin and the KPIs in a process of its own."""
    env = worker_environment(settings, ["twin", "kpis"])
    with (data_dir / "worker.log").open("ab") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "banktwin", "worker", "--processes", "1"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(30)


def test_the_streams_push_what_a_consumer_in_another_process_commits(
    settings: Settings, tmp_path: Path
) -> None:
    runtime = Runtime(settings)  # its consumers do not run here (run_consumers=False)
    try:
        with _serving(settings, runtime) as base, httpx.Client(base_url=base) as client:
            headers = {"Authorization": f"Bearer {_token(client)}"}
            kpis: queue.Queue[tuple[str, Any]] = queue.Queue()
            branches: queue.Queue[tuple[str, Any]] = queue.Queue()
            for path, pushes in (("/v1/stream/kpis", kpis), ("/v1/stream/branches", branches)):
                threading.Thread(
                    target=_follow, args=(f"{base}{path}", headers, pushes), daemon=True
                ).start()
            first = time.monotonic() + 10
            assert _next(kpis, "kpis", first)["events"] == 0
            assert _next(branches, "branches", first)["total"] == 0

            branch_id = str(uuid.uuid4())
            opened = {
                "type": "branch.opened",
                "occurredAt": datetime.now(UTC).isoformat(),
                "payload": {"name": "Harbour St", "capacity": 20},
            }
            r = client.post(f"/v1/branches/{branch_id}/events", json=opened, headers=headers)
            assert r.status_code == 202, r.text
            time.sleep(1.5)  # logged, not applied: nothing to push (an append wakes no stream)
            assert all(name != "kpis" for name, _ in list(kpis.queue))
            assert branches.empty()

            started = time.monotonic()
            with _worker(settings, tmp_path):
                deadline = started + WITHIN_S
                while (pushed := _next(kpis, "kpis", deadline))["events"] < 1:
                    pass
                while (page := _next(branches, "branches", deadline))["total"] < 1:
                    pass
            assert time.monotonic() - started < REREAD_S
            assert pushed["events"] == 1
            assert page["items"][0]["branchId"] == branch_id and page["lag"] == 0
    finally:
        runtime.close()
