"""(6) Size sweep: the cost per projected event for banks of 2,000, 20,000 and 100,000 customers.

Each bank gets the same few days of simulated history (so every size has the same mix of
events per customer: onboarding, payments, logins, loans), appended to a fresh SQLite log in
batches (the simulator's and the log's speed is reported too). A spawned process then
projects the whole log into the twin as a worker does (one process, the runtime's batch and
commit settings) and reports its CPU time and peak memory. The baseline is the smallest bank,
measured in the same run: the target is a cost per event at 20,000 customers within 1.3x of
it (``ratio_to_smallest``).

``python -m bench.size_sweep [--sizes 2000,20000,100000] [--days 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import Progress

from banktwin.progress import event_progress
from banktwin.sim import SimConfig, Simulation

END = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
SIZES = (2000, 20_000, 100_000)
DAYS = 3
TARGET_RATIO_AT_20K = 1.3


def _branches(customers: int) -> int:
    """Branches for a bank of ``customers`` (the demo's 20 for 2,000; 100 for 20,000)."""
    return max(20, customers // 200)


def _fill_log(data_dir: Path, customers: int, days: int, progress: Progress) -> tuple[int, float]:
    """Simulate the bank's history into a fresh log; the events and the seconds it took."""
    from banktwin.adapters import open_event_log
    from banktwin.config import load_settings

    log = open_event_log(load_settings(data_dir=data_dir).event_log_url)
    config = SimConfig(customers=customers, branches=_branches(customers), history_days=days)
    sim = Simulation(config)
    task = progress.add_task(f"simulating {customers:,} customers", total=None)
    appended, start = 0, time.perf_counter()
    try:
        for batch in sim.backfill(end=END, batch_size=20_000):
            log.append(batch)
            appended += len(batch)
            progress.advance(task, len(batch))
    finally:
        log.close()
    progress.remove_task(task)
    return appended, time.perf_counter() - start


def _project(data_dir: str) -> dict[str, float]:
    """In a process of its own: project the log into the twin; CPU, wall and peak memory."""
    from banktwin.config import load_settings
    from banktwin.runtime import Runtime

    runtime = Runtime(load_settings(data_dir=Path(data_dir), consumers="twin"))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        applied = runtime.catch_up()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        runtime.close()
    return {"events": applied, "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program. Not ``ru_maxrss``:
    that one keeps the peak from before ``exec`` (a spawned process starts as a copy of the
    benchmark's, workloads and all); ``VmHWM`` belongs to the new program's memory."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(sizes: tuple[int, ...] = SIZES, days: int = DAYS) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")  # a clean process: its peak is its own
    rows: list[dict[str, Any]] = []
    with event_progress() as progress:
        for customers in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                events, backfill_s = _fill_log(Path(tmp), customers, days, progress)
                task = progress.add_task(f"projecting {customers:,} customers", total=None)
                with context.Pool(1) as pool:
                    measured = pool.apply(_project, (tmp,))
                progress.remove_task(task)
            rows.append(
                {
                    "customers": customers,
                    "branches": _branches(customers),
                    "events": events,
                    "events_per_s": round(measured["events"] / measured["wall_s"]),
                    "cpu_us_per_event": round(measured["cpu_s"] / measured["events"] * 1e6, 2),
                    "peak_rss_mb": round(measured["peak_rss_mb"]),
                    "backfill_events_per_s": round(events / backfill_s),
                }
            )
    smallest = rows[0]["cpu_us_per_event"]
    for row in rows:
        row["ratio_to_smallest"] = round(row["cpu_us_per_event"] / smallest, 3)
    at_20k = next((r for r in rows if r["customers"] == 20_000), None)
    return {
        "benchmark": "size_sweep",
        "days_of_history": days,
        "sizes": rows,
        "baseline": f"cost per event at {rows[0]['customers']:,} customers, same run",
        "target_ratio_at_20k": TARGET_RATIO_AT_20K,
        "meets_target": None
        if at_20k is None
        else at_20k["ratio_to_smallest"] <= TARGET_RATIO_AT_20K,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.size_sweep")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    print(json.dumps(run(sizes, args.days), indent=2))


if __name__ == "__main__":
    main()
