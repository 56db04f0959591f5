"""(2) ``GET /v1/customers/{id}``: requests/s and p50/p99 latency, as a ratio to a trivial
endpoint (constant 315-byte JSON, no auth, no I/O) served by the same process in the same run.

The server is uvicorn with one worker; the load generator (``bench/load.py``) runs in this
process on raw keep-alive sockets. Both endpoints are measured twice, interleaved, and the
better round of each is kept, to damp the noise of a shared 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.load import generate_load
from bench.server_process import free_port, wait_ready

SECRET = "bench-signing-key-0123456789abcdef0123"
CLIENT = ("bench", "bench-secret-0123")
TARGET_RATIO = 0.6


def _serve(data_dir: Path, port: int, view_cache: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BANKTWIN_VIEW_CACHE_SIZE": "10000" if view_cache else "0",
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": f"{CLIENT[0]}:{CLIENT[1]}:digitaltwin.read",
        "BANKTWIN_RUN_CONSUMERS": "false",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.served_app:create_bench_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(
    data_dir: Path, customer_ids: list[str], *, view_cache: bool = True, seconds: float = 6.0
) -> dict[str, Any]:
    """Serve ``data_dir`` and load it; with ``view_cache`` off every read renders anew."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(data_dir, port, view_cache)
    try:
        wait_ready(base)
        token = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        ).json()["access_token"]
        profiles = [f"/v1/customers/{c}" for c in customer_ids]
        check = httpx.get(f"{base}{profiles[0]}", headers={"Authorization": f"Bearer {token}"})
        check.raise_for_status()
        rounds: dict[str, list[dict[str, float]]] = {"trivial": [], "profile": []}
        for _ in range(2):
            rounds["trivial"].append(
                generate_load("127.0.0.1", port, ["/bench/trivial"], seconds=seconds).summary()
            )
            rounds["profile"].append(
                generate_load("127.0.0.1", port, profiles, token=token, seconds=seconds).summary()
            )
    finally:
        server.terminate()
        server.wait(30)
    trivial = max(rounds["trivial"], key=lambda r: r["requests_per_s"])
    profile = max(rounds["profile"], key=lambda r: r["requests_per_s"])
    ratio = profile["requests_per_s"] / trivial["requests_per_s"]
    return {
        "benchmark": "http_get_customer_profile",
        "view_cache": view_cache,
        "profile": profile,
        "trivial_endpoint": trivial,
        "ratio_to_trivial": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "profile_bytes": len(check.content),
        "all_rounds": rounds,
    }
