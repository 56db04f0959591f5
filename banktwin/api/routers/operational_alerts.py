"""``/v1/alerts``: the operational alerts (lag, stalls, fraud-alert rate, drift) that fired,
firing now or resolved, as the alert evaluator recorded them (:mod:`banktwin.alerting`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from banktwin.alerting.reader import AlertReader
from banktwin.api.deps import ReaderDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.ops_alert_schemas import OperationalAlertDetailPublic, OperationalAlertPublic
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem
from banktwin.api.rendering import JsonResponse

router = APIRouter(prefix="/alerts", tags=["operations"])


@router.get(
    "",
    response_model=list[OperationalAlertPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_alerts(
    request: Request,
    caller: ReaderDep,
    status: Annotated[
        Literal["firing", "resolved"] | None,
        Query(description="Only the alerts firing now, or only those resolved."),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JsonResponse:
    """Operational alerts, newest first: each firing of a threshold (ingestion lag over 5
    minutes, a stalled consumer, a fraud-alert rate over twice its baseline, model drift over
    10 %) and its resolution."""
    items, total = AlertReader(caller.services.runtime.kv).page(
        status=status, limit=limit, offset=offset
    )
    return paged_response(request, items, total, limit, offset)


@router.get(
    "/{alertId}",
    response_model=OperationalAlertDetailPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_alert(alertId: uuid.UUID, caller: ReaderDep) -> JsonResponse:  # noqa: N803 - wire name
    """One operational alert, with its deliveries to webhooks (each attempt's outcome)."""
    alert = AlertReader(caller.services.runtime.kv).get(str(alertId))
    if alert is None:
        raise Problem(404, f"no operational alert {alertId}")
    return JsonResponse(alert)
