"""The job store: durable records, a FIFO queue, compare-and-set writes (two runners never take
one job), abandoned jobs recovered, newest-first pages."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from banktwin.errors import NotFoundError
from banktwin.jobs import JOBS
from banktwin.jobs.lifecycle import (
    IllegalJobTransition,
    JobStatus,
    Progress,
    TrainingConfig,
    progressed,
    succeeded,
)
from banktwin.jobs.store import JobStore
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.unit.jobs.fakes import T0, Clock
from tests.unit.jobs.test_lifecycle import RESULT

LEASE = timedelta(seconds=15)


def config(n: int = 0) -> TrainingConfig:
    return TrainingConfig("FraudScore", "lightgbm", {"seed": n})


@pytest.fixture
def store() -> JobStore:
    return JobStore(InMemoryKeyValueStore(), Clock())


def test_a_queued_job_is_durable_and_read_back_as_written(store: JobStore) -> None:
    job = store.enqueue(config(7), "admin")
    assert job.status is JobStatus.QUEUED and job.requested_by == "admin"
    assert job.created_at == T0
    assert store.get(job.job_id) == job
    assert store.get("00000000-0000-4000-8000-000000000000") is None


def test_jobs_are_taken_oldest_first_and_listed_newest_first(store: JobStore) -> None:
    jobs = [store.enqueue(config(n), "admin") for n in range(3)]
    first = store.claim_next("r1")
    assert first is not None and first.job_id == jobs[0].job_id
    assert first.status is JobStatus.RUNNING and first.runner == "r1" and first.attempts == 1
    second = store.claim_next("r1")
    assert second is not None and second.job_id == jobs[1].job_id
    page, total = store.page(limit=2, offset=0)
    assert total == 3 and [j.job_id for j in page] == [jobs[2].job_id, jobs[1].job_id]
    running, count = store.page(status=JobStatus.RUNNING, limit=10, offset=0)
    assert count == 2 and {j.job_id for j in running} == {jobs[0].job_id, jobs[1].job_id}
    assert store.page(status=JobStatus.QUEUED, limit=10, offset=0)[1] == 1


def test_changes_apply_a_rule_to_the_job_as_stored(store: JobStore) -> None:
    store.enqueue(config(), "admin")
    job = store.claim_next("r1")
    assert job is not None
    store.change(job.job_id, lambda j: progressed(j, "r1", Progress(0.5, "half"), T0))
    done = store.change(job.job_id, lambda j: succeeded(j, "r1", RESULT, T0))
    assert store.get(job.job_id) == done and done.progress.fraction == 1.0
    with pytest.raises(IllegalJobTransition):  # nothing is written
        store.change(job.job_id, lambda j: progressed(j, "r1", Progress(0.5, "x"), T0))
    assert store.get(job.job_id) == done
    with pytest.raises(NotFoundError):
        store.change("nope", lambda j: j)
    assert store.claim_next("r1") is None  # a finished job is no longer queued


def test_two_runners_taking_jobs_at_once_never_take_the_same_one() -> None:
    kv = InMemoryKeyValueStore()
    queued = [JobStore(kv, Clock()).enqueue(config(n), "admin") for n in range(40)]
    taken: dict[str, list[str]] = {"a": [], "b": []}
    go = threading.Barrier(2)

    def take(runner: str) -> None:
        store = JobStore(kv, Clock())  # a process of its own, on the same store
        go.wait()
        while (job := store.claim_next(runner)) is not None:
            taken[runner].append(job.job_id)

    threads = [threading.Thread(target=take, args=(r,)) for r in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == sorted(j.job_id for j in queued)  # each exactly once
    assert kv.positions(JOBS)[0] >= 80  # every write moved the version


def test_a_silent_running_job_is_queued_again_once_then_failed() -> None:
    kv = InMemoryKeyValueStore()
    clock = Clock()
    store = JobStore(kv, clock)
    job = store.enqueue(config(), "admin")
    assert store.claim_next("dead-1") is not None
    clock.advance(seconds=15)
    assert store.recover_abandoned(LEASE) == []  # silent for the lease, not past it
    clock.advance(seconds=1)
    [again] = store.recover_abandoned(LEASE)
    assert again.status is JobStatus.QUEUED and again.attempts == 1
    retried = store.claim_next("dead-2")
    assert retried is not None and retried.job_id == job.job_id and retried.attempts == 2
    clock.advance(seconds=16)
    [lost] = store.recover_abandoned(LEASE)
    assert lost.status is JobStatus.FAILED and lost.error is not None
    assert lost.error.startswith("interrupted by a restart")
    assert store.claim_next("r") is None and store.recover_abandoned(LEASE) == []
