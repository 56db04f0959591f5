"""A job as a JSON document: what the store keeps and, less its place in the queue, what
``GET /v1/admin/jobs/{jobId}`` shows (camelCase, as the rest of the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from banktwin.jobs.lifecycle import Job, JobResult, JobStatus, Progress, TrainingConfig

_OPTIONS = orjson.OPT_UTC_Z


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _required_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def job_view(job: Job) -> dict[str, Any]:
    """The job as the API shows it (times as ``datetime``)."""
    config = job.config
    result = job.result
    return {
        "jobId": job.job_id,
        "kind": job.kind,
        "modelName": config.model_name,
        "config": {
            "algorithm": config.algorithm,
            "parameters": dict(config.parameters),
            "trainingWindow": {"start": config.window_start, "end": config.window_end},
            "promoteIfBetter": config.promote_if_better,
        },
        "status": job.status.value,
        "progress": {"fraction": job.progress.fraction, "message": job.progress.message},
        "requestedBy": job.requested_by,
        "createdAt": job.created_at,
        "startedAt": job.started_at,
        "finishedAt": job.finished_at,
        "heartbeatAt": job.heartbeat_at,
        "attempts": job.attempts,
        "runner": job.runner,
        "result": None
        if result is None
        else {
            "version": result.version,
            "champion": result.champion,
            "metrics": dict(result.metrics),
            "trainedFrom": result.trained_from,
            "trainedUntil": result.trained_until,
            "note": result.note,
        },
        "error": job.error,
    }


def encode_job(job: Job) -> bytes:
    """The stored document: the view and the job's place in the queue."""
    return orjson.dumps({**job_view(job), "sequence": job.sequence}, option=_OPTIONS)


def decode_job(raw: bytes) -> Job:
    """The job a stored document holds."""
    doc = orjson.loads(raw)
    config = doc["config"]
    window = config["trainingWindow"]
    result = doc["result"]
    return Job(
        job_id=doc["jobId"],
        kind=doc["kind"],
        config=TrainingConfig(
            model_name=doc["modelName"],
            algorithm=config["algorithm"],
            parameters=config["parameters"],
            window_start=_time(window["start"]),
            window_end=_time(window["end"]),
            promote_if_better=config["promoteIfBetter"],
        ),
        requested_by=doc["requestedBy"],
        created_at=_required_time(doc["createdAt"]),
        sequence=doc["sequence"],
        status=JobStatus(doc["status"]),
        progress=Progress(doc["progress"]["fraction"], doc["progress"]["message"]),
        started_at=_time(doc["startedAt"]),
        finished_at=_time(doc["finishedAt"]),
        heartbeat_at=_time(doc["heartbeatAt"]),
        attempts=doc["attempts"],
        runner=doc["runner"],
        result=None
        if result is None
        else JobResult(
            version=result["version"],
            champion=result["champion"],
            metrics=result["metrics"],
            trained_from=_required_time(result["trainedFrom"]),
            trained_until=_required_time(result["trainedUntil"]),
            note=result["note"],
        ),
        error=doc["error"],
    )
