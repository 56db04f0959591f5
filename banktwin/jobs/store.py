"""The job store: job records in the deployment's key-value state store, under ``jobs``.

Keys: ``job/<id>`` (the record, :mod:`banktwin.jobs.codec`), ``order/<sequence>`` (every job, in
the order asked for), ``queued/<sequence>`` (the queue, oldest first), ``running/<id>``, and
``schedule/last`` (the last date the nightly schedule ran for).

**Every write is a compare-and-set.** The namespace's position of partition 0 serves as its
version: each write reads it, reads what it changes, and commits only if the version is still
the one read (the store's :class:`~banktwin.errors.ConflictError` otherwise, and the write is
done again on what is stored now). So two runners (two API replicas on one PostgreSQL) never
both take a job, and a heartbeat never undoes a transition another process wrote. Jobs are
written a few times a second at most: the contention this serialises is nil.
"""

from __future__ import annotations

import random
import time as clock_time
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from banktwin.consumers.engine import Checkpoint
from banktwin.errors import ConflictError, NotFoundError
from banktwin.jobs import JOBS
from banktwin.jobs.codec import decode_job, encode_job
from banktwin.jobs.lifecycle import (
    Job,
    JobStatus,
    TrainingConfig,
    interrupted,
    is_abandoned,
    started,
)
from banktwin.jobs.schedule import scheduled_run
from banktwin.store.kv import KeyValueStore, prefix_end

T = TypeVar("T")

JOB_PREFIX = "job/"
ORDER_PREFIX = "order/"
QUEUED_PREFIX = "queued/"
RUNNING_PREFIX = "running/"
SCHEDULE_KEY = "schedule/last"
SCHEDULER = "scheduler"
"""Who asks for the scheduled jobs (their ``requestedBy``)."""
WRITE_ATTEMPTS = 50
MAX_LISTED = 100_000
"""Most jobs a listing looks through (a few a day: decades of them)."""


def _seq(sequence: int) -> str:
    return f"{sequence:016d}"


class _Write:
    """One compare-and-set write: what it read the version at, the keys it puts, and the
    sequence numbers it hands out (above the version; the commit moves the version past them)."""

    def __init__(self, kv: KeyValueStore, version: int) -> None:
        self.kv = kv
        self.version = version
        self.next_sequence = version + 1
        self.puts: dict[str, bytes | None] = {}

    def sequence(self) -> int:
        number = self.next_sequence
        self.next_sequence += 1
        return number

    def job(self, job_id: str) -> Job | None:
        key = f"{JOB_PREFIX}{job_id}"
        raw = self.puts.get(key) or self.kv.get_many(JOBS, [key]).get(key)
        return None if raw is None else decode_job(raw)

    def save(self, before: Job | None, after: Job) -> Job:
        """Put ``after`` and move it between the queue and the running set as its status
        says."""
        self.puts[f"{JOB_PREFIX}{after.job_id}"] = encode_job(after)
        if before is None:
            self.puts[f"{ORDER_PREFIX}{_seq(after.sequence)}"] = after.job_id.encode()
        was = None if before is None else before.status
        if was is not after.status:
            if was is JobStatus.QUEUED:
                self.puts[f"{QUEUED_PREFIX}{_seq(after.sequence)}"] = None
            if was is JobStatus.RUNNING:
                self.puts[f"{RUNNING_PREFIX}{after.job_id}"] = None
            if after.status is JobStatus.QUEUED:
                self.puts[f"{QUEUED_PREFIX}{_seq(after.sequence)}"] = after.job_id.encode()
            if after.status is JobStatus.RUNNING:
                self.puts[f"{RUNNING_PREFIX}{after.job_id}"] = b""
        return after


