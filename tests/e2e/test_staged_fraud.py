"""The staged fraud engine in real processes: ``banktwin worker --processes 2`` runs both stages
in each, over disjoint partitions of a SQLite log, sharing one state store; killed with
SIGKILL mid-way and started again, it counts every transaction once at each of its entities and
raises the simulator's fraud alerts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from banktwin.adapters import open_event_log, open_kv_store
from banktwin.domain.events import Event
from banktwin.fraud.customer_stage import FRAUD_CUSTOMER_STAGE
from banktwin.fraud.entity_hops import entities_of
from banktwin.fraud.entity_stage import FRAUD_ENTITY_STAGE
from banktwin.fraud.windows import to_micros
from banktwin.sim import SimConfig, Simulation
from tests.e2e.test_cli import clean_env

END = datetime(2026, 3, 2, tzinfo=UTC)
STAGES = f"{FRAUD_CUSTOMER_STAGE},{FRAUD_ENTITY_STAGE}"
STAGED_ARGS = ("--processes", "2", "--consumers", STAGES)


def _worker(data_dir: Path) -> subprocess.Popen[bytes]:
    args = ["--data-dir", str(data_dir), *STAGED_ARGS]
    return subprocess.Popen(
        [sys.executable, "-m", "banktwin", "worker", *args],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a SIGKILL of the group takes its processes with it
    )


def _caught_up(data_dir: Path) -> bool:
    """Both stages are at the log's end (which stops growing once the hops are all sent)."""
    log = open_event_log(f"sqlite:///{data_dir / 'twin.db'}")
    kv = open_kv_store(f"sqlite:///{data_dir / 'twin-state.db'}")
    try:
        ends = {p: o for p, o in log.end_offsets().items() if o}
        return all(
            kv.positions(stage) == ends for stage in (FRAUD_CUSTOMER_STAGE, FRAUD_ENTITY_STAGE)
        )
    finally:
        log.close()
        kv.close()


def _expected_hops(events: list[Event]) -> int:
    routes = {
        (
            e.payload.transaction_id,  # type: ignore[attr-defined]
            (
                to_micros(e.occurred_at),
                e.payload.terminal_id,  # type: ignore[attr-defined]
                e.payload.merchant,  # type: ignore[attr-defined]
                e.payload.merchant_category,  # type: ignore[attr-defined]
            ),
            e.subject_id,
        )
        for e in events
        if e.type == "transaction.posted"
    }
    return sum(len(entities_of(route)) for _, route, _ in routes)


def test_two_worker_processes_run_the_stages_and_survive_a_kill(tmp_path: Path) -> None:
    sim = Simulation(SimConfig(customers=150, seed=11, history_days=21))
    events = [e for batch in sim.backfill(end=END, batch_size=20_000) for e in batch]
    log = open_event_log(f"sqlite:///{tmp_path / 'twin.db'}")
    assert log.partitions == 4
    log.append(events[: len(events) // 2])
    log.close()
    worker = _worker(tmp_path)
    time.sleep(4)  # started, and some way through
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    log = open_event_log(f"sqlite:///{tmp_path / 'twin.db'}")
    log.append(events[len(events) // 2 :])
    log.close()
    worker = _worker(tmp_path)
    try:
        deadline = time.monotonic() + 240
        while not _caught_up(tmp_path):
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    log = open_event_log(f"sqlite:///{tmp_path / 'twin.db'}")
    try:
        written = [e.event for p in range(log.partitions) for e in log.read(p, 0, 10**7)]
    finally:
        log.close()
    hops = [e for e in written if e.type == "fraud.entity_hop"]
    assert len(hops) == _expected_hops(events)
    debits = {e.payload.transaction_id for e in events if e.type == "transaction.posted"}  # type: ignore[attr-defined]
    alerts = [e for e in written if e.type == "fraud.alert_raised"]
    assert alerts and {a.payload.transaction_id for a in alerts} <= debits  # type: ignore[attr-defined]
    assert sum(e.type == "fraud.entity_label" for e in written) > 0


def test_a_replay_over_two_processes_leaves_neither_stage_behind(tmp_path: Path) -> None:
    """A process's customer stage may send hops to a partition whose process has finished:
    the replay applies them before it says it is done."""
    sim = Simulation(SimConfig(customers=40, seed=3, history_days=10))
    events = [e for batch in sim.backfill(end=END, batch_size=20_000) for e in batch]
    log = open_event_log(f"sqlite:///{tmp_path / 'twin.db'}")
    log.append(events)
    log.close()
    replayed = subprocess.run(
        [sys.executable, "-m", "banktwin", "replay", "--data-dir", str(tmp_path), *STAGED_ARGS],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert _caught_up(tmp_path)
