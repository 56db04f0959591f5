"""(5) Freshness: how long after its 202 an event shows in ``GET /v1/customers/{id}``.

``banktwin serve`` on a fresh SQLite data directory takes a steady background stream of
transactions (batches of 50 over ``POST /v1/events``) at a given rate while a prober posts one
login at a time to its own customer and reads the profile until its ``version`` shows the
login; the time from the 202 to that read is the freshness. It is measured with the
consumers in processes of their own (what ``serve`` does by default: the log wakes them,
:meth:`EventLog.watch`) and, in the same run, as threads of the server's process (what
``serve`` did before; ``BANKTWIN_CONSUMER_PROCESSES=0``), which is the baseline.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.server_process import free_port, wait_ready

BACKGROUND_CUSTOMERS = 200
BATCH = 50
PROBES = 200
PROBE_GAP_S = 0.05
SECRET = "bench-signing-key-0123456789abcdef0123"
CLIENT = ("bench", "bench-secret-0123")
RATES = (2000, 8000)


def _transaction(customer: str, n: int) -> dict[str, Any]:
    return {
        "type": "transaction.posted",
        "subjectId": customer,
        "payload": {
            "transactionId": f"T{n}",
            "accountId": "A1",
            "amount": "1.00",
            "currency": "EUR",
            "channel": "card_present",
        },
    }


def _background_bodies(customers: list[str], count: int) -> list[bytes]:
    bodies = []
    for i in range(0, count, BATCH):
        batch = [_transaction(customers[(i + j) % len(customers)], i + j) for j in range(BATCH)]
        bodies.append(orjson.dumps(batch))
    return bodies


def _stream(client: httpx.Client, bodies: list[bytes], rate: float, stop: threading.Event) -> None:
    """Post ``bodies`` paced to ``rate`` events/s until done or stopped."""
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        if stop.is_set():
            return
        due = start + i * BATCH / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        r = client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
        r.raise_for_status()


def _probe(client: httpx.Client, customer: str) -> list[float]:
    """Milliseconds from each login's 202 to the first profile read that shows it."""
    latencies = []
    version = client.get(f"/v1/customers/{customer}").json()["version"]
    for _ in range(PROBES):
        r = client.post(
            f"/v1/customers/{customer}/events",
            json={"type": "customer.login", "payload": {"channel": "web"}},
        )
        r.raise_for_status()
        accepted = time.perf_counter()
        version += 1
        deadline = accepted + 10
        while client.get(f"/v1/customers/{customer}").json()["version"] < version:
            if time.perf_counter() > deadline:
                raise RuntimeError("a login did not show within 10 s")
            time.sleep(0.001)
        latencies.append((time.perf_counter() - accepted) * 1000)
        time.sleep(PROBE_GAP_S)
    return latencies


def _measure(
    data_dir: Path, processes: str, rate: int, settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """One round; ``settings``: more ``BANKTWIN_*`` variables for the server (to try one)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")},
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": f"{CLIENT[0]}:{CLIENT[1]}:digitaltwin.read+digitaltwin.write",
        "BANKTWIN_CONSUMERS": "twin",
    }
    if processes:
        env["BANKTWIN_CONSUMER_PROCESSES"] = processes
    env.update(settings or {})
    server = subprocess.Popen(
        [sys.executable, "-m", "banktwin", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, "/readyz")
        token = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as setup:
            customers = [str(uuid.uuid4()) for _ in range(BACKGROUND_CUSTOMERS + 1)]
            opening = [
                {
                    "type": "account.opened",
                    "subjectId": c,
                    "payload": {"accountId": "A1", "type": "checking", "currency": "EUR"},
                }
                for c in customers
            ]
            setup.post("/v1/events", json=opening).raise_for_status()
            while setup.get(f"/v1/customers/{customers[-1]}").status_code != 200:
                time.sleep(0.05)
        probe_customer, background = customers[-1], customers[:-1]
        seconds = PROBES * (PROBE_GAP_S + 0.01) + 5
        bodies = _background_bodies(background, int(rate * seconds))
        stop = threading.Event()
        with (
            httpx.Client(base_url=base, headers=headers, timeout=30) as streamer,
            httpx.Client(base_url=base, headers=headers, timeout=30) as prober,
        ):
            thread = threading.Thread(target=_stream, args=(streamer, bodies, rate, stop))
            thread.start()
            time.sleep(1.0)  # the stream is flowing
            try:
                latencies = _probe(prober, probe_customer)
            finally:
                stop.set()
                thread.join(60)
    finally:
        server.terminate()
        server.wait(30)
    ordered = sorted(latencies)
    return {
        "consumers_in": "threads of the server" if processes == "0" else "worker processes",
        "background_events_per_s": rate,
        "probes": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * len(ordered))], 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def run() -> dict[str, Any]:
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in RATES:
            for processes in ("0", ""):  # baseline (threads) first, then the default
                data_dir = Path(tmp) / f"{rate}-{processes or 'default'}"
                rounds.append(_measure(data_dir, processes, rate))
    return {"benchmark": "freshness_after_202", "rounds": rounds}


if __name__ == "__main__":
    print(orjson.dumps(run(), option=orjson.OPT_INDENT_2).decode())
