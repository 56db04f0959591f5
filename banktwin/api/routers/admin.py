"""``/v1/admin``: retraining a model (the DTS document's ``POST /admin/retrain``) as a
background job, and the jobs.

A retraining request is checked (its shape here, its model, algorithm and parameters against
the trainers of :mod:`banktwin.jobs.trainers`), queued durably, and answered 202 with the job
and its ``Location``; the process's job runner (:mod:`banktwin.jobs.runner`) runs it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from banktwin.api.admin_schemas import JobPublic, RetrainRequestIn, body_schema
from banktwin.api.body import JSON, read_body, require_media_type
from banktwin.api.deps import AdminDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem, field_errors, invalid
from banktwin.api.rendering import JsonResponse
from banktwin.errors import ConflictError
from banktwin.intake.json_input import parse_json
from banktwin.jobs.codec import job_view
from banktwin.jobs.lifecycle import JobStatus
from banktwin.jobs.requests import InvalidJobRequest, training_config
from banktwin.jobs.runner import JobRunner

router = APIRouter(prefix="/admin", tags=["admin"])

JOBS_PATH = "/v1/admin/jobs"
RETRAIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": body_schema(RetrainRequestIn)}},
    }
}
ACCEPTED_DOC: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: the job is queued (durably); follow its Location.",
        "headers": {
            "Location": {
                "description": "The job: `/v1/admin/jobs/{jobId}`.",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }
}


def job_runner(request: Request) -> JobRunner:
    """The job runner of the app serving the request (started with it)."""
    runner: JobRunner = request.app.state.job_runner
    return runner


def _retrain_request(body: bytes) -> RetrainRequestIn:
    try:
        return RetrainRequestIn.model_validate(parse_json(body))
    except ValidationError as exc:
        raise invalid(field_errors(exc.errors()), "retrain request") from None


@router.post(
    "/retrain",
    status_code=202,
    response_model=JobPublic,
    responses={**ACCEPTED_DOC, **PROBLEMS(400, 401, 403, 413, 415, 503)},
    openapi_extra=RETRAIN_BODY,
)
async def retrain(request: Request, caller: AdminDep) -> JsonResponse:
    """Retrain a model in the background: 202 with the queued job and its Location; 400
    naming the field for a model, algorithm, parameter or training window that cannot be
    trained. The client who asked is recorded with the job."""
    services = caller.services
    require_media_type(request, (JSON,))
    asked = _retrain_request(await read_body(request, services.settings.max_event_bytes))
    runner = job_runner(request)
    window = asked.training_window
    try:
        config = training_config(
            runner.trainers,
            model_name=asked.model_name,
            algorithm=asked.algorithm,
            parameters=asked.parameters,
            window_start=None if window is None else window.start,
            window_end=None if window is None else window.end,
            promote_if_better=asked.promote_if_better,
        )
    except InvalidJobRequest as exc:
        raise invalid(exc.errors, "retrain request") from None
    try:
        job = await run_in_threadpool(runner.store.enqueue, config, caller.principal.client_id)
    except ConflictError:  # the store kept changing under every try: busy, so retry
        raise Problem(
            503, "the job store is busy; retry the request", headers={"Retry-After": "1"}
        ) from None
    runner.wake()
    location = f"{JOBS_PATH}/{job.job_id}"
    return JsonResponse(job_view(job), status_code=202, headers={"Location": location})


@router.get(
    "/jobs",
    response_model=list[JobPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_jobs(
    request: Request,
    caller: AdminDep,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed"] | None,
        Query(description="Only the jobs in this status."),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JsonResponse:
    """Background jobs, newest first, with their status and progress; the total in
    X-Total-Count, pages in Link."""
    jobs, total = job_runner(request).store.page(
        status=None if status is None else JobStatus(status), limit=limit, offset=offset
    )
    return paged_response(request, [job_view(j) for j in jobs], total, limit, offset)


@router.get(
    "/jobs/{jobId}",
    response_model=JobPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_job(
    jobId: uuid.UUID,  # noqa: N803 - the wire's name
    request: Request,
    caller: AdminDep,
) -> JsonResponse:
    """One background job: its status, progress, attempts, and the version it registered
    with its metrics (or why it failed)."""
    job = job_runner(request).store.get(str(jobId))
    if job is None:
        raise Problem(404, f"no job {jobId}")
    return JsonResponse(job_view(job))
