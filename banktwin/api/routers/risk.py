"""The risk model beyond its latest scores: what-if (``POST /v1/risk-scores/{customerId}/
what-if``) and drift (``GET /v1/admin/models/{name}/drift``), from what the risk engine keeps
(:mod:`banktwin.risk.serving`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from banktwin.api.admin_schemas import body_schema
from banktwin.api.body import JSON, read_body, require_media_type
from banktwin.api.deps import AdminDep, ReaderDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.problems import Problem, field_errors, invalid
from banktwin.api.rendering import JsonResponse
from banktwin.api.risk_schemas import ModelDriftPublic, WhatIfIn, WhatIfPublic
from banktwin.intake import FieldError
from banktwin.intake.json_input import parse_json
from banktwin.registry.port import RISK_MODEL

router = APIRouter(tags=["insights"])

WHAT_IF_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {JSON: {"schema": body_schema(WhatIfIn)}}}
}
HISTORY_DAYS = 30


@router.post(
    "/risk-scores/{customerId}/what-if",
    response_model=WhatIfPublic,
    responses=PROBLEMS(400, 401, 403, 404, 413, 415, 503),
    openapi_extra=WHAT_IF_BODY,
)
async def what_if_score(
    customerId: uuid.UUID,  # noqa: N803 - the seed's path parameter name
    request: Request,
    caller: ReaderDep,
) -> JsonResponse:
    """The customer's risk score with some features changed ("balance -20 %", "credit score
    600"), beside the score they have; nothing in the twin changes. 404 before the customer's
    first score; 503 while no model serves."""
    from banktwin.risk.serving import RiskReader, WhatIfError, what_if

    services = caller.services
    require_media_type(request, (JSON,))
    body = await read_body(request, services.settings.max_event_bytes)
    try:
        asked = WhatIfIn.model_validate(parse_json(body))
    except ValidationError as exc:
        raise invalid(field_errors(exc.errors()), "what-if") from None
    customer_id = str(customerId)
    runtime = services.runtime
    record = await run_in_threadpool(RiskReader(runtime.kv).score, customer_id)
    if record is None:
        raise Problem(404, f"customer {customer_id} has not been scored yet")
    serving = await run_in_threadpool(runtime.risk_model().current)
    if serving is None:
        raise Problem(503, f"no {RISK_MODEL} model serves yet", headers={"Retry-After": "30"})
    try:
        result = what_if(record, asked.overrides, serving)
    except WhatIfError as exc:
        field = f"overrides.{exc.feature}"
        raise invalid([FieldError(field, str(exc))], "what-if") from None
    return JsonResponse(
        {
            "customerId": customer_id,
            "modelVersion": result.model_version,
            "score": result.score,
            "baselineScore": result.baseline,
            "baselineModelVersion": record.model_version,
            "scoredAt": record.scored_at.isoformat().replace("+00:00", "Z"),
            "changes": [
                {"feature": name, "before": before, "after": after}
                for name, (before, after) in result.changed.items()
            ],
            "reasons": [
                {"feature": name, "contribution": value, "value": result.features.get(name)}
                for name, value in result.reasons
            ],
        }
    )


@router.get(
    "/admin/models/{name}/drift",
    response_model=ModelDriftPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
    tags=["admin"],
)
def model_drift(name: str, caller: AdminDep) -> JsonResponse:
    """A served model's drift: each day's population stability index (PSI) of its score and
    of each feature against the training data, the latest first; a day above the threshold
    (the seed's 10 %) has drifted and fires the `model_drift` operational alert. 404 before
    the first day is measured."""
    from banktwin.risk.serving import RiskReader

    if name != RISK_MODEL:
        raise Problem(404, f"no drift is measured for {name!r}; it is measured for {RISK_MODEL}")
    reader = RiskReader(caller.services.runtime.kv)
    latest = reader.latest_drift()
    if latest is None:
        raise Problem(404, f"no day of {RISK_MODEL} scores has been measured yet")
    history = reader.drift_history(latest.model_version, HISTORY_DAYS)

    def day(record: Any) -> dict[str, Any]:
        return {
            "day": record.day.isoformat(),
            "modelVersion": record.model_version,
            "rows": record.rows,
            "scorePsi": record.score_psi,
            "features": record.features,
            "worstInput": record.worst_input,
            "worstPsi": record.worst_psi,
            "drifted": record.drifted,
        }

    return JsonResponse(
        {
            "modelName": RISK_MODEL,
            "modelVersion": latest.model_version,
            "threshold": latest.threshold,
            "latest": day(latest),
            "history": [day(r) for r in history],
        }
    )
