"""``GET /v1/kpis`` on SQLite and PostgreSQL: what the KPI consumer keeps, read through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from banktwin.api.kpi_schemas import KpisPublic
from tests.factories import new_id
from tests.integration.conftest import Api


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
