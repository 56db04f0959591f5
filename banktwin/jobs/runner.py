"""The job runner: a thread of the API process that runs the queued jobs, one at a time,
oldest first, and queues the nightly schedule's.

Each pass (every second, or at once when a job is queued here): jobs whose runner went silent
are recovered (:meth:`JobStore.recover_abandoned`: queued again once, then failed), the
schedule is checked, and the oldest queued job is taken and run. While a job runs, a heartbeat
thread writes its progress and the time every second; a runner that stops (SIGTERM) ends its
job at the trainer's next progress report and writes it back as interrupted. One that dies
(SIGKILL) leaves it ``running``, silent: after :data:`LEASE` any runner of the deployment, this
one restarted included, recovers it.

A job is run at least once, not exactly once: a process that dies after the trainer registered
a version and before ``succeeded`` was written leaves a version that the job's retry registers
again (the registry keeps both; the champion moves only by the rules of the job).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import time, timedelta

from banktwin.errors import BanktwinError, ConflictError, NotFoundError, UnavailableError
from banktwin.jobs.lifecycle import (
    IllegalJobTransition,
    Job,
    JobResult,
    Progress,
    TrainingConfig,
    failed,
    interrupted,
    progressed,
    succeeded,
)
from banktwin.jobs.store import JobStore
from banktwin.jobs.trainer import JobInterrupted, Trainer, TrainingFailed
from banktwin.observability.jobs import timed_job

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
"""How often a running job's progress and heartbeat are written."""
LEASE = timedelta(seconds=15)
"""How long a running job's runner may be silent before the job counts as abandoned. Well
above the heartbeat: a busy store (a SQLite file the consumers are committing to) may hold a
heartbeat up for seconds."""
POLL_S = 1.0
"""How often a runner looks for work it was not woken for (jobs queued by another replica,
abandoned jobs, the schedule)."""
STOP_TIMEOUT_S = 10.0
"""How long :meth:`JobRunner.stop` waits for a job to reach a progress report and end."""


def scheduled_configs(trainers: Mapping[str, Trainer]) -> list[TrainingConfig]:
    """What the nightly schedule retrains: every model with a trainer, its default algorithm
    and parameters, on the whole history, promoted if it beats the champion."""
    return [
        TrainingConfig(name, next(iter(trainer.algorithms)), {}, promote_if_better=True)
        for name, trainer in trainers.items()
    ]


class _Run:
    """One job's run: what its trainer last reported, and whether it must end."""

    def __init__(self, job: Job, stopping: threading.Event) -> None:
        self.job = job
        self.latest = Progress(0.0, "started")
        self.stopping = stopping
        self.lost = threading.Event()
        """Set when the store no longer shows this run as the job's (another runner took it
        back after a silence longer than the lease)."""
        self.done = threading.Event()

    def report(self, fraction: float, message: str) -> None:
        if self.stopping.is_set():
            raise JobInterrupted("the process is stopping")
        if self.lost.is_set():
            raise JobInterrupted("the job was taken back by another runner")
        self.latest = Progress(fraction, message)


