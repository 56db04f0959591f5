"""The job runner on the production store (in memory) with fake trainers built on the port:
jobs run to success or failure with the reason, progress and heartbeats are written while they
run, a stop interrupts a run and the next runner takes it again, abandoned jobs are recovered
once, the schedule queues its jobs, and the job's duration is observed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import time as time_of_day
from datetime import timedelta

import pytest

from banktwin.jobs.lifecycle import Job, JobStatus, TrainingConfig
from banktwin.jobs.runner import JobRunner
from banktwin.jobs.store import SCHEDULER, JobStore
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.unit.jobs.fakes import Clock, FakeTrainer, refusing_trainer
from tests.unit.observability.samples import sample

LEASE = timedelta(seconds=15)
DURATIONS = "banktwin_job_duration_seconds_count"


def fake_config(**kw: object) -> TrainingConfig:
    return TrainingConfig("Fake", "fast", {"seed": 1}, **kw)  # type: ignore[arg-type]


def runner_for(store: JobStore, trainer: FakeTrainer, **kw: object) -> JobRunner:
    return JobRunner(store, {"Fake": trainer}, heartbeat_s=0.01, poll_s=0.01, **kw)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def store() -> JobStore:
    return JobStore(InMemoryKeyValueStore(), Clock())


def test_a_job_runs_to_success_with_its_version_and_its_duration_observed(
    store: JobStore,
) -> None:
    trainer = FakeTrainer()
    before = sample(DURATIONS, task="retrain_Fake")
    job = store.enqueue(fake_config(promote_if_better=True), "admin")
    ran = runner_for(store, trainer).step()
    assert ran is not None and ran.job_id == job.job_id
    assert ran.status is JobStatus.SUCCEEDED and ran.attempts == 1
    assert ran.result is not None and ran.result.version == 1 and ran.result.champion
    assert store.get(job.job_id) == ran
    assert trainer.calls == [job.config]
    assert sample(DURATIONS, task="retrain_Fake") == before + 1
    assert runner_for(store, trainer).step() is None  # nothing left


@pytest.mark.parametrize(
    ("trainer", "error"),
    [
        (refusing_trainer(), "not enough history to train on: 0 frauds"),
        (FakeTrainer(fail_with=RuntimeError("boom")), "unexpected error: RuntimeError: boom"),
    ],
)
def test_a_failing_trainer_fails_the_job_with_its_reason_and_no_duration(
    store: JobStore, trainer: FakeTrainer, error: str
) -> None:
    before = sample(DURATIONS, task="retrain_Fake")
    store.enqueue(fake_config(), "admin")
    ran = runner_for(store, trainer).step()
    assert ran is not None and ran.status is JobStatus.FAILED and ran.error == error
    assert ran.finished_at is not None and ran.result is None
    assert sample(DURATIONS, task="retrain_Fake") == before


def test_a_model_without_a_trainer_here_fails_naming_the_ones_there_are(
    store: JobStore,
) -> None:
    store.enqueue(TrainingConfig("RiskScore", "logistic", {}), "admin")
    ran = runner_for(store, FakeTrainer()).step()
    assert ran is not None and ran.status is JobStatus.FAILED
    assert ran.error == "no trainer for RiskScore in this process (it has: Fake)"


def test_progress_and_heartbeats_are_written_while_the_job_runs(store: JobStore) -> None:
    trainer = FakeTrainer(hold=threading.Event())
    job = store.enqueue(fake_config(), "admin")
    runner = runner_for(store, trainer)
    runner.start()
    try:
        assert trainer.reached.wait(5)

        def shows_progress() -> bool:
            now = store.get(job.job_id)
            return now is not None and now.progress.message == "waiting"

        wait_for(shows_progress, "the heartbeat to write the progress")
        running = store.get(job.job_id)
        assert running is not None and running.status is JobStatus.RUNNING
        assert running.progress.fraction == 0.5 and running.runner == runner.runner_id
        assert trainer.hold is not None
        trainer.hold.set()
        wait_for(lambda: _status(store, job) is JobStatus.SUCCEEDED, "the job to succeed")
    finally:
        runner.stop()


def test_a_stop_interrupts_the_run_and_the_next_runner_runs_it_again(
    store: JobStore,
) -> None:
    trainer = FakeTrainer(hold=threading.Event())
    job = store.enqueue(fake_config(), "admin")
    first = runner_for(store, trainer)
    first.start()
    assert trainer.reached.wait(5)
    first.stop()  # SIGTERM: the trainer's next report ends the run
    stopped = store.get(job.job_id)
    assert stopped is not None and stopped.status is JobStatus.QUEUED
    assert stopped.attempts == 1 and "interrupted by a restart" in stopped.progress.message
    trainer.hold = None
    ran = runner_for(store, trainer).step()  # the restarted process
    assert ran is not None and ran.status is JobStatus.SUCCEEDED and ran.attempts == 2


def test_a_job_left_running_by_a_dead_process_is_run_again_once_then_failed() -> None:
    kv, clock = InMemoryKeyValueStore(), Clock()
    store = JobStore(kv, clock)
    job = store.enqueue(fake_config(), "admin")
    assert store.claim_next("dead-process") is not None  # SIGKILL after taking it
    runner = runner_for(store, FakeTrainer(), lease=LEASE)
    assert runner.step() is None  # its lease is not over yet: nothing to run
    assert _status(store, job) is JobStatus.RUNNING
    clock.advance(seconds=16)
    ran = runner.step()
    assert ran is not None and ran.status is JobStatus.SUCCEEDED and ran.attempts == 2

    again = store.enqueue(fake_config(), "admin")
    assert store.claim_next("dead-1") is not None
    clock.advance(seconds=16)
    store.recover_abandoned(LEASE)  # queued again once …
    assert store.claim_next("dead-2") is not None  # … and killed again
    clock.advance(seconds=16)
    assert runner.step() is None
    lost = store.get(again.job_id)
    assert lost is not None and lost.status is JobStatus.FAILED
    assert lost.error == "interrupted by a restart (attempt 2 of 2)"


def test_a_run_taken_back_by_another_runner_writes_nothing_more() -> None:
    kv, clock = InMemoryKeyValueStore(), Clock()
    store = JobStore(kv, clock)
    trainer = FakeTrainer(hold=threading.Event())
    store.enqueue(fake_config(), "admin")
    slow = runner_for(store, trainer)
    job = store.claim_next(slow.runner_id)
    assert job is not None
    ended: list[Job] = []
    run = threading.Thread(target=lambda: ended.append(slow.run(job, threading.Event())))
    run.start()
    assert trainer.reached.wait(5)
    later = JobStore(kv, Clock(clock() + timedelta(minutes=1)))  # it looked silent from there
    [taken] = later.recover_abandoned(LEASE)
    assert taken.status is JobStatus.QUEUED
    run.join(5)
    assert not run.is_alive()  # its next heartbeat found the job gone, its trainer stopped
    assert ended == [store.get(job.job_id)]
    assert ended[0].status is JobStatus.QUEUED and ended[0].attempts == 1
    assert len(trainer.calls) == 1


def test_the_schedule_queues_and_runs_a_job_for_every_trainer_once_a_day() -> None:
    kv, clock = InMemoryKeyValueStore(), Clock()  # 01:30 UTC
    store = JobStore(kv, clock)
    trainer = FakeTrainer()
    runner = runner_for(store, trainer, schedule=time_of_day(2, 0))
    assert runner.step() is None  # armed
    clock.advance(minutes=30)
    ran = runner.step()
    assert ran is not None and ran.requested_by == SCHEDULER
    assert ran.status is JobStatus.SUCCEEDED
    assert ran.config == TrainingConfig("Fake", "fast", {}, promote_if_better=True)
    clock.advance(hours=3)
    assert runner_for(store, trainer, schedule=time_of_day(2, 0)).step() is None  # restarted
    off = runner_for(store, trainer)  # schedule off
    clock.advance(days=1)
    assert off.step() is None


def _status(store: JobStore, job: Job) -> JobStatus | None:
    now = store.get(job.job_id)
    return None if now is None else now.status
