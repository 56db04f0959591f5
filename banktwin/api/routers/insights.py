"""``/v1/risk-scores``: the risk model's latest score of a customer (fraud alerts have a
router of their own, :mod:`banktwin.api.routers.fraud_alerts`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from banktwin.api.deps import ReaderDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.problems import Problem
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import RiskScorePublic
from banktwin.api.views import risk_view

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
