"""``/v1/branches``: every branch (paged), a branch's state (staff, queues, occupancy) and
its day so far, and branch events."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from banktwin.api.branch_schemas import BranchDayPublic, BranchSummaryPublic
from banktwin.api.branch_views import branch_day_view, branch_summary_view
from banktwin.api.deps import ReaderDep, WriterDep
from banktwin.api.ingest import ingest_one
from banktwin.api.openapi_docs import EVENT_BODY, PROBLEMS, conflict_doc, event_receipt_doc
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem, in_utc, invalid
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import BranchStatePublic
from banktwin.api.views import branch_view
from banktwin.domain.branch import BranchTwin
from banktwin.domain.branch_day import branch_day, day_bounds, events_needed
from banktwin.domain.events import SubjectKind
from banktwin.intake import FieldError, SubjectScope
from banktwin.projector.as_of import twin_as_of

router = APIRouter(prefix="/branches", tags=["branches"])


@router.get(
    "",
    response_model=list[BranchSummaryPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_branches(
    request: Request, caller: ReaderDep, limit: Limit = 50, offset: Offset = 0
) -> JsonResponse:
    """Every branch, by branch id: open or closed, staff on duty, queue lengths and waits,
    occupancy (total in X-Total-Count)."""
    services = caller.services
    page = services.store.branches(limit, offset)
    now = services.clock()
    items = [branch_summary_view(b, now) for b in page.items]
    return paged_response(request, items, page.total, limit, offset)


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


@router.get(
    "/{branchId}/day",
    response_model=BranchDayPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_branch_day(
    branchId: uuid.UUID,  # noqa: N803 - the seed's path parameter name
    caller: ReaderDep,
    day: Annotated[
        date | None,
        Query(alias="date", description="The UTC day (YYYY-MM-DD); default: today, so far."),
    ] = None,
) -> JsonResponse:
    """A branch's day so far, from its events: customers joined, served and abandoned, mean
    and longest wait, peak queue, staff check-ins and check-outs, in total, per service and
    per hour (UTC)."""
    services = caller.services
    branch_id = str(branchId)
    now = services.clock()
    day = day or now.date()
    if day > now.date():
        raise invalid([FieldError("date", f"{day} has not begun (today is {now.date()} UTC)")])
    if services.store.branch(branch_id) is None:
        raise Problem(404, f"no branch {branch_id} in the twin")
    until = min(now, day_bounds(day)[1])
    read = services.log.read_subject(branch_id, until=until, since=events_needed(day))
    events = (logged.event for logged in read)
    return JsonResponse(branch_day_view(branch_id, branch_day(events, day, until)))


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
