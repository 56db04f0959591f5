"""``/v1/fraud-alerts``: the alerts, one alert with its lifecycle, and analysts' status changes.

The list reads the alerts table. One alert, and every status change, is read from the log (the
customer's events: the alert's raise and status changes), never from the twin, which may lag:
a change is decided on what the log holds and appended on the condition that the customer has
not moved since (an expected-version append), so two analysts never both change one alert
from the same state. The alert's ``ETag`` names its version in the log; ``If-Match`` makes a
change conditional on it.

An alert is found through its row in the alerts table, which names its customer: an alert
raised a moment ago is a 404 until the projector has applied its raise (``/readyz`` shows the
lag).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, ValidationError

from banktwin.api.alert_schemas import (
    AlertStatusChangeIn,
    FraudAlertDetailPublic,
    FraudAlertStatePublic,
)
from banktwin.api.body import JSON, read_body, require_media_type
from banktwin.api.deps import ReaderDep, Services, WriterDep
from banktwin.api.openapi_docs import PROBLEMS, REF
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.preconditions import etag_header_doc, if_match_allows, strong_etag
from banktwin.api.problems import (
    PROBLEM_JSON,
    Problem,
    field_errors,
    in_utc,
    invalid,
    version_conflict,
)
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import FraudAlertPublic
from banktwin.api.views import alert_context_view, alert_state_view, alert_view, transaction_view
from banktwin.domain.alert_lifecycle import (
    AlertHistory,
    ChangeRequest,
    IllegalTransition,
    alert_history,
    decide_change,
    replayed,
)
from banktwin.domain.payloads.insight import AlertStatus, Severity
from banktwin.errors import VersionConflictError
from banktwin.intake.json_input import parse_json
from banktwin.store.port import AlertQuery

router = APIRouter(prefix="/fraud-alerts", tags=["insights"])

CHANGE_ATTEMPTS = 5
"""Reads and decisions a status change makes when its customer's other events keep moving
the customer's version between the read and the append."""
RECENT_CONTEXT = 10
"""The customer's newest transactions shown beside an alert."""
MAX_ANALYST = 200  # the payload's ShortText

CHANGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"$ref": REF.format(model="AlertStatusChangeIn")}}},
    }
}
CHANGE_CONFLICT_DOC: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Illegal transition (the alert's status does not lead to the one asked "
        "for), or the customer's events kept moving while the change was decided; nothing "
        "was logged.",
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "anyOf": [
                        {"$ref": REF.format(model="IllegalTransitionProblemPublic")},
                        {"$ref": REF.format(model="VersionConflictProblemPublic")},
                    ]
                }
            }
        },
    },
    412: {
        "description": "Precondition Failed: the alert moved since the ETag in If-Match was "
        "read; nothing was logged. The ETag header gives its current one.",
        "headers": etag_header_doc("the alert as it is now", required=False),
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="ProblemPublic")}}},
    },
}


def _not_found(alert_id: str) -> Problem:
    return Problem(404, f"no fraud alert {alert_id} in the twin")


# --- the list -----------------------------------------------------------------------------


