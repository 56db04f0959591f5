"""Where a projector's time goes, per event: reading the log, applying the rules, committing.

``python -m bench.phases [--events 150000] [--batch 15000] [--runs 3]`` appends the simulator's
events to a fresh SQLite log, projects them in one process at the given batch size (the
pipelined benchmark's workers see 10,000 to 20,000), and prints JSON: CPU microseconds per event
for the whole projection (best of ``--runs``, each into a fresh state store) and the wall-clock
split of the best run between its phases. For work on the ingest gap (docs/performance.md);
not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from unittest.mock import patch

from banktwin.domain.twin import apply
from banktwin.log.sqlite import SqliteEventLog
from banktwin.projector import projector as projector_module
from banktwin.projector.projector import Projector
from banktwin.store.sqlite import SqliteStateStore
from bench.workload import simulated_events

F = TypeVar("F", bound=Callable[..., Any])


def _timed(seconds: dict[str, float], phase: str, function: F) -> F:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[phase] += time.perf_counter() - start

    return timed  # type: ignore[return-value]


def _project_once(log: SqliteEventLog, state: Path, batch: int) -> tuple[float, dict[str, float]]:
    """CPU seconds of one projection into a fresh store, and its phases' wall seconds."""
    seconds: dict[str, float] = defaultdict(float)
    store = SqliteStateStore(state)
    read = log.read
    log.read = _timed(seconds, "read_and_decode", read)  # type: ignore[method-assign]
    store.commit = _timed(seconds, "commit", store.commit)  # type: ignore[method-assign]
    try:
        with patch.object(projector_module, "apply", _timed(seconds, "apply", apply)):
            start = time.process_time()
            Projector(log, store, batch_size=batch).run_until_caught_up()
            return time.process_time() - start, dict(seconds)
    finally:
        log.read = read  # type: ignore[method-assign]
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.phases")
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--batch", type=int, default=15_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    events = simulated_events(args.events, customers=args.customers)
    n = len(events)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = SqliteEventLog(root / "log.db")
        for i in range(0, n, 5000):
            log.append(events[i : i + 5000])
        runs = [
            _project_once(log, root / f"state-{run}.db", args.batch) for run in range(args.runs)
        ]
        log.close()
    cpu_s, phases = min(runs, key=lambda run: run[0])
    per_event = {phase: round(s / n * 1e6, 2) for phase, s in sorted(phases.items())}
    print(
        json.dumps(
            {
                "events": n,
                "customers": args.customers,
                "batch": args.batch,
                "cpu_us_per_event": round(cpu_s / n * 1e6, 2),
                "phase_wall_us_per_event": per_event,
                "note": "apply includes about 0.1 us of timing overhead per event",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
