"""``/v1/kpis``: bank-wide figures kept by the KPI consumer of the log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from banktwin.api.deps import ReaderDep
from banktwin.api.kpi_schemas import KpisPublic
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.rendering import JsonResponse
from banktwin.domain.completeness import COMPLETENESS_TARGET
from banktwin.kpis.engine import KPI_CONSUMER
from banktwin.kpis.reader import KpiReport

router = APIRouter(tags=["insights"])

MAX_HOURS = 24 * 90


@router.get("/kpis", response_model=KpisPublic, responses=PROBLEMS(400, 401, 403, 503))
def get_kpis(
    caller: ReaderDep,
    minutes: Annotated[
        int, Query(ge=1, le=1440, description="Window of the per-minute event counts.")
    ] = 60,
    hours: Annotated[
        int,
        Query(ge=1, le=MAX_HOURS, description="Window of the hourly transactions and history."),
    ] = 48,
) -> JsonResponse:
    """Bank-wide KPIs: data completeness against the 95 % target, events per type and source
    per minute, transactions and amounts per channel per hour, open alerts by severity."""
    services = caller.services
    now = services.clock()
    report = services.runtime.kpis.report(now, minutes=minutes, hours=hours)
    lag = services.runtime.consumers[KPI_CONSUMER].lag()
    return JsonResponse(kpis_view(report, now.isoformat(), lag))


def kpis_view(report: KpiReport, as_of: str, lag: int) -> dict[str, Any]:
    c = report.completeness
    return {
        "asOf": as_of,
        "dataCompleteness": {
            "percent": c.percent,
            "target": COMPLETENESS_TARGET,
            "meetsTarget": c.meets_target,
            "customers": c.customers,
            "completeCustomers": c.complete_customers,
        },
        "openAlerts": report.open_alerts,
        "events": report.events,
        "transactions": report.transactions,
        "eventsPerMinute": [
            {"minute": e.minute, "type": e.type, "source": e.source, "count": e.count}
            for e in report.events_per_minute
        ],
        "transactionsPerHour": [
            {
                "hour": t.hour,
                "channel": t.channel,
                "direction": t.direction,
                "currency": t.currency,
                "count": t.count,
                "amount": t.amount,
            }
            for t in report.transactions_per_hour
        ],
        "history": [
            {
                "hour": h.hour,
                "completenessPercent": h.completeness.percent,
                "customers": h.completeness.customers,
                "completeCustomers": h.completeness.complete_customers,
                "openAlerts": h.open_alerts,
            }
            for h in report.history
        ],
        "lag": lag,
    }
