"""The nightly schedule: once a day at its UTC hour, not again after a restart the same day,
once (not per missed day) after a process was down at the hour, armed (not run) the first time
it is seen, and never when off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.config import Settings, load_settings
from banktwin.errors import ConfigurationError
from banktwin.jobs.lifecycle import TrainingConfig
from banktwin.jobs.schedule import parse_schedule, scheduled_run
from banktwin.jobs.store import SCHEDULER, JobStore
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.unit.jobs.fakes import Clock

AT = time(2, 0)
DAY1 = datetime(2026, 3, 2, tzinfo=UTC)


def configs() -> list[TrainingConfig]:
    return [TrainingConfig("FraudScore", "lightgbm", {}, promote_if_better=True)]


def test_the_setting_is_a_utc_time_of_day_or_off() -> None:
    assert parse_schedule("02:00") == time(2, 0)
    assert parse_schedule("23:59") == time(23, 59)
    assert parse_schedule("off") is None
    for bad in ("24:00", "2:00", "02:60", "nightly", ""):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_schedule(bad)
    assert Settings.model_fields["retrain_schedule"].default == "02:00"  # nightly, UTC
    assert Settings(retrain_schedule="02:00").retrain_time == time(2, 0)
    assert Settings(retrain_schedule="off").retrain_time is None
    with pytest.raises(ConfigurationError, match="BANKTWIN_RETRAIN_SCHEDULE"):
        load_settings(retrain_schedule="2am")


def test_first_seen_it_is_armed_not_run() -> None:
    before = scheduled_run(DAY1 + timedelta(hours=1), AT, None)
    assert not before.run and before.last == date(2026, 3, 1)  # runs at 02:00 today
    after = scheduled_run(DAY1 + timedelta(hours=9), AT, None)
    assert not after.run and after.last == date(2026, 3, 2)  # runs at 02:00 tomorrow


def test_it_runs_at_the_hour_once_and_once_after_days_down() -> None:
    assert not scheduled_run(DAY1 + timedelta(hours=1, minutes=59), AT, date(2026, 3, 1)).run
    due = scheduled_run(DAY1 + timedelta(hours=2), AT, date(2026, 3, 1))
    assert due.run and due.last == date(2026, 3, 2)
    assert not scheduled_run(DAY1 + timedelta(hours=23), AT, due.last).run
    back = scheduled_run(DAY1 + timedelta(days=4, hours=5), AT, date(2026, 3, 1))
    assert back.run and back.last == date(2026, 3, 6)  # one run for four missed days


@given(
    st.lists(st.integers(0, 6 * 24 * 60), min_size=1, max_size=60).map(sorted),
    st.times(),
)
def test_over_any_checks_it_runs_exactly_once_on_each_day_its_hour_was_seen(
    minutes: list[int], at: time
) -> None:
    checks = [DAY1 + timedelta(minutes=m) for m in minutes]
    last: date | None = None
    ran: list[datetime] = []
    for now in checks:
        decision = scheduled_run(now, at, last)
        if decision.run:
            ran.append(now)
        assert last is None or decision.last >= last
        last = decision.last
    run_dates = [r.date() for r in ran]
    assert len(run_dates) == len(set(run_dates))  # at most once a day
    assert all(r.time() >= at for r in ran)  # never before its hour
    armed = scheduled_run(checks[0], at, None).last
    for day in {c.date() for c in checks if c.time() >= at and c.date() > armed}:
        first = min(c for c in checks if c.date() == day and c.time() >= at)
        assert first in ran  # at the first check past the hour on every day after arming


def test_the_store_queues_the_scheduled_jobs_once_a_day_across_restarts() -> None:
    kv = InMemoryKeyValueStore()
    clock = Clock(DAY1 + timedelta(hours=1))
    assert JobStore(kv, clock).run_schedule(AT, configs) == []  # armed
    clock.advance(hours=1)
    queued = JobStore(kv, clock).run_schedule(AT, configs)
    assert [j.requested_by for j in queued] == [SCHEDULER]
    assert queued[0].config.promote_if_better
    for _ in range(3):  # restarts the same day: a new store object each time
        clock.advance(hours=2)
        assert JobStore(kv, clock).run_schedule(AT, configs) == []
    assert JobStore(kv, clock).last_scheduled() == date(2026, 3, 2)
    clock.advance(days=1)
    assert len(JobStore(kv, clock).run_schedule(AT, configs)) == 1
    assert JobStore(kv, clock).page(limit=10, offset=0)[1] == 2