class JobRunner:
    """Runs the job store's queue in a background thread (:meth:`start`, :meth:`stop`)."""

    def __init__(
        self,
        store: JobStore,
        trainers: Mapping[str, Trainer],
        *,
        schedule: time | None = None,
        lease: timedelta = LEASE,
        heartbeat_s: float = HEARTBEAT_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.store = store
        self.trainers = trainers
        self.schedule = schedule
        self.lease = lease
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the thread --------------------------------------------------------------------------

    def start(self) -> None:
        """Run :meth:`run_forever` in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, args=(self._stop,), name="job-runner", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the thread: a running job ends at its trainer's next progress report and is
        written back as interrupted. A trainer that reports nothing for ``timeout`` is left
        to the process's end (its job is recovered after :data:`LEASE`)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def wake(self) -> None:
        """Look for work now (a job was just queued)."""
        self._wake.set()

    def run_forever(self, stop: threading.Event) -> None:
        """Pass after pass (:meth:`step`) until ``stop`` is set; a failed pass is logged and
        tried again after :data:`POLL_S` (all its state is in the store)."""
        while not stop.is_set():
            ran: Job | None = None
            try:
                ran = self.step(stop)
            except UnavailableError as exc:
                log.warning("jobs: the store is unavailable: %s", exc)
            except Exception:
                log.exception("jobs: a pass of the runner failed; trying again")
            if ran is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    # --- one pass ----------------------------------------------------------------------------

    def step(self, stop: threading.Event | None = None) -> Job | None:
        """Recover abandoned jobs, queue the schedule's if due, and run the oldest queued job;
        returns that job as it ended, or ``None`` if none was queued."""
        for job in self.store.recover_abandoned(self.lease):
            log.warning(
                "jobs: job %s (%s) was left running by a process that stopped: %s",
                job.job_id,
                job.config.model_name,
                job.status.value,
                extra={"jobId": job.job_id, "status": job.status.value},
            )
        if self.schedule is not None:
            for job in self.store.run_schedule(self.schedule, self._scheduled):
                log.info(
                    "jobs: the schedule queued job %s (%s)",
                    job.job_id,
                    job.config.model_name,
                    extra={"jobId": job.job_id},
                )
        taken = self.store.claim_next(self.runner_id)
        if taken is None:
            return None
        return self.run(taken, stop or self._stop)

    def _scheduled(self) -> list[TrainingConfig]:
        return scheduled_configs(self.trainers)

    def run(self, job: Job, stopping: threading.Event) -> Job:
        """Run a job this runner has taken (it is ``running`` in the store) to its end."""
        config = job.config
        log.info(
            "jobs: job %s (%s, %s) started, attempt %d, asked by %s",
            job.job_id,
            config.model_name,
            config.algorithm,
            job.attempts,
            job.requested_by,
            extra={"jobId": job.job_id},
        )
        trainer = self.trainers.get(config.model_name)
        if trainer is None:
            known = ", ".join(sorted(self.trainers)) or "none"
            error = f"no trainer for {config.model_name} in this process (it has: {known})"
            return self._end(job, self._failed(error))
        run = _Run(job, stopping)
        beat = threading.Thread(
            target=self._heartbeat, args=(run,), name="job-heartbeat", daemon=True
        )
        beat.start()
        outcome: Callable[[Job], Job]
        try:
            with timed_job(f"retrain_{config.model_name}"):
                result = trainer(config, run.report)
        except JobInterrupted as exc:
            log.warning("jobs: job %s interrupted: %s", job.job_id, exc)
            outcome = self._interrupted()
        except (TrainingFailed, BanktwinError) as exc:
            outcome = self._failed(str(exc))
        except Exception as exc:
            log.exception("jobs: job %s failed unexpectedly", job.job_id)
            outcome = self._failed(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            outcome = self._succeeded(result)
        finally:
            run.done.set()
            beat.join()
        if run.lost.is_set():
            log.warning("jobs: job %s was taken back by another runner", job.job_id)
            return self.store.get(job.job_id) or job
        return self._end(job, outcome)

    # The lifecycle rules this runner applies, with its id and the store's clock.

    def _interrupted(self) -> Callable[[Job], Job]:
        return lambda j: interrupted(j, self.store.clock())

    def _failed(self, error: str) -> Callable[[Job], Job]:
        return lambda j: failed(j, self.runner_id, error, self.store.clock())

    def _succeeded(self, result: JobResult) -> Callable[[Job], Job]:
        return lambda j: succeeded(j, self.runner_id, result, self.store.clock())

    def _progressed(self, latest: Progress) -> Callable[[Job], Job]:
        return lambda j: progressed(j, self.runner_id, latest, self.store.clock())

    def _end(self, job: Job, outcome: Callable[[Job], Job]) -> Job:
        """Write how the job ended, retrying while the store is unavailable or busy (and the
        process is not stopping: the job is then recovered after the lease)."""
        while True:
            try:
                ended = self.store.change(job.job_id, outcome)
            except (IllegalJobTransition, NotFoundError) as exc:
                log.warning("jobs: job %s could not be ended here: %s", job.job_id, exc)
                return self.store.get(job.job_id) or job
            except (UnavailableError, ConflictError) as exc:
                if self._stop.wait(self.poll_s):
                    raise
                log.warning("jobs: could not write job %s yet: %s", job.job_id, exc)
                continue
            log.info(
                "jobs: job %s %s%s",
                ended.job_id,
                ended.status.value,
                f": {ended.error}" if ended.error else "",
                extra={"jobId": ended.job_id, "status": ended.status.value},
            )
            return ended

    def _heartbeat(self, run: _Run) -> None:
        """Write the run's progress every :data:`HEARTBEAT_S` until it is done."""
        job_id = run.job.job_id
        while not run.done.wait(self.heartbeat_s):
            try:
                self.store.change(job_id, self._progressed(run.latest))
            except (IllegalJobTransition, NotFoundError):
                run.lost.set()
                return
            except Exception as exc:  # a busy or unreachable store: the next beat tries again
                log.warning("jobs: heartbeat of job %s not written: %s", job_id, exc)
