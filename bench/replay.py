"""(3) Replay: rebuild the twin from a log of 1 M events (target: under 60 s).

As ``banktwin replay --consumers twin`` does: the log's partitions (4 on a new SQLite log)
split between one process per core. The same replay in one process is measured too, and the
replay of every consumer (twin and KPIs, as a plain ``banktwin replay``). The baseline is
reading the same rows back in log order (no decoding, no applying), in the same run.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from banktwin.adapters import open_event_log, open_state_store
from banktwin.config import load_settings
from banktwin.domain.events import Event
from banktwin.projector.replay import rebuild_consumers, rebuild_projections
from banktwin.runtime import Runtime
from banktwin.worker_processes import default_processes

TARGET_SECONDS = 60.0


def _plain_read(db: Path) -> float:
    conn = sqlite3.connect(db)
    start = time.perf_counter()
    rows = sum(1 for _ in conn.execute("SELECT * FROM event_log ORDER BY partition_id, log_offset"))
    seconds = time.perf_counter() - start
    conn.close()
    assert rows, "the log is empty"
    return seconds


def run(events: list[Event]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))  # the default layout: log, state beside
        log = open_event_log(settings.event_log_url)
        store = open_state_store(settings.state_store_url)
        for i in range(0, len(events), 20_000):
            log.append(events[i : i + 20_000])
        processes = default_processes(log.partitions)
        twin_only = Runtime(load_settings(data_dir=Path(tmp), consumers="twin"))
        start = time.perf_counter()
        applied = rebuild_consumers(twin_only, processes=processes)
        seconds = time.perf_counter() - start
        twin_only.close()
        start = time.perf_counter()
        rebuild_projections(log, store)
        one_process_s = time.perf_counter() - start
        every_consumer = Runtime(load_settings(data_dir=Path(tmp), consumers="twin,kpis"))
        start = time.perf_counter()
        rebuild_consumers(every_consumer, processes=processes)
        all_consumers_s = time.perf_counter() - start
        every_consumer.close()
        log.close()
        store.close()
        read_s = _plain_read(Path(tmp) / "twin.db")
    return {
        "benchmark": "replay",
        "events": applied,
        "processes": processes,
        "seconds": round(seconds, 2),
        "events_per_s": round(applied / seconds),
        "target_seconds_for_1m": TARGET_SECONDS,
        "meets_target": seconds * 1_000_000 / max(applied, 1) < TARGET_SECONDS,
        "baseline_plain_read_s": round(read_s, 2),
        "ratio_to_plain_read": round(read_s / seconds, 3),
        "one_process_seconds": round(one_process_s, 2),
        "twin_and_kpis_seconds": round(all_consumers_s, 2),
    }
