"""Run the benchmarks, print one JSON document, keep it in ``bench/results/``.

python -m bench [--events 300000] [--replay-events 1000000]
                [--only ingest,http,replay,http_ingest,freshness,size_sweep,fraud,risk]
                [--sizes 2000,20000,100000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from banktwin.adapters import open_event_log, open_state_store
from banktwin.config import load_settings
from banktwin.projector.projector import Projector
from bench import (
    fraud_scoring,
    freshness,
    http_ingest,
    http_read,
    ingest,
    replay,
    risk_scoring,
    size_sweep,
)
from bench.workload import simulated_events

RESULTS = Path(__file__).parent / "results"


def _http(events_for_twin: int) -> dict[str, Any]:
    events = simulated_events(events_for_twin)
    customer_ids = sorted({e.subject_id for e in events if e.type == "customer.registered"})
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))  # the layout the served app opens
        log = open_event_log(settings.event_log_url)
        store = open_state_store(settings.state_store_url)
        for i in range(0, len(events), 20_000):
            log.append(events[i : i + 20_000])
        Projector(log, store).run_until_caught_up()
        log.close()
        store.close()
        cached = http_read.run(Path(tmp), customer_ids[:500])
        cached["without_view_cache"] = http_read.run(
            Path(tmp), customer_ids[:500], view_cache=False
        )
        return cached


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=300_000, help="events for the ingest run")
    parser.add_argument("--replay-events", type=int, default=1_000_000)
    parser.add_argument(
        "--only", default="ingest,http,replay,http_ingest,freshness,size_sweep,fraud,risk"
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, size_sweep.SIZES)),
        help="customers per bank in the size sweep",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "benchmarks": [],
    }
    internal_ingest: float | None = None
    if "ingest" in only:
        console.print(f"ingest: generating {args.events:,} events…")
        results["benchmarks"].append(ingest.run(simulated_events(args.events)))
        internal_ingest = results["benchmarks"][-1]["events_per_s"]
    if "http" in only:
        console.print("http: building a 2,000-customer twin and serving it…")
        results["benchmarks"].append(_http(120_000))
    if "replay" in only:
        console.print(f"replay: generating {args.replay_events:,} events…")
        results["benchmarks"].append(replay.run(simulated_events(args.replay_events)))
    if "http_ingest" in only:
        console.print(f"http_ingest: generating {args.events:,} transactions and events…")
        results["benchmarks"].append(
            http_ingest.run(
                http_ingest.transaction_events(args.events),
                simulated_events(args.events),
                internal_mix_events_per_s=internal_ingest,
            )
        )
    if "freshness" in only:
        console.print("freshness: serving, streaming and probing…")
        results["benchmarks"].append(freshness.run())
    if "size_sweep" in only:
        console.print("size_sweep: simulating and projecting banks of each size…")
        sizes = tuple(int(s) for s in args.sizes.split(","))
        results["benchmarks"].append(size_sweep.run(sizes))
    if "fraud" in only:
        console.print("fraud: training on a simulated bank, scoring its history and a live stream…")
        results["benchmarks"].append(fraud_scoring.run(simulated_events(args.events)))
    if "risk" in only:
        console.print("risk: training on a simulated bank, scoring customers and its history…")
        results["benchmarks"].append(risk_scoring.run())
    text = json.dumps(results, indent=2)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)


def _machine() -> dict[str, Any]:
    """What the figures were measured on: these VMs differ by up to 40 % from one session to
    the next (compare ``python_mloops_per_s`` before comparing figures across runs)."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "python_mloops_per_s": _python_speed(),
    }


def _cpu_model() -> str:
    """The model name Linux reports, else what ``platform`` knows (no ``/proc`` elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _python_speed(loops: int = 2_000_000) -> float:
    """Millions of iterations per second of a fixed interpreter-bound loop (dict and tuple
    work, as the projector does), best of three: the machine's speed at the time of the run."""
    best = float("inf")
    for _ in range(3):
        seen: dict[int, tuple[int, int]] = {}
        start = time.perf_counter()
        for i in range(loops):
            seen[i & 1023] = (i, i >> 3)
        best = min(best, time.perf_counter() - start)
    return round(loops / best / 1e6, 2)


if __name__ == "__main__":
    main()
