"""``/v1/customers``: the customer twin, its transactions, and events about the customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime

from banktwin.api.auth import READ
from banktwin.api.deps import ReaderDep, Services, WriterDep, caller_of
from banktwin.api.ingest import ingest_one
from banktwin.api.lean_params import LeanParam, lean_openapi, read_params
from banktwin.api.openapi_docs import EVENT_BODY, PROBLEMS, conflict_doc, event_receipt_doc
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem, in_utc
from banktwin.api.rendering import JsonResponse, render_json
from banktwin.api.schemas import CustomerPublic, TransactionPublic
from banktwin.api.timeline_schemas import CustomerEventPublic
from banktwin.api.timeline_views import newest_first, timeline_view
from banktwin.api.view_cache import RenderedViews, version_of
from banktwin.api.views import customer_view, transaction_view
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.intake import SubjectScope
from banktwin.projector.as_of import twin_as_of

router = APIRouter(prefix="/customers", tags=["customers"])

CUSTOMER_ID: LeanParam[uuid.UUID] = LeanParam("customerId", "path", uuid.UUID)
AS_OF: LeanParam[datetime] = LeanParam(
    "asOf",
    "query",
    AwareDatetime | None,
    description="Show the twin as it was at this time (ISO 8601).",
)
RECENT_TRANSACTIONS = 20
"""How many of the newest transactions a profile shows (all of them: .../transactions)."""


def _not_found(customer_id: str) -> Problem:
    return Problem(404, f"no customer {customer_id} in the twin")


@router.get(
    "/{customerId}",
    response_model=CustomerPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
    openapi_extra=lean_openapi(CUSTOMER_ID, AS_OF, scope=READ),
)
async def get_customer(request: Request) -> Response:
    """Retrieve the full twin profile of a customer (optionally as of a past time)."""
    # The busiest read: caller and parameters are checked here rather than declared (see
    # lean_params), in FastAPI's order: the token first, then the parameters.
    services = caller_of(request, READ).services
    customer_uuid, as_of = read_params(request, CUSTOMER_ID, AS_OF)
    customer_id = str(customer_uuid)
    if as_of is None:
        # Two indexed reads (often one, and a reused rendering): on an embedded store cheaper
        # inline than a hop to the thread pool; a server's latency would stall the event loop.
        if services.store.reads_are_local:
            body = _current_view(services, customer_id)
        else:
            body = await run_in_threadpool(_current_view, services, customer_id)
        return Response(body, media_type="application/json")
    view = await run_in_threadpool(_past_view, services, customer_id, in_utc(as_of, "asOf"))
    return JsonResponse(view)


def _past_view(services: Services, customer_id: str, as_of: datetime) -> dict[str, object]:
    past = twin_as_of(services.log, SubjectKind.CUSTOMER, customer_id, as_of)
    if not isinstance(past, CustomerTwin):
        raise Problem(404, f"customer {customer_id} had no events by {as_of.isoformat()}")
    past_loans = [
        loan
        for current in services.store.loans_of(customer_id)
        if isinstance(
            loan := twin_as_of(services.log, SubjectKind.LOAN, current.application_id, as_of),
            LoanTwin,
        )
    ]
    recent = services.store.recent_transactions(customer_id, RECENT_TRANSACTIONS, until=as_of)
    return customer_view(past, past_loans, recent, as_of)


def _current_view(services: Services, customer_id: str) -> bytes:
    """The rendered twin at the current minute, reused while the customer is unchanged."""
    minute = RenderedViews.minute_of(services.clock())
    # A replay serves a new generation whose twins may differ at the same version.
    generation = services.store.served_generation().number
    stored = services.store.customer_version(customer_id)
    if stored is None:
        raise _not_found(customer_id)
    body = services.views.get(customer_id, f"{generation}:{stored}", minute)
    if body is not None:
        return body
    customer = services.store.customer(customer_id)
    if customer is None:
        raise _not_found(customer_id)
    loans = services.store.loans_of(customer_id)
    recent = services.store.recent_transactions(customer_id, RECENT_TRANSACTIONS)
    at = datetime.fromtimestamp(minute * 60, UTC)
    body = render_json(customer_view(customer, loans, recent, at))
    services.views.put(customer_id, f"{generation}:{version_of(customer, loans)}", minute, body)
    return body


@router.get(
    "/{customerId}/transactions",
    response_model=list[TransactionPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 404, 503)},
)
def list_transactions(
    customerId: uuid.UUID,  # noqa: N803
    request: Request,
    caller: ReaderDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JsonResponse:
    """List a customer's transactions, newest first (total in X-Total-Count)."""
    services = caller.services
    customer_id = str(customerId)
    page = services.store.transactions(customer_id, limit, offset)
    if page.total == 0 and services.store.customer(customer_id) is None:
        raise _not_found(customer_id)
    items = [transaction_view(t) for t in page.items]
    return paged_response(request, items, page.total, limit, offset)


@router.get(
    "/{customerId}/events",
    response_model=list[CustomerEventPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 404, 503)},
)
def list_customer_events(
    customerId: uuid.UUID,  # noqa: N803
    request: Request,
    caller: ReaderDep,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Only the events that occurred at or before this time (ISO 8601)."),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JsonResponse:
    """The customer's event timeline from the log, newest first (by occurredAt): each event's
    id, type, times, source and a one-line summary with personal data masked."""
    services = caller.services
    customer_id = str(customerId)
    moment = None if until is None else in_utc(until, "until")
    events = newest_first(services.log.read_subject(customer_id, until=moment))
    if not events and services.log.subject_version(customer_id) == 0:
        raise Problem(404, f"no customer {customer_id} in the log")
    items = [timeline_view(e) for e in events[offset : offset + limit]]
    return paged_response(request, items, len(events), limit, offset)


@router.post(
    "/{customerId}/events",
    status_code=202,
    responses={
        202: event_receipt_doc(),
        **PROBLEMS(400, 401, 403, 413, 415, 503),
        **conflict_doc(),
    },
    openapi_extra=EVENT_BODY,
)
async def post_customer_event(
    customerId: uuid.UUID,  # noqa: N803
    request: Request,
    caller: WriterDep,
) -> JsonResponse:
    """Push a new event about a customer to the twin (202 once it is durably logged)."""
    return await ingest_one(
        request, caller, SubjectScope(SubjectKind.CUSTOMER, str(customerId), "the URL")
    )
