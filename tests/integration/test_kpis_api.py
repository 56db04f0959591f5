"""``GET /v1/kpis`` on SQLite and PostgreSQL: what the KPI consumer keeps, read through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.kpi_schemas import KpisPublic
from banktwin.config import Settings
from banktwin.runtime import Runtime
from tests.factories import new_id
from tests.integration.conftest import Api, token_for

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
"""The current hour of the clock of ``api_at_half_past``: in the past, whenever the test runs."""


def post(api: Api, customer: str, body: dict[str, object]) -> None:
    r = api.post(f"/v1/customers/{customer}/events", json=body)
    assert r.status_code == 202, r.text


def test_kpis_count_completeness_events_transactions_and_alerts(api: Api) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    full, partial = new_id(), new_id()
    post(
        api,
        full,
        {
            "type": "customer.registered",
            "occurredAt": now.isoformat(),
            "payload": {
                "name": "Jane Doe",
                "dob": "1986-07-12",
                "email": "jane@example.com",
                "address": "1 Main St",
                "phone": "+1 555 0100",
            },
        },
    )
    post(api, full, {"type": "credit.score_received", "payload": {"score": 720, "bureau": "X"}})
    post(
        api,
        full,
        {
            "type": "account.opened",
            "payload": {"accountId": "A1", "type": "checking", "currency": "EUR"},
        },
    )
    post(api, partial, {"type": "customer.registered", "payload": {"name": "No Details"}})
    for amount in ("10.10", "5.25"):
        post(
            api,
            full,
            {
                "type": "transaction.posted",
                "source": "card-switch",
                "payload": {
                    "transactionId": f"T{amount}",
                    "accountId": "A1",
                    "amount": amount,
                    "currency": "EUR",
                    "channel": "ecommerce",
                },
            },
        )
    alert_id = new_id()
    post(
        api,
        full,
        {
            "type": "fraud.alert_raised",
            "payload": {"alertId": alert_id, "transactionId": "T10.10", "severity": "high"},
        },
    )
    api.project()

    r = api.get("/v1/kpis", who="reader", params={"minutes": 5, "hours": 2})
    assert r.status_code == 200, r.text
    KpisPublic.model_validate(r.json())
    body = r.json()
    # full: 8 of 8 facts; partial: name and consent, 2 of 8 -> (8 + 2) / 16 = 62.5 %
    assert body["dataCompleteness"] == {
        "percent": 62.5,
        "target": 95.0,
        "meetsTarget": False,
        "customers": 2,
        "completeCustomers": 1,
    }
    assert body["events"] == 7 and body["transactions"] == 2 and body["lag"] == 0
    assert body["openAlerts"] == {"low": 0, "medium": 0, "high": 1, "critical": 0}
    counted = {(e["type"], e["source"]): e["count"] for e in body["eventsPerMinute"]}
    assert counted[("transaction.posted", "card-switch")] == 2
    assert sum(counted.values()) == 7
    [sums] = body["transactionsPerHour"]
    assert (sums["channel"], sums["direction"], sums["currency"], sums["count"]) == (
        "ecommerce",
        "debit",
        "EUR",
        2,
    )
    assert Decimal(str(sums["amount"])) == Decimal("15.35")
    assert body["history"][-1]["completenessPercent"] == 62.5


def test_kpis_need_the_read_scope_and_refuse_bad_windows(api: Api) -> None:
    assert api.client.get("/v1/kpis").status_code == 401
    assert api.get("/v1/kpis", who="writer").status_code == 403
    r = api.get("/v1/kpis", params={"minutes": 0})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/kpis", params={"hours": 24 * 91}).status_code == 400


def test_an_empty_bank_has_zero_kpis(api: Api) -> None:
    body = api.get("/v1/kpis").json()
    assert body["dataCompleteness"]["customers"] == 0
    assert body["dataCompleteness"]["meetsTarget"] is False
    assert body["eventsPerMinute"] == [] and body["history"] == []
    assert datetime.fromisoformat(body["asOf"]) > datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture
def api_at_half_past(settings: Settings) -> Iterator[Api]:
    """The API with its clock stopped at ``HOUR`` + 30 minutes."""
    runtime = Runtime(settings)
    app = create_app(settings, runtime=runtime, clock=lambda: HOUR + timedelta(minutes=30))
    with TestClient(app) as client:
        tokens = {who: token_for(client, who) for who in ("admin", "reader")}
        yield Api(client, runtime, tokens)
    runtime.close()


def test_the_fraud_alert_rate_against_its_baseline(api_at_half_past: Api) -> None:
    """Data since 4 hours before the current one: a baseline of 3 hours (1 + 2 alerts, 1.0 an
    hour); 3 alerts in the last full hour (one raised twice) are 3x the baseline."""
    api = api_at_half_past
    cid = new_id()

    def at(hours: int, minutes: int) -> str:
        return (HOUR + timedelta(hours=hours, minutes=minutes)).isoformat()

    post(
        api, cid, {"type": "customer.registered", "occurredAt": at(-4, 5), "payload": {"name": "J"}}
    )
    repeated = new_id()
    raised = [
        (at(-3, 10), new_id(), "low"),
        (at(-2, 10), new_id(), "high"),
        (at(-2, 20), new_id(), "high"),
        (at(-1, 5), repeated, "critical"),
        (at(-1, 15), repeated, "critical"),  # the same alert: counted once
        (at(-1, 25), new_id(), "high"),
        (at(-1, 35), new_id(), "medium"),
        (at(0, 10), new_id(), "low"),
    ]
    for occurred, alert_id, severity in raised:
        payload = {"alertId": alert_id, "transactionId": "T1", "severity": severity}
        post(api, cid, {"type": "fraud.alert_raised", "occurredAt": occurred, "payload": payload})
    api.project()

    r = api.get("/v1/kpis", who="reader", params={"hours": 5})
    assert r.status_code == 200, r.text
    KpisPublic.model_validate(r.json())
    rate = r.json()["fraudAlertRate"]
    key = HOUR.strftime("%Y-%m-%dT%H")
    last = (HOUR - timedelta(hours=1)).strftime("%Y-%m-%dT%H")
    assert rate["lastHour"] == {
        "hour": last,
        "alerts": 3,
        "bySeverity": {"low": 0, "medium": 1, "high": 1, "critical": 1},
    }
    assert (rate["currentHour"]["hour"], rate["currentHour"]["alerts"]) == (key, 1)
    assert rate["baseline"] == 1.0 and rate["baselineHours"] == 3
    assert rate["baselineSince"] == (HOUR - timedelta(hours=4)).strftime("%Y-%m-%dT%H")
    assert (rate["ratio"], rate["threshold"], rate["exceeds"]) == (3.0, 2.0, True)
    assert [h["alerts"] for h in rate["perHour"]] == [0, 1, 2, 3, 1]
    assert rate["perHour"][-1]["hour"] == key


def test_an_empty_bank_has_no_fraud_alert_baseline(api: Api) -> None:
    rate = api.get("/v1/kpis", params={"hours": 3}).json()["fraudAlertRate"]
    assert (rate["baseline"], rate["baselineHours"], rate["baselineSince"]) == (0.0, 0, None)
    assert (rate["ratio"], rate["exceeds"]) == (None, False)
    assert [h["alerts"] for h in rate["perHour"]] == [0, 0, 0]


def test_the_openapi_document_describes_the_fraud_alert_rate(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "fraudAlertRate" in schemas["KpisPublic"]["properties"]
    rate = schemas["FraudAlertRatePublic"]["properties"]
    assert {"lastHour", "currentHour", "baseline", "baselineHours", "ratio", "exceeds"} <= set(rate)
