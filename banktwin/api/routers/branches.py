"""``/v1/branches``: branch state (staff, queues, occupancy) and branch events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from banktwin.api.deps import ReaderDep, WriterDep
from banktwin.api.ingest import ingest_one
from banktwin.api.openapi_docs import EVENT_BODY, PROBLEMS, conflict_doc, event_receipt_doc
from banktwin.api.problems import Problem, in_utc
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import BranchStatePublic
from banktwin.api.views import branch_view
from banktwin.domain.branch import BranchTwin
from banktwin.domain.events import SubjectKind
from banktwin.intake import SubjectScope
from banktwin.projector.as_of import twin_as_of

router = APIRouter(prefix="/branches", tags=["branches"])


@router.get(
    "/{branchId}/state",
    response_model=BranchStatePublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_branch_state(
    branchId: uuid.UUID,  # noqa: N803 - the seed's path parameter name
    caller: ReaderDep,
    as_of: Annotated[
        AwareDatetime | None, Query(alias="asOf", description="State at this past time.")
    ] = None,
) -> JsonResponse:
    """Current branch state: staff available, queues and wait times, occupancy, services."""
    services = caller.services
    branch_id = str(branchId)
    if as_of is None:
        branch = services.store.branch(branch_id)
        if branch is None:
            raise Problem(404, f"no branch {branch_id} in the twin")
        return JsonResponse(branch_view(branch, services.clock()))
    as_of = in_utc(as_of, "asOf")
    past = twin_as_of(services.log, SubjectKind.BRANCH, branch_id, as_of)
    if not isinstance(past, BranchTwin):
        raise Problem(404, f"branch {branch_id} had no events by {as_of.isoformat()}")
    return JsonResponse(branch_view(past, as_of))


@router.post(
    "/{branchId}/events",
    status_code=202,
    responses={
        202: event_receipt_doc(),
        **PROBLEMS(400, 401, 403, 413, 415, 503),
        **conflict_doc(),
    },
    openapi_extra=EVENT_BODY,
)
async def post_branch_event(
    branchId: uuid.UUID,  # noqa: N803
    request: Request,
    caller: WriterDep,
) -> JsonResponse:
    """Push a branch, queue or loan-application event (loan events name the application in
    subjectId)."""
    return await ingest_one(
        request, caller, SubjectScope(SubjectKind.BRANCH, str(branchId), "the URL")
    )
