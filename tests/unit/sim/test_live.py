"""Live mode against a fake clock: pace, continuity with the backfill, stopping."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from banktwin.domain.events import Event
from banktwin.sim import SimConfig, Simulation, run_backfill, run_live
from tests.unit.sim.sim_fixtures import FakeClock, RecordingSink

END = datetime(2025, 6, 18, 9, 30, tzinfo=UTC)
CONFIG = SimConfig(customers=200, branches=2, seed=5, history_days=2)


def _backfilled() -> tuple[Simulation, RecordingSink]:
    sim = Simulation(CONFIG)
    sink = RecordingSink()
    run_backfill(sim, sink, end=END, progress=False)
    return sim, sink


def _assert_subject_order(events: list[Event]) -> None:
    last: dict[str, datetime] = {}
    for event in events:
        assert last.get(event.subject_id, event.occurred_at) <= event.occurred_at
        last[event.subject_id] = event.occurred_at


def test_live_emits_about_rate_times_duration_in_small_batches() -> None:
    sim, _ = _backfilled()
    clock = FakeClock(END.timestamp())
    live = RecordingSink()

    sent = run_live(sim, live, rate=40.0, duration=30.0, clock=clock, sleep=clock.sleep)

    assert sent == len(live.events)
    assert 0.8 * 40 * 30 <= sent <= 1.25 * 40 * 30
    assert clock.now == pytest.approx(END.timestamp() + 30)
    assert 150 <= len(live.batches) <= 250
    assert max(len(b) for b in live.batches) < 100


def test_live_continues_the_backfill_with_clock_timestamps() -> None:
    sim, history = _backfilled()
    clock = FakeClock(END.timestamp())
    live = RecordingSink()

    run_live(sim, live, rate=20.0, duration=10.0, clock=clock, sleep=clock.sleep)

    assert all(END <= e.occurred_at <= END + timedelta(seconds=10) for e in live.events)
    assert {e.event_id for e in live.events}.isdisjoint(e.event_id for e in history.events)
    assert {e.type for e in live.events} >= {"transaction.posted", "customer.login"}
    _assert_subject_order(history.events + live.events)


def test_live_catches_up_a_gap_at_the_natural_pace_first() -> None:
    sim, _ = _backfilled()
    clock = FakeClock((END + timedelta(hours=2)).timestamp())
    live = RecordingSink()

    run_live(sim, live, rate=5.0, duration=2.0, clock=clock, sleep=clock.sleep)

    gap = [e for e in live.events if e.occurred_at < END + timedelta(hours=2)]
    assert gap and len(gap) < 5 * 7200
    assert live.batches[0] == gap[: len(live.batches[0])]


def test_live_stops_when_asked() -> None:
    sim, _ = _backfilled()
    clock = FakeClock(END.timestamp())
    stop = threading.Event()

    class StoppingSink(RecordingSink):
        def send(self, events: Sequence[Event]) -> None:
            super().send(events)
            if len(self.batches) == 5:
                stop.set()

    sink = StoppingSink()
    run_live(sim, sink, rate=50.0, stop=stop, clock=clock, sleep=clock.sleep)

    assert len(sink.batches) == 5
    assert clock.now - END.timestamp() < 5


def test_live_without_backfill_registers_the_bank_first() -> None:
    sim = Simulation(SimConfig(customers=20, branches=1, seed=3, history_days=0))
    clock = FakeClock(END.timestamp())
    sink = RecordingSink()

    run_live(sim, sink, rate=10.0, duration=5.0, clock=clock, sleep=clock.sleep)

    assert sink.events[0].type == "customer.registered"
    assert sum(e.type == "customer.registered" for e in sink.events) == 20


def test_live_refuses_a_simulation_ahead_of_the_clock_and_bad_options() -> None:
    sim, _ = _backfilled()
    clock = FakeClock((END - timedelta(hours=1)).timestamp())
    with pytest.raises(ValueError, match="ahead of the clock"):
        run_live(sim, RecordingSink(), duration=1.0, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError, match="rate"):
        run_live(sim, RecordingSink(), rate=0, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError, match="duration"):
        run_live(sim, RecordingSink(), duration=-1, clock=clock, sleep=clock.sleep)


def test_zero_duration_only_catches_up() -> None:
    sim, _ = _backfilled()
    clock = FakeClock((END + timedelta(minutes=5)).timestamp())
    sink = RecordingSink()

    run_live(sim, sink, duration=0, clock=clock, sleep=clock.sleep)

    assert clock.sleeps == []
    assert all(e.occurred_at <= END + timedelta(minutes=5) for e in sink.events)


def test_run_backfill_sends_every_batch_with_a_progress_bar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = Simulation(SimConfig(customers=20, branches=1, seed=4, history_days=1))
    sink = RecordingSink()

    sent = run_backfill(sim, sink, end=END, progress=True, batch_size=500)

    assert sent == len(sink.events) > 0
    assert all(len(b) <= 500 for b in sink.batches)
    assert "backfill" in capsys.readouterr().err
