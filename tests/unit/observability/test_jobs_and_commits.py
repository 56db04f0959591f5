"""Job durations (observed when a job completes) and consumers' last-commit times (set after
each commit, and when serve starts them)."""

from __future__ import annotations

import time

import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.kpis.engine import KpiEngine
from banktwin.log.memory import InMemoryEventLog
from banktwin.observability.commit_times import mark_started, record_commit_times
from banktwin.observability.jobs import job_timed, timed_job
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import new_id, registered
from tests.unit.observability.samples import sample

JOBS = "banktwin_job_duration_seconds_count"
LAST_COMMIT = "banktwin_consumer_last_commit_timestamp_seconds"


def test_a_completed_job_is_observed_once_with_its_duration() -> None:
    before = sample(JOBS, task="test_job")
    spent = sample("banktwin_job_duration_seconds_sum", task="test_job")
    with timed_job("test_job"):
        time.sleep(0.01)
    assert sample(JOBS, task="test_job") == before + 1
    assert sample("banktwin_job_duration_seconds_sum", task="test_job") - spent >= 0.01


def test_a_failed_job_is_not_observed() -> None:
    @job_timed("test_failing_job")
    def job() -> None:
        raise ValueError("no history")

    with pytest.raises(ValueError, match="no history"):
        job()
    assert sample(JOBS, task="test_failing_job") == 0


def test_a_decorated_job_returns_what_it_returns() -> None:
    @job_timed("test_returning_job")
    def job(n: int) -> int:
        return n * 2

    before = sample(JOBS, task="test_returning_job")
    assert job(21) == 42
    assert sample(JOBS, task="test_returning_job") == before + 1


def test_a_commit_sets_the_consumers_last_commit_time() -> None:
    log, kv = InMemoryEventLog(2), InMemoryKeyValueStore()
    consumer = Consumer(log, KpiEngine(kv, name="test_commits"))
    record_commit_times([consumer])
    log.append([registered(new_id())])
    assert sample(LAST_COMMIT, consumer="test_commits") == 0
    started = time.time()
    consumer.run_until_caught_up()
    assert started <= sample(LAST_COMMIT, consumer="test_commits") <= time.time()


def test_a_started_consumer_counts_from_its_start() -> None:
    started = time.time()
    mark_started(["test_started"])
    assert started <= sample(LAST_COMMIT, consumer="test_started") <= time.time()