class JobStore:
    """Job records and the queue, durable in a :class:`KeyValueStore`."""

    def __init__(self, kv: KeyValueStore, clock: Callable[[], datetime]) -> None:
        self._kv = kv
        self.clock = clock

    # --- reads -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """One job, or ``None``."""
        key = f"{JOB_PREFIX}{job_id}"
        raw = self._kv.get_many(JOBS, [key]).get(key)
        return None if raw is None else decode_job(raw)

    def page(
        self, *, status: JobStatus | None = None, limit: int, offset: int
    ) -> tuple[list[Job], int]:
        """Jobs newest first (only those in ``status``, if given), and how many in all."""
        order = self._kv.scan(
            JOBS, ORDER_PREFIX, prefix_end(ORDER_PREFIX), reverse=True, limit=MAX_LISTED
        )
        ids = [value.decode() for _, value in order]
        if status is None:
            return self._jobs(ids[offset : offset + limit]), len(ids)
        jobs = [job for job in self._jobs(ids) if job.status is status]
        return jobs[offset : offset + limit], len(jobs)

    def _jobs(self, ids: list[str]) -> list[Job]:
        found = self._kv.get_many(JOBS, [f"{JOB_PREFIX}{i}" for i in ids])
        return [decode_job(found[f"{JOB_PREFIX}{i}"]) for i in ids if f"{JOB_PREFIX}{i}" in found]

    def last_scheduled(self) -> date | None:
        """The last date the schedule ran (or was armed) for."""
        raw = self._kv.get_many(JOBS, [SCHEDULE_KEY]).get(SCHEDULE_KEY)
        return None if raw is None else date.fromisoformat(raw.decode())

    # --- writes ----------------------------------------------------------------------------

    def _write(self, work: Callable[[_Write], T]) -> T:
        """Run ``work`` and commit what it put, if nothing was written since it read; else
        run it again on what is stored now."""
        for attempt in range(WRITE_ATTEMPTS):
            version = self._kv.positions(JOBS).get(0, 0)
            write = _Write(self._kv, version)
            outcome = work(write)
            if not write.puts:
                return outcome
            end = max(version + 1, write.next_sequence - 1)
            try:
                self._kv.commit(Checkpoint(JOBS, {0: version}, {0: end}), write.puts)
            except ConflictError:
                clock_time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
                continue
            return outcome
        raise ConflictError(f"the job store kept changing: gave up after {WRITE_ATTEMPTS} tries")

    def enqueue(self, config: TrainingConfig, requested_by: str) -> Job:
        """Queue a new job (durably) and return it."""
        job_id = str(uuid.uuid4())
        now = self.clock()

        def work(write: _Write) -> Job:
            job = Job(job_id, config, requested_by, now, write.sequence())
            return write.save(None, job)

        return self._write(work)

    def change(self, job_id: str, rule: Callable[[Job], Job]) -> Job:
        """Apply a lifecycle rule to a job as stored now, and store what it returns.

        Raises:
            NotFoundError: no such job.
            IllegalJobTransition: from the rule (the job is not in a state it applies to).
        """

        def work(write: _Write) -> Job:
            job = write.job(job_id)
            if job is None:
                raise NotFoundError(f"no job {job_id}")
            return write.save(job, rule(job))

        return self._write(work)

    def claim_next(self, runner: str) -> Job | None:
        """The oldest queued job, now ``running`` by ``runner``; ``None`` if none is queued."""
        now = self.clock()

        def work(write: _Write) -> Job | None:
            for _, value in self._kv.scan(JOBS, QUEUED_PREFIX, prefix_end(QUEUED_PREFIX)):
                job = write.job(value.decode())
                if job is not None and job.status is JobStatus.QUEUED:
                    return write.save(job, started(job, runner, now))
            return None

        return self._write(work)

    def recover_abandoned(self, lease: timedelta) -> list[Job]:
        """Running jobs whose runner has been silent for longer than ``lease`` (its process
        died): queued again, or failed if they had been already (:func:`interrupted`)."""
        now = self.clock()

        def work(write: _Write) -> list[Job]:
            running = self._kv.scan(JOBS, RUNNING_PREFIX, prefix_end(RUNNING_PREFIX))
            recovered = []
            for key, _ in running:
                job = write.job(key[len(RUNNING_PREFIX) :])
                if job is not None and is_abandoned(job, now, lease):
                    recovered.append(write.save(job, interrupted(job, now)))
            return recovered

        return self._write(work)

    def run_schedule(self, at: time, configs: Callable[[], list[TrainingConfig]]) -> list[Job]:
        """Queue the scheduled jobs (``configs()``, asked by :data:`SCHEDULER`) if the daily
        run at ``at`` (UTC) is due (:func:`scheduled_run`); returns the jobs queued. The date
        is stored with them: processes checking together queue them once."""
        now = self.clock()

        def work(write: _Write) -> list[Job]:
            raw = self._kv.get_many(JOBS, [SCHEDULE_KEY]).get(SCHEDULE_KEY)
            last = None if raw is None else date.fromisoformat(raw.decode())
            decision = scheduled_run(now, at, last)
            if decision.last != last:
                write.puts[SCHEDULE_KEY] = decision.last.isoformat().encode()
            if not decision.run:
                return []
            return [
                write.save(None, Job(str(uuid.uuid4()), config, SCHEDULER, now, write.sequence()))
                for config in configs()
            ]

        return self._write(work)
