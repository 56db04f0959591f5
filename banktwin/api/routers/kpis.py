"""``/v1/kpis``: bank-wide figures kept by the KPI consumer of the log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from banktwin.api.deps import ReaderDep
from banktwin.api.kpi_schemas import KpisPublic
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.rendering import JsonResponse
from banktwin.domain.completeness import COMPLETENESS_TARGET
from banktwin.kpis.alert_rate import ALERT_RATE_FACTOR, AlertsInHour, FraudAlertRate
from banktwin.kpis.engine import KPI_CONSUMER
from banktwin.kpis.outcomes import RISK_BUCKETS, FraudOutcomes, RiskDistribution
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
        Query(
            ge=1,
            le=MAX_HOURS,
            description="Window of the hourly transactions, history and alerts raised.",
        ),
    ] = 48,
) -> JsonResponse:
    """Bank-wide KPIs: data completeness against the 95 % target, events per type and source
    per minute, transactions and amounts per channel per hour, open alerts by severity, the
    fraud-alert rate against its 7-day baseline, the alerts' outcomes and the distribution of
    the customers' risk scores."""
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
        "fraudAlertRate": alert_rate_view(report.fraud_alert_rate),
        "fraudOutcomes": outcomes_view(report.fraud_outcomes),
        "riskScores": risk_scores_view(report.risk_scores),
        "lag": lag,
    }


def outcomes_view(o: FraudOutcomes) -> dict[str, Any]:
    return {
        "raised": o.raised,
        "open": o.open,
        "confirmedFraud": o.confirmed_fraud,
        "falsePositives": o.false_positives,
        "closedWithoutVerdict": o.closed_without_verdict,
        "precision": o.precision,
        "countedSince": o.counted_since,
    }


def risk_scores_view(r: RiskDistribution) -> dict[str, Any]:
    return {
        "customers": r.customers,
        "buckets": [
            {"from": i / RISK_BUCKETS, "to": (i + 1) / RISK_BUCKETS, "customers": n}
            for i, n in enumerate(r.buckets)
        ],
        "countedSince": r.counted_since,
    }


def alert_rate_view(rate: FraudAlertRate) -> dict[str, Any]:
    return {
        "lastHour": alerts_in_hour_view(rate.last_hour),
        "currentHour": alerts_in_hour_view(rate.current_hour),
        "baseline": rate.baseline,
        "baselineHours": rate.baseline_hours,
        "baselineSince": rate.baseline_since,
        "ratio": rate.ratio,
        "threshold": float(ALERT_RATE_FACTOR),
        "exceeds": rate.exceeds,
        "perHour": [alerts_in_hour_view(h) for h in rate.per_hour],
    }


def alerts_in_hour_view(h: AlertsInHour) -> dict[str, Any]:
    return {"hour": h.hour, "alerts": h.alerts, "bySeverity": h.by_severity}
