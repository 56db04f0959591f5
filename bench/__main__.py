"""Run the benchmarks, print one JSON document, keep it in ``bench/results/``.

python -m bench [--events 300000] [--replay-events 1000000] [--only ingest,http,replay]
"""

from __future__ import annotations

import argparse
import json
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
from bench import http_read, ingest, replay
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
    parser.add_argument("--only", default="ingest,http,replay")
    args = parser.parse_args()
    only = set(args.only.split(","))
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "benchmarks": [],
    }
    if "ingest" in only:
        console.print(f"ingest: generating {args.events:,} events…")
        results["benchmarks"].append(ingest.run(simulated_events(args.events)))
    if "http" in only:
        console.print("http: building a 2,000-customer twin and serving it…")
        results["benchmarks"].append(_http(120_000))
    if "replay" in only:
        console.print(f"replay: generating {args.replay_events:,} events…")
        results["benchmarks"].append(replay.run(simulated_events(args.replay_events)))
    text = json.dumps(results, indent=2)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
