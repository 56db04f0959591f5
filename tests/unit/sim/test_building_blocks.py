"""The simulator's building blocks: configuration, time, ids, scheduling, loan timing."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from banktwin.domain.loan import STAGE_SLA_HOURS
from banktwin.domain.payloads.loan import LoanStage
from banktwin.sim import SimConfig
from banktwin.sim.geography import CITIES, utc_offset_seconds
from banktwin.sim.identifiers import Uuid7Counter
from banktwin.sim.loan_pipeline import PIPELINE, stage_hours
from banktwin.sim.scheduler import Scheduler
from banktwin.sim.timeline import local_instant, to_datetime, to_micros

CITY = {c.name: c for c in CITIES}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"customers": 0}, "customers"),
        ({"branches": -1}, "branches"),
        ({"history_days": -1}, "history_days"),
        ({"fraud_rate": 0.5}, "fraud_rate"),
        ({"seed": 1.5}, "seed"),
        ({"customers": True}, "customers"),
    ],
)
def test_config_refuses_out_of_range_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**options)  # type: ignore[arg-type]


def test_config_defaults() -> None:
    config = SimConfig()
    assert (config.customers, config.branches, config.seed, config.history_days) == (
        2000,
        20,
        42,
        30,
    )


@pytest.mark.parametrize(
    ("city", "moment", "hours"),
    [
        ("Berlin", datetime(2025, 1, 15, tzinfo=UTC), 1),
        ("Berlin", datetime(2025, 7, 15, tzinfo=UTC), 2),
        ("Berlin", datetime(2025, 3, 30, 0, 59, tzinfo=UTC), 1),
        ("Berlin", datetime(2025, 3, 30, 1, 0, tzinfo=UTC), 2),
        ("London", datetime(2025, 10, 26, 0, 59, tzinfo=UTC), 1),
        ("London", datetime(2025, 10, 26, 1, 0, tzinfo=UTC), 0),
        ("New York", datetime(2025, 3, 9, 6, 59, tzinfo=UTC), -5),
        ("New York", datetime(2025, 3, 9, 7, 0, tzinfo=UTC), -4),
        ("Chicago", datetime(2025, 11, 2, 6, 59, tzinfo=UTC), -5),
        ("Chicago", datetime(2025, 11, 2, 7, 0, tzinfo=UTC), -6),
        ("Dubai", datetime(2025, 7, 1, tzinfo=UTC), 4),
    ],
)
def test_local_time_follows_daylight_saving(city: str, moment: datetime, hours: int) -> None:
    assert utc_offset_seconds(CITY[city], moment.timestamp()) == hours * 3600


def test_local_wall_clock_instants() -> None:
    nine_in_berlin = local_instant(CITY["Berlin"], date(2025, 7, 1), 9 * 60)
    assert to_datetime(nine_in_berlin) == datetime(2025, 7, 1, 7, 0, tzinfo=UTC)
    assert to_micros(to_datetime(123_456_789)) == 123_456_789


def test_event_ids_are_reproducible_uuid7s_of_the_event_time() -> None:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "banktwin")
    at_ms = 1_757_944_800_123  # 2025-09-15T14:00:00.123Z
    counter, again = Uuid7Counter(namespace), Uuid7Counter(namespace)
    ids = [counter.next(at_ms + n // 3) for n in range(60)]
    assert ids == [again.next(at_ms + n // 3) for n in range(60)]
    assert len(set(ids)) == 60
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {7} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert [u.int >> 80 for u in parsed] == [at_ms + n // 3 for n in range(60)]
    assert [str(u) for u in parsed] == ids  # canonical text


def test_scheduler_runs_in_time_then_schedule_order_and_refuses_the_past() -> None:
    ran: list[str] = []
    scheduler = Scheduler(now=0)
    scheduler.at(20, lambda at, name: ran.append(name), "late")
    scheduler.at(10, lambda at, name: ran.append(name), "first")
    scheduler.at(10, lambda at, name: ran.append(name), "second")
    assert scheduler.run_until(15) == 2
    assert ran == ["first", "second"] and scheduler.now == 15
    with pytest.raises(ValueError, match="before the current instant"):
        scheduler.at(5, lambda at: None)


@pytest.mark.parametrize("stage", [LoanStage.SUBMITTED, *PIPELINE, LoanStage.DECIDED])
def test_some_loan_stages_run_past_their_sla(stage: LoanStage) -> None:
    rng = random.Random(1)
    sla = STAGE_SLA_HOURS[stage.value]
    late = sum(stage_hours(rng, stage) > sla for _ in range(4000)) / 4000
    assert 0.08 < late < 0.3


SCRIPT = """
import hashlib, sys
from datetime import datetime, UTC
from banktwin.sim import SimConfig, Simulation
from banktwin.wire import events_to_ndjson
sim = Simulation(SimConfig(customers=30, branches=1, seed=9, history_days=2, fraud_rate=0.2))
digest = hashlib.sha256()
for batch in sim.backfill(end=datetime(2025, 2, 1, tzinfo=UTC)):
    digest.update(events_to_ndjson(batch))
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_backfill_is_identical_across_processes_and_hash_seeds() -> None:
    root = Path(__file__).resolve().parents[3]
    digests = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=root,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1
    assert len(next(iter(digests))) == len(hashlib.sha256().hexdigest())
