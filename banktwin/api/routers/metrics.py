"""``GET /metrics``: Prometheus metrics, in the text format.

Open without a token, like ``/healthz``, so it holds nothing personal: labels come from small
closed sets (route templates, event types, client ids, consumer names, job names), never an id,
a name or a card. What each metric means: ``docs/operations.md``, "Metrics"."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from banktwin.api.deps import ServicesDep
from banktwin.observability.collectors import (
    ConsumerCollector,
    DeadLetterCollector,
    KpiCollector,
)
from banktwin.observability.exposition import CONTENT_TYPE, render_metrics

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics, in the Prometheus text format (version 0.0.4).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: requests, events appended and applied, consumer lag, fraud scoring,
    KPIs, dead letters (what the consumer processes counted included)."""
    runtime = services.runtime
    now = services.clock()
    consumers = {name: runtime.consumers[name] for name in runtime.selected}
    body = render_metrics(
        [
            ConsumerCollector(consumers, now),
            KpiCollector(runtime.kpis, now),
            DeadLetterCollector(lambda: runtime.dead_letters, now),
        ]
    )
    return Response(body, media_type=CONTENT_TYPE)
