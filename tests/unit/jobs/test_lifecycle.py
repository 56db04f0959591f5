"""The job lifecycle's rules: queued → running → succeeded | failed, a run interrupted by a
restart queued again once and then failed, progress that never goes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.jobs.lifecycle import (
    MAX_ATTEMPTS,
    IllegalJobTransition,
    Job,
    JobResult,
    JobStatus,
    Progress,
    TrainingConfig,
    failed,
    interrupted,
    is_abandoned,
    progressed,
    started,
    succeeded,
)
from tests.unit.jobs.fakes import T0

CONFIG = TrainingConfig("FraudScore", "lightgbm", {"seed": 1})
RESULT = JobResult(3, True, {"auc": 0.9}, T0, T0, "registered")


def new_job() -> Job:
    return Job("j1", CONFIG, "admin", T0, sequence=1)


def test_a_job_runs_to_success_with_its_result() -> None:
    job = started(new_job(), "r1", T0)
    assert (job.status, job.attempts, job.runner) == (JobStatus.RUNNING, 1, "r1")
    job = progressed(job, "r1", Progress(0.4, "folding"), T0 + timedelta(seconds=1))
    assert job.progress == Progress(0.4, "folding")
    assert job.heartbeat_at == T0 + timedelta(seconds=1)
    done = succeeded(job, "r1", RESULT, T0 + timedelta(seconds=2))
    assert done.status is JobStatus.SUCCEEDED and done.result == RESULT
    assert done.finished and done.runner is None and done.progress.fraction == 1.0


def test_a_failure_keeps_its_reason() -> None:
    job = failed(started(new_job(), "r1", T0), "r1", "no history", T0)
    assert job.status is JobStatus.FAILED and job.error == "no history" and job.finished


def test_an_interrupted_run_is_queued_again_once_then_fails_with_the_reason() -> None:
    first = interrupted(started(new_job(), "r1", T0), T0)
    assert first.status is JobStatus.QUEUED and first.attempts == 1 and first.runner is None
    assert "queued again" in first.progress.message
    second = interrupted(started(first, "r2", T0), T0)
    assert second.status is JobStatus.FAILED and second.attempts == MAX_ATTEMPTS
    assert second.error is not None and second.error.startswith("interrupted by a restart")


def test_rules_refuse_a_job_in_another_state_or_of_another_runner() -> None:
    queued = new_job()
    with pytest.raises(IllegalJobTransition):
        succeeded(queued, "r1", RESULT, T0)
    running = started(queued, "r1", T0)
    with pytest.raises(IllegalJobTransition):
        started(running, "r2", T0)
    with pytest.raises(IllegalJobTransition, match="run by r1"):
        progressed(running, "r2", Progress(0.5, "x"), T0)
    done = succeeded(running, "r1", RESULT, T0)
    with pytest.raises(IllegalJobTransition):
        interrupted(done, T0)


def test_a_job_is_abandoned_only_when_running_and_silent_past_the_lease() -> None:
    lease = timedelta(seconds=15)
    running = started(new_job(), "r1", T0)
    assert not is_abandoned(running, T0 + lease, lease)
    assert is_abandoned(running, T0 + lease + timedelta(microseconds=1), lease)
    assert not is_abandoned(new_job(), T0 + timedelta(days=1), lease)
    beat = progressed(running, "r1", Progress(0.1, "x"), T0 + lease)
    assert not is_abandoned(beat, T0 + lease + lease, lease)


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.sampled_from(["r1", "r2"])),
        st.tuples(st.just("progress"), st.floats(-1, 2, allow_nan=False)),
        st.tuples(st.just("succeed"), st.just("")),
        st.tuples(st.just("fail"), st.just("")),
        st.tuples(st.just("interrupt"), st.just("")),
    ),
    max_size=30,
)


@given(ACTIONS)
def test_any_sequence_of_rules_keeps_the_invariants(
    actions: list[tuple[str, str | float]],
) -> None:
    job = new_job()
    for step, (action, arg) in enumerate(actions):
        now = T0 + timedelta(seconds=step)
        before = job
        try:
            if action == "start":
                job = started(job, str(arg), now)
            elif action == "progress":
                assert isinstance(arg, float)
                job = progressed(job, job.runner or "r1", Progress(arg, "p"), now)
            elif action == "succeed":
                job = succeeded(job, job.runner or "r1", RESULT, now)
            elif action == "fail":
                job = failed(job, job.runner or "r1", "broken", now)
            else:
                job = interrupted(job, now)
        except IllegalJobTransition:
            assert job is before
            continue
        assert before.status is not JobStatus.SUCCEEDED and before.status is not JobStatus.FAILED
        assert 0 <= job.attempts <= MAX_ATTEMPTS
        assert 0.0 <= job.progress.fraction <= 1.0
        assert (job.status is JobStatus.RUNNING) == (job.runner is not None)
        assert (job.finished_at is not None) == job.finished
        assert (job.result is not None) == (job.status is JobStatus.SUCCEEDED)
        assert (job.error is not None) == (job.status is JobStatus.FAILED)
        if action == "progress" and before.status is JobStatus.RUNNING:
            assert job.progress.fraction >= before.progress.fraction  # never goes back