@router.get(
    "",
    response_model=list[FraudAlertPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_fraud_alerts(
    request: Request,
    caller: ReaderDep,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this status.")] = None,
    severity: Annotated[Severity | None, Query(description="Only alerts of this severity.")] = None,
    customerId: Annotated[  # noqa: N803 - the wire's name
        uuid.UUID | None, Query(description="Only the alerts about this customer.")
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only alerts raised at or after this time (ISO 8601 with offset)."),
    ] = None,
) -> JsonResponse:
    """List fraud alerts, newest raised first (then by id), optionally filtered; the total
    in X-Total-Count, pages in Link."""
    query = AlertQuery(
        status=None if status is None else status.value,
        severity=None if severity is None else severity.value,
        customer_id=None if customerId is None else str(customerId),
        raised_since=None if since is None else in_utc(since, "since"),
    )
    page = caller.services.store.fraud_alerts(query, limit, offset)
    return paged_response(request, [alert_view(a) for a in page.items], page.total, limit, offset)


# --- one alert ------------------------------------------------------------------------------


def _read(services: Services, alert_id: str) -> tuple[AlertHistory, int]:
    """The alert as the log holds it, and its customer's version in the log (the events
    read), for an expected-version append."""
    row = services.store.fraud_alert(alert_id)
    if row is None:
        raise _not_found(alert_id)
    events = [logged.event for logged in services.log.read_subject(row.customer_id)]
    history = alert_history(alert_id, events)
    if history is None:  # a twin not built from this log: nothing to decide on
        raise _not_found(alert_id)
    return history, len(events)


def _answer(history: AlertHistory, view: dict[str, Any]) -> JsonResponse:
    return JsonResponse(
        view, headers={"ETag": strong_etag(history.alert.alert_id, history.version)}
    )


@router.get(
    "/{alertId}",
    response_model=FraudAlertDetailPublic,
    responses={
        200: {"headers": etag_header_doc("the alert", required=True)},
        **PROBLEMS(400, 401, 403, 404, 503),
    },
)
def get_fraud_alert(
    alertId: uuid.UUID,  # noqa: N803 - the wire's name
    caller: ReaderDep,
) -> JsonResponse:
    """One fraud alert as the log holds it (status, version, history; its ETag), with its
    transaction and the customer's recent context from the twin."""
    services = caller.services
    history, _ = _read(services, str(alertId))
    alert = history.alert
    store = services.store
    customer = store.customer(alert.customer_id)
    transaction = store.transaction(alert.customer_id, alert.transaction_id)
    context = None
    if customer is not None:
        recent = store.recent_transactions(alert.customer_id, RECENT_CONTEXT)
        context = alert_context_view(customer, recent)
    view = {
        **alert_state_view(history),
        "transaction": None if transaction is None else transaction_view(transaction),
        "customer": context,
    }
    return _answer(history, view)


# --- status changes ---------------------------------------------------------------------------


def _change_request(body: bytes, client_id: str) -> ChangeRequest:
    try:
        change = AlertStatusChangeIn.model_validate(parse_json(body))
    except ValidationError as exc:
        raise invalid(field_errors(exc.errors()), "status change") from None
    analyst = change.analyst or client_id[:MAX_ANALYST]
    return ChangeRequest(AlertStatus(change.status), analyst, change.note)


def _illegal(exc: IllegalTransition) -> Problem:
    return Problem(
        409,
        f"{exc}. Nothing was logged; the lifecycle is open → investigating → "
        "confirmed_fraud | false_positive → closed.",
        type="/problems/illegal-transition",
        title="Illegal status change",
        extensions={
            "alertId": exc.alert_id,
            "currentStatus": exc.current.value,
            "requestedStatus": exc.requested.value,
            "allowed": [s.value for s in exc.allowed],
        },
    )


def _still_moving(conflict: VersionConflictError) -> Problem:
    return version_conflict(
        conflict,
        f"customer {conflict.subject_id}'s events kept being logged while the change was "
        f"decided ({CHANGE_ATTEMPTS} attempts). Nothing was logged; send the request again.",
    )


@router.patch(
    "/{alertId}",
    response_model=FraudAlertStatePublic,
    responses={
        200: {
            "description": "The change is logged (or was: a retried request); the alert as "
            "decided, with its new ETag.",
            "headers": etag_header_doc("the alert", required=True),
        },
        **PROBLEMS(400, 401, 403, 404, 413, 415, 503),
        **CHANGE_CONFLICT_DOC,
    },
    openapi_extra=CHANGE_BODY,
)
async def change_fraud_alert_status(
    alertId: uuid.UUID,  # noqa: N803 - the wire's name
    request: Request,
    caller: WriterDep,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag the decision was made on (from GET): the change is made "
            "only if the alert is still at it, else 412. Optional, and recommended: without "
            "it, the change is checked against the alert's current status only. `*` matches "
            "any version.",
        ),
    ] = None,
) -> JsonResponse:
    """Move a fraud alert along its lifecycle (open → investigating → confirmed_fraud |
    false_positive → closed), with who and why; 409 for an illegal step, 412 if If-Match is
    stale; nothing is logged in either case."""
    services = caller.services
    require_media_type(request, (JSON,))
    body = await read_body(request, services.settings.max_event_bytes)
    client_id = caller.principal.client_id
    change = _change_request(body, client_id)
    alert_id = str(alertId)
    conflict: VersionConflictError | None = None
    for _ in range(CHANGE_ATTEMPTS):
        history, version_read = await run_in_threadpool(_read, services, alert_id)
        before = strong_etag(alert_id, history.version - 1)
        if replayed(history, change) and if_match_allows(if_match, before):
            return _answer(history, alert_state_view(history))  # a retry of a logged change
        current = strong_etag(alert_id, history.version)
        if not if_match_allows(if_match, current):
            raise Problem(
                412,
                f"alert {alert_id} is at {current}, which If-Match does not name: it changed "
                "since it was read. Nothing was logged; read it again (GET) and decide again.",
                headers={"ETag": current},
            )
        try:
            decision = decide_change(history, change, now=services.clock(), source=client_id)
        except IllegalTransition as exc:
            raise _illegal(exc) from None
        try:
            await services.committer.append(
                decision.events, expected={history.alert.customer_id: version_read}
            )
        except VersionConflictError as exc:  # the customer moved: did the alert? Read again
            conflict = exc
            continue
        return _answer(decision.after, alert_state_view(decision.after))
    assert conflict is not None
    raise _still_moving(conflict)
