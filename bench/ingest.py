"""(1) Events/s appended and applied through the log and the projector, on SQLite.

The events are appended in batches by this process while ``banktwin worker`` (other
processes, as in production: by default one per core, splitting the log's partitions)
projects them; the clock stops when the worker's committed
positions reach the end of the log. The baseline is plain batched inserts of the same rows
into a bare SQLite table with the same durability settings, in the same run. Both are run
twice, interleaved, and the better round of each is kept; every round is reported.

The simulator's event ids are UUIDv7 (time-ordered), as banktwin mints them; the run also
appends the same events under random v4 ids, which clients may send, to show what their
scattered index inserts cost.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from banktwin.adapters import open_event_log, open_kv_store, open_state_store
from banktwin.config import load_settings
from banktwin.domain.events import Event
from banktwin.log.codec import encode_payload, utc_text
from banktwin.log.sqlite import DEFAULT_PARTITIONS, SqliteEventLog
from banktwin.projector.projector import TWIN_CONSUMER, Projector
from banktwin.sqlite_connection import connect_sqlite
from banktwin.store.port import StateStore
from banktwin.worker_processes import default_processes

BATCH = 5000
TARGET_EVENTS_PER_S = 50_000
ROUNDS = 2


def plain_inserts(events: list[Event], path: Path) -> float:
    """Seconds to insert the same rows in batches into a table with no indexes."""
    rows = [
        (
            e.event_id,
            e.subject_id,
            e.type,
            e.version,
            utc_text(e.occurred_at),
            e.source,
            encode_payload(e.payload),
        )
        for e in events
    ]
    conn = connect_sqlite(path)
    conn.execute(
        "CREATE TABLE plain (event_id TEXT, subject_id TEXT, type TEXT, version INTEGER, "
        "occurred_at TEXT, source TEXT, payload BLOB)"
    )
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?)", rows[i : i + BATCH])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def _applied(store: StateStore) -> int:
    return sum(store.positions(TWIN_CONSUMER).values())


def _tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its descendants (Linux
    ``/proc``; ``None`` elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += parents.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in parents.items() if parent == current)
    return total


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PipelinedRun(NamedTuple):
    append_s: float
    total_s: float
    appender_cpu_s: float
    worker_cpu_s: float | None


def pipelined(events: list[Event], data_dir: Path, consumers: str = "twin") -> PipelinedRun:
    """Append here while ``banktwin worker`` (its default processes) projects; seconds until
    everything is applied, and the CPU seconds each side used meanwhile (where
    measurable): on a machine with fewer cores than busy processes, the sum is what bounds
    the rate. ``consumers``: what the worker runs (the twin alone is the figure the target is
    set for; with ``twin,kpis`` the clock stops when both have applied everything)."""
    settings = load_settings(data_dir=data_dir)
    log = open_event_log(settings.event_log_url)
    store = open_state_store(settings.state_store_url)
    env = {**os.environ, "BANKTWIN_DATA_DIR": str(data_dir), "BANKTWIN_CONSUMERS": consumers}
    kv = open_kv_store(settings.state_store_url)
    names = consumers.split(",")

    def applied() -> int:
        return min(
            _applied(store) if name == TWIN_CONSUMER else sum(kv.positions(name).values())
            for name in names
        )

    worker = subprocess.Popen(
        [sys.executable, "-m", "banktwin", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3.0)  # the worker's start-up is not what is measured
        worker_cpu_before = _tree_cpu_s(worker.pid)
        own_cpu_before = _own_cpu_s()
        start = time.perf_counter()
        for i in range(0, len(events), BATCH):
            log.append(events[i : i + BATCH])
        appended = time.perf_counter() - start
        appender_cpu = _own_cpu_s() - own_cpu_before
        while applied() < len(events):
            if worker.poll() is not None:
                raise RuntimeError("the worker died")
            time.sleep(0.05)
        total = time.perf_counter() - start
        worker_cpu_after = _tree_cpu_s(worker.pid)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
        store.close()
        kv.close()
    worker_cpu = (
        None
        if worker_cpu_before is None or worker_cpu_after is None
        else worker_cpu_after - worker_cpu_before
    )
    return PipelinedRun(appended, total, appender_cpu, worker_cpu)


def sequential(events: list[Event], data_dir: Path) -> dict[str, float]:
    """For insight: append everything, then project everything, in one process."""
    settings = load_settings(data_dir=data_dir)
    log = open_event_log(settings.event_log_url)
    store = open_state_store(settings.state_store_url)
    start = time.perf_counter()
    for i in range(0, len(events), BATCH):
        log.append(events[i : i + BATCH])
    appended = time.perf_counter() - start
    Projector(log, store, batch_size=50_000).run_until_caught_up()
    projected = time.perf_counter() - start - appended
    log.close()
    store.close()
    return {"append_s": appended, "project_s": projected}


def append_only(events: list[Event], path: Path) -> float:
    """Seconds to append ``events`` to a fresh log, in batches."""
    log = SqliteEventLog(path)
    start = time.perf_counter()
    for i in range(0, len(events), BATCH):
        log.append(events[i : i + BATCH])
    seconds = time.perf_counter() - start
    log.close()
    return seconds


def with_random_ids(events: list[Event]) -> list[Event]:
    """The same events under random (v4) ids, as a client that sends its own might."""
    return [replace(e, event_id=str(uuid.uuid4())) for e in events]


def run(events: list[Event]) -> dict[str, Any]:
    n = len(events)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Interleaved rounds, the best of each side kept (as the HTTP benchmark does): a
        # noisy neighbour on a 2-core machine moves one run by ±15 %.
        baseline_rounds, pipe_rounds = [], []
        for round_ in range(ROUNDS):
            baseline_rounds.append(plain_inserts(events, root / f"plain-{round_}.db"))
            (root / f"pipe-{round_}").mkdir()
            pipe_rounds.append(pipelined(events, root / f"pipe-{round_}"))
        baseline_s = min(baseline_rounds)
        pipe = min(pipe_rounds, key=lambda r: r.total_s)
        (root / "both").mkdir()
        both = pipelined(events, root / "both", consumers="twin,kpis")
        (root / "seq").mkdir()
        seq = sequential(events, root / "seq")
        random_ids_s = append_only(with_random_ids(events), root / "random_ids.db")
    ours = n / pipe.total_s
    baseline = n / baseline_s
    return {
        "benchmark": "ingest_log_and_projector_sqlite",
        "events": n,
        "events_per_s": round(ours),
        "baseline_plain_inserts_per_s": round(baseline),
        "ratio_to_baseline": round(ours / baseline, 3),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "meets_target": ours >= TARGET_EVENTS_PER_S,
        "append_only_events_per_s": round(n / pipe.append_s),
        "twin_and_kpis_events_per_s": round(n / both.total_s),
        "twin_and_kpis_cpu_us_per_event": {
            "appender": _per_event_us(both.appender_cpu_s, n),
            "worker": _per_event_us(both.worker_cpu_s, n),
        },
        "sequential_append_events_per_s": round(n / seq["append_s"]),
        "sequential_project_events_per_s": round(n / seq["project_s"]),
        "append_only_random_v4_ids_events_per_s": round(n / random_ids_s),
        "worker_processes": default_processes(DEFAULT_PARTITIONS),
        "cpu_us_per_event": {
            "appender": _per_event_us(pipe.appender_cpu_s, n),
            "worker": _per_event_us(pipe.worker_cpu_s, n),
        },
        "all_rounds": [
            {
                "baseline_plain_inserts_per_s": round(n / b),
                "events_per_s": round(n / r.total_s),
                "cpu_us_per_event": {
                    "appender": _per_event_us(r.appender_cpu_s, n),
                    "worker": _per_event_us(r.worker_cpu_s, n),
                },
            }
            for b, r in zip(baseline_rounds, pipe_rounds, strict=True)
        ],
    }


def _per_event_us(seconds: float | None, events: int) -> float | None:
    return None if seconds is None else round(seconds / events * 1e6, 1)
