"""``/v1/risk-scores`` and ``/v1/fraud-alerts``: the twin's derived facts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from banktwin.api.deps import ReaderDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import FraudAlertPublic, RiskScorePublic
from banktwin.api.views import alert_view, risk_view
from banktwin.domain.payloads.insight import AlertStatus

router = APIRouter(tags=["insights"])


@router.get(
    "/risk-scores/{customerId}",
    response_model=RiskScorePublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_risk_score(
    customerId: uuid.UUID,  # noqa: N803 - the seed's path parameter name
    caller: ReaderDep,
) -> JsonResponse:
    """Latest AI risk score of a customer, with its model version and explanation."""
    services = caller.services
    customer_id = str(customerId)
    customer = services.store.customer(customer_id)
    if customer is None:
        raise Problem(404, f"no customer {customer_id} in the twin")
    if customer.risk is None:
        raise Problem(404, f"customer {customer_id} has not been scored yet")
    return JsonResponse(risk_view(customer_id, customer.risk))


@router.get(
    "/fraud-alerts",
    response_model=list[FraudAlertPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_fraud_alerts(
    request: Request,
    caller: ReaderDep,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this status.")] = None,
) -> JsonResponse:
    """List recent fraud alerts, newest first (total in X-Total-Count, pages in Link)."""
    services = caller.services
    page = services.store.fraud_alerts(status.value if status else None, limit, offset)
    return paged_response(request, [alert_view(a) for a in page.items], page.total, limit, offset)
