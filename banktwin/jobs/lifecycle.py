"""A job's lifecycle, as pure rules: queued → running → succeeded | failed.

::

    queued ──start──▶ running ──succeed──▶ succeeded
      ▲                  │ ╲───fail──────▶ failed
      └──interrupted─────┘   (a restart, the first time: queued again; the second: failed)

Every rule takes the job as it is stored and returns the job as it must be stored next; the
store writes it before what it describes happens (a job is ``running`` in the store before its
trainer starts). A job interrupted by a restart (its runner died, or stopped before the job
ended) is queued again once (:data:`MAX_ATTEMPTS`), then failed with the reason: it is never
silently lost, and never retried forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

MAX_ATTEMPTS = 2
"""Runs a job gets: the first, and one more after an interruption."""
INTERRUPTED = "interrupted by a restart"
"""The reason a job interrupted twice fails with."""

Scalar = int | float | str | bool


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IllegalJobTransition(ValueError):  # noqa: N818 - named for what was refused
    """The rule does not apply to the job in its status (or to another runner's job)."""


@dataclass(frozen=True)
class TrainingConfig:
    """What to train: the model, its algorithm and parameters, and the history to learn from."""

    model_name: str
    algorithm: str
    parameters: Mapping[str, Scalar]
    window_start: datetime | None = None
    """Learn from what occurred at or after this (UTC); ``None``: the log's beginning."""
    window_end: datetime | None = None
    """Learn from what was known by this (UTC); ``None``: the log's end."""
    promote_if_better: bool = False
    """Make the new version champion if it beats the champion on history neither learned."""


@dataclass(frozen=True)
class Progress:
    fraction: float
    """From 0 to 1."""
    message: str


@dataclass(frozen=True)
class JobResult:
    """What a succeeded retraining registered."""

    version: int
    champion: bool
    """Whether the new version is the champion (serves) now."""
    metrics: Mapping[str, float]
    trained_from: datetime
    trained_until: datetime
    """The span of the rows it learned from, ``[from, until)``."""
    note: str
    """What happened, for a person (alias, promotion and the comparison behind it)."""


@dataclass(frozen=True)
class Job:
    """One job as the store keeps it."""

    job_id: str
    config: TrainingConfig
    requested_by: str
    """The API client whose token asked for it, or ``scheduler``."""
    created_at: datetime
    sequence: int
    """Its place in the order jobs were asked for (the queue runs the lowest first)."""
    kind: str = "retrain"
    status: JobStatus = JobStatus.QUEUED
    progress: Progress = Progress(0.0, "queued")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    """When its runner last said it was still at it (every second while it runs)."""
    attempts: int = 0
    """Runs started."""
    runner: str | None = None
    """The runner running it (``host:pid:id``), while it runs."""
    result: JobResult | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


def _check(job: Job, status: JobStatus, runner: str | None = None) -> None:
    if job.status is not status:
        raise IllegalJobTransition(f"job {job.job_id} is {job.status}, not {status}")
    if runner is not None and job.runner != runner:
        raise IllegalJobTransition(f"job {job.job_id} is run by {job.runner}, not {runner}")


def started(job: Job, runner: str, now: datetime) -> Job:
    """A queued job taken by ``runner``: one more attempt."""
    _check(job, JobStatus.QUEUED)
    return replace(
        job,
        status=JobStatus.RUNNING,
        runner=runner,
        attempts=job.attempts + 1,
        started_at=now,
        heartbeat_at=now,
        progress=Progress(0.0, "started"),
    )


def progressed(job: Job, runner: str, progress: Progress, now: datetime) -> Job:
    """A running job's progress (and heartbeat). Progress never goes back within a run."""
    _check(job, JobStatus.RUNNING, runner)
    fraction = min(max(progress.fraction, job.progress.fraction, 0.0), 1.0)
    return replace(job, progress=Progress(fraction, progress.message), heartbeat_at=now)


def succeeded(job: Job, runner: str, result: JobResult, now: datetime) -> Job:
    """A running job done, with what it registered."""
    _check(job, JobStatus.RUNNING, runner)
    return replace(
        job,
        status=JobStatus.SUCCEEDED,
        result=result,
        progress=Progress(1.0, "done"),
        finished_at=now,
        runner=None,
    )


def failed(job: Job, runner: str, error: str, now: datetime) -> Job:
    """A running job that could not do its work, and why."""
    _check(job, JobStatus.RUNNING, runner)
    return replace(job, status=JobStatus.FAILED, error=error, finished_at=now, runner=None)


def interrupted(job: Job, now: datetime, how: str = INTERRUPTED) -> Job:
    """A running job whose run ended before the job did (its process stopped or died): queued
    again if it has attempts left, else failed with :data:`INTERRUPTED`."""
    _check(job, JobStatus.RUNNING)
    if job.attempts < MAX_ATTEMPTS:
        return replace(
            job,
            status=JobStatus.QUEUED,
            runner=None,
            progress=Progress(0.0, f"{how} (attempt {job.attempts}); queued again"),
        )
    return replace(
        job,
        status=JobStatus.FAILED,
        runner=None,
        error=f"{INTERRUPTED} (attempt {job.attempts} of {MAX_ATTEMPTS})",
        finished_at=now,
    )


def is_abandoned(job: Job, now: datetime, lease: timedelta) -> bool:
    """A running job whose runner has not said it was at it for longer than ``lease``: its
    process died (or stalled, and lost it)."""
    if job.status is not JobStatus.RUNNING:
        return False
    seen = job.heartbeat_at or job.started_at or job.created_at
    return now - seen > lease
