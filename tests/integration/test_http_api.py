"""The REST API end to end over HTTP (TestClient), on a real SQLite log and store."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from banktwin.api.schemas import (
    BatchReceiptPublic,
    BranchStatePublic,
    CustomerPublic,
    FraudAlertPublic,
    ReadinessPublic,
    ReceiptPublic,
    RiskScorePublic,
    TransactionPublic,
)
from banktwin.domain.events import EVENT_TYPES
from banktwin.errors import UnavailableError, VersionConflictError
from banktwin.log.group_commit import GroupCommitter
from tests.factories import registered
from tests.integration.conftest import Api

JSON_HEADERS = {"Content-Type": "application/json"}


def new_id() -> str:
    return str(uuid.uuid4())


def txn(amount: str, minutes: int = 0, **extra: Any) -> dict[str, Any]:
    at = datetime(2025, 9, 15, 14, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return {
        "type": "transaction.posted",
        "occurredAt": at.isoformat(),
        "payload": {
            "transactionId": f"TX{uuid.uuid4().hex[:10]}",
            "accountId": "ACC123",
            "amount": amount,
            "currency": "EUR",
            "channel": "card_present",
            "merchant": "Grocer",
            "location": {"country": "DE", "city": "Berlin"},
            **extra,
        },
    }


def seed_customer(api: Api, cid: str, transactions: int = 0) -> None:
    events = [
        {
            "type": "customer.registered",
            "occurredAt": "2025-09-01T09:00:00Z",
            "payload": {"name": "Jane Doe", "dob": "1986-07-12", "email": "jane@example.com"},
        },
        {
            "type": "account.opened",
            "occurredAt": "2025-09-01T09:05:00Z",
            "payload": {
                "accountId": "ACC123",
                "type": "checking",
                "currency": "EUR",
                "balance": 14523.50,
            },
        },
        {
            "type": "account.opened",
            "occurredAt": "2025-09-01T09:06:00Z",
            "payload": {
                "accountId": "ACC456",
                "type": "savings",
                "currency": "EUR",
                "balance": "9820.00",
            },
        },
    ] + [txn(f"{i + 1}.00", minutes=i) for i in range(transactions)]
    for e in events:
        r = api.post(f"/v1/customers/{cid}/events", json=e)
        assert r.status_code == 202, r.text
    api.project()


# --- the seed's endpoints -------------------------------------------------------------------


def test_get_customer_has_the_seed_example_shape(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid)
    r = api.get(f"/v1/customers/{cid}")
    assert r.status_code == 200
    body = r.json()
    assert list(body)[:6] == ["customerId", "name", "dob", "accounts", "riskScore", "lastUpdated"]
    assert body["customerId"] == cid and body["name"] == "Jane Doe" and body["dob"] == "1986-07-12"
    first = body["accounts"][0]
    assert (first["accountId"], first["balance"], first["type"]) == ("ACC123", 14523.5, "checking")
    assert body["riskScore"] is None and body["lastUpdated"] == "2025-09-01T09:06:00Z"
    assert b'"balance":14523.50' in r.content  # money is an exact JSON number
    CustomerPublic.model_validate(body)


def test_unknown_and_malformed_ids(api: Api) -> None:
    r = api.get(f"/v1/customers/{new_id()}")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404 and "no customer" in r.json()["detail"]
    r = api.get("/v1/customers/not-a-uuid")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "customerId"
    assert api.get(f"/v1/branches/{new_id()}/state").status_code == 404
    assert api.get(f"/v1/risk-scores/{new_id()}").status_code == 404


def test_post_event_is_202_and_idempotent_by_event_id(api: Api) -> None:
    cid, eid = new_id(), new_id()
    body = {"eventId": eid, "type": "customer.registered", "payload": {"name": "A"}}
    first = api.post(f"/v1/customers/{cid}/events", json=body)
    assert first.status_code == 202
    ReceiptPublic.model_validate(first.json())
    assert first.json()["eventId"] == eid and first.json()["duplicate"] is False
    again = api.post(f"/v1/customers/{cid}/events", json=body)
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert again.json()["offset"] == first.json()["offset"]
    assert api.logged() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "type": "transaction.posted",
                "payload": {
                    "accountId": "A",
                    "amount": "-5",
                    "currency": "EUR",
                    "channel": "atm",
                    "transactionId": "T",
                },
            },
            "payload.amount",
        ),
        ({"type": "customer.teleported", "payload": {}}, "type"),
        ({"type": "branch.opened", "payload": {}}, "type"),
        ({"type": "loan.sla_breached", "payload": {}}, "type"),
        ({"type": "customer.registered", "payload": {"name": "A"}, "extra": 1}, "extra"),
        (
            {"type": "customer.registered", "payload": {"name": "A", "shoeSize": 9}},
            "payload.shoeSize",
        ),
        ({"type": "customer.registered", "version": 7, "payload": {"name": "A"}}, "version"),
        (
            {
                "type": "customer.registered",
                "occurredAt": "2999-01-01T00:00:00Z",
                "payload": {"name": "A"},
            },
            "occurredAt",
        ),
        (
            {
                "type": "customer.registered",
                "occurredAt": "2025-01-01T00:00:00",
                "payload": {"name": "A"},
            },
            "occurredAt",
        ),
        (
            {"type": "customer.login", "payload": {"channel": "mobile"}, "subjectId": "x"},
            "subjectId",
        ),
        ([1, 2], "body"),
    ],
)
def test_invalid_events_get_400_naming_the_field_and_never_reach_the_log(
    api: Api, body: Any, field: str
) -> None:
    r = api.post(f"/v1/customers/{new_id()}/events", json=body)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "/problems/validation-error" and problem["status"] == 400
    assert problem["errors"][0]["field"] == field
    assert field in problem["detail"] and "Traceback" not in r.text
    assert api.logged() == 0


def test_an_event_posted_to_the_wrong_kind_of_subject_names_its_endpoint(api: Api) -> None:
    r = api.post(f"/v1/customers/{new_id()}/events", json={"type": "queue.joined", "payload": {}})
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "type"
    assert "/v1/branches/{id}/events" in error["message"]
    r = api.post(f"/v1/branches/{new_id()}/events", json={"type": "customer.login", "payload": {}})
    assert r.status_code == 400, r.text
    assert "/v1/customers/{id}/events" in r.json()["errors"][0]["message"]


def test_malformed_json_wrong_type_and_oversized_bodies(api: Api) -> None:
    url = f"/v1/customers/{new_id()}/events"
    r = api.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["type"] == "/problems/malformed-json"
    r = api.post(url, content=b"name=A", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    big = {"type": "customer.registered", "payload": {"name": "A" * 5000}}
    r = api.post(url, json=big)
    assert r.status_code == 413 and r.json()["title"] == "Content Too Large"
    assert api.logged() == 0


def test_transactions_are_newest_first_with_total_and_links(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=7)
    r = api.get(f"/v1/customers/{cid}/transactions?limit=3&offset=3")
    assert r.status_code == 200
    items = r.json()
    assert [t["amount"] for t in items] == [4.0, 3.0, 2.0]
    for t in items:
        TransactionPublic.model_validate(t)
    assert r.headers["X-Total-Count"] == "7"
    link = r.headers["Link"]
    assert 'offset=6>; rel="next"' in link and 'offset=0>; rel="prev"' in link
    past_the_end = api.get(f"/v1/customers/{cid}/transactions?limit=3&offset=100")
    assert past_the_end.json() == []
    assert 'offset=6>; rel="prev"' in past_the_end.headers["Link"]  # the last page
    assert 'rel="next"' not in past_the_end.headers["Link"]
    assert api.get(f"/v1/customers/{new_id()}/transactions").status_code == 404
    assert api.get(f"/v1/customers/{cid}/transactions?limit=5000").status_code == 400


def test_balances_follow_transactions(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=3)
    body = api.get(f"/v1/customers/{cid}").json()
    assert body["accounts"][0]["balance"] == pytest.approx(14523.50 - 6)
    assert body["transactionCount"] == 3
    assert [t["amount"] for t in body["recentTransactions"]] == [3.0, 2.0, 1.0]


def test_a_profile_shows_the_twenty_newest_transactions(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=23)
    body = api.get(f"/v1/customers/{cid}").json()
    assert body["transactionCount"] == 23
    amounts = [t["amount"] for t in body["recentTransactions"]]
    assert amounts == [float(n) for n in range(23, 3, -1)]
    CustomerPublic.model_validate(body)


def test_as_of_shows_the_past(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=3)
    r = api.get(f"/v1/customers/{cid}", params={"asOf": "2025-09-15T14:01:30Z"})
    assert r.status_code == 200
    body = r.json()
    assert body["accounts"][0]["balance"] == pytest.approx(14523.50 - 3)
    assert body["transactionCount"] == 2
    assert [t["amount"] for t in body["recentTransactions"]] == [2.0, 1.0]
    assert (
        api.get(f"/v1/customers/{cid}", params={"asOf": "2020-01-01T00:00:00Z"}).status_code == 404
    )
    assert api.get(f"/v1/customers/{cid}", params={"asOf": "yesterday"}).status_code == 400
    naive = api.get(f"/v1/customers/{cid}", params={"asOf": "2025-09-15T14:00:00"})
    assert naive.status_code == 400 and naive.json()["errors"][0]["field"] == "asOf"


def test_risk_score_and_fraud_alerts_read_what_the_log_says(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid)
    assert api.get(f"/v1/risk-scores/{cid}").status_code == 404
    alerts = [new_id() for _ in range(3)]
    events = [
        {
            "type": "risk.score_updated",
            "subjectId": cid,
            "payload": {"scoreId": new_id(), "score": 0.78, "modelVersion": "RiskScore_v1"},
        }
    ]
    events += [
        {
            "type": "fraud.alert_raised",
            "subjectId": cid,
            "occurredAt": f"2025-09-15T14:0{i}:00Z",
            "payload": {"alertId": a, "transactionId": f"TX{i}", "severity": "high"},
        }
        for i, a in enumerate(alerts)
    ]
    events += [
        {
            "type": "fraud.alert_status_changed",
            "subjectId": cid,
            "occurredAt": "2025-09-15T15:00:00Z",
            "payload": {"alertId": alerts[0], "status": "confirmed_fraud"},
        }
    ]
    r = api.post("/v1/events", json=events)
    assert r.status_code == 202, r.text
    BatchReceiptPublic.model_validate(r.json())
    api.project()
    risk = api.get(f"/v1/risk-scores/{cid}").json()
    RiskScorePublic.model_validate(risk)
    assert risk["score"] == 0.78 and risk["modelVersion"] == "RiskScore_v1"
    assert api.get(f"/v1/customers/{cid}").json()["riskScore"] == 0.78
    page = api.get("/v1/fraud-alerts?limit=2")
    assert page.headers["X-Total-Count"] == "3"
    assert [a["alertId"] for a in page.json()] == [alerts[2], alerts[1]]
    for a in page.json():
        FraudAlertPublic.model_validate(a)
    confirmed = api.get("/v1/fraud-alerts?status=confirmed_fraud").json()
    assert [a["alertId"] for a in confirmed] == [alerts[0]]
    bad = api.get("/v1/fraud-alerts?status=maybe")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"


def test_fraud_reports_are_counted_once_per_transaction_and_kind(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid)
    reported = {"transactionId": "TX1", "accountId": "ACC123", "kind": "dispute"}
    events = [
        {
            "type": "fraud.reported",
            "occurredAt": f"2025-09-2{day}T10:00:00+02:00",
            "payload": {**reported, **extra},
        }
        for day, extra in [
            (1, {"transactionOccurredAt": "2025-09-15T14:00:00Z", "reasonCode": "lost_card"}),
            (0, {}),  # the same report again (as a source re-sending it would)
            (3, {"kind": "chargeback", "cardToken": "tok_0123456789"}),
        ]
    ]
    for e in events:
        r = api.post(f"/v1/customers/{cid}/events", json=e)
        assert r.status_code == 202, r.text
    api.project()
    body = api.get(f"/v1/customers/{cid}").json()
    CustomerPublic.model_validate(body)
    assert body["fraudReportCount"] == 2
    assert body["lastFraudReportAt"] == "2025-09-23T08:00:00Z"
    naive = {**events[0], "payload": {**reported, "transactionOccurredAt": "2025-09-15T14:00"}}
    r = api.post(f"/v1/customers/{cid}/events", json=naive)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "payload.transactionOccurredAt"


def test_batch_accepts_ndjson_and_is_all_or_nothing(api: Api) -> None:
    cid = new_id()
    good = [
        {"type": "customer.registered", "subjectId": cid, "payload": {"name": "A"}},
        {"type": "customer.login", "subjectId": cid, "payload": {"channel": "web"}},
    ]
    bad = [*good, {"type": "customer.login", "subjectId": cid, "payload": {"channel": "fax"}}]
    r = api.post("/v1/events", json=bad)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "[2].payload.channel"
    assert api.logged() == 0
    ndjson = b"\n".join(orjson.dumps(e) for e in good)
    r = api.post("/v1/events", content=ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202 and r.json()["accepted"] == 2
    r = api.post("/v1/events", json=[{"type": "customer.login", "payload": {"channel": "web"}}])
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "[0].subjectId"
    big = [{"type": "customer.registered", "subjectId": cid, "payload": {"name": "A" * 150}}] * 2000
    assert api.post("/v1/events", json=big).status_code == 413


def test_branch_state_and_loan_events_through_the_branch(api: Api) -> None:
    bid, loan, cid = new_id(), new_id(), new_id()
    events = [
        {
            "type": "branch.opened",
            "payload": {
                "name": "Main St",
                "capacity": 20,
                "services": [{"service": "teller", "avgHandlingMinutes": 5}],
            },
        },
        {"type": "branch.staff_checked_in", "payload": {"staffId": "S1"}},
        {"type": "queue.joined", "payload": {"ticketId": "T1", "service": "teller"}},
        {"type": "queue.joined", "payload": {"ticketId": "T2", "service": "teller"}},
        {
            "type": "loan.submitted",
            "subjectId": loan,
            "payload": {
                "customerId": cid,
                "product": "personal",
                "amount": "5000",
                "currency": "EUR",
                "termMonths": 12,
            },
        },
    ]
    for e in events:
        r = api.post(f"/v1/branches/{bid}/events", json=e)
        assert r.status_code == 202, r.text
    r = api.post(
        f"/v1/branches/{bid}/events", json={"type": "customer.login", "payload": {"channel": "web"}}
    )
    assert r.status_code == 400 and "/v1/customers/" in r.json()["detail"]
    api.project()
    state = api.get(f"/v1/branches/{bid}/state").json()
    BranchStatePublic.model_validate(state)
    assert state["staffAvailable"] == 1 and state["occupancy"]["customers"] == 2
    listed = api.get("/v1/branches", who="reader")
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    assert listed.json()[0]["branchId"] == bid and listed.json()[0]["customersWaiting"] == 2
    day = api.get(f"/v1/branches/{bid}/day", who="reader").json()
    assert (day["joined"], day["peakQueue"], day["staffCheckIns"]) == (2, 2, 1)
    assert api.get(f"/v1/branches/{bid}/day", who="writer").status_code == 403
    assert state["queues"][0]["length"] == 2 and state["queues"][0]["estimatedWaitMinutes"] == 10
    loans = api.get(f"/v1/customers/{cid}").status_code
    assert loans == 404  # the customer never registered; the loan is still tracked
    assert api.runtime.store.loan(loan) is not None
    assert api.runtime.store.loan(loan).branch_id == bid  # type: ignore[union-attr]


# --- security -------------------------------------------------------------------------------


def test_every_endpoint_needs_a_token_with_the_right_scope(api: Api) -> None:
    cid = new_id()
    r = api.client.get(f"/v1/customers/{cid}")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = api.client.get(f"/v1/customers/{cid}", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    assert api.client.get("/v1/customers/not-a-uuid").status_code == 401  # the token first
    body = {"type": "customer.registered", "payload": {"name": "A"}}
    r = api.post(f"/v1/customers/{cid}/events", who="reader", json=body)
    assert r.status_code == 403 and "digitaltwin.write" in r.json()["detail"]
    assert api.get(f"/v1/customers/{cid}", who="writer").status_code == 403
    assert api.get("/v1/fraud-alerts", who="reader").status_code == 200
    assert api.post("/v1/events", who="writer", json=[body | {"subjectId": cid}]).status_code == 202
    for open_path in ("/healthz", "/readyz", "/openapi.json"):
        assert api.client.get(open_path).status_code == 200


def test_token_endpoint_follows_rfc_6749(api: Api) -> None:
    c = api.client
    ok = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("reader", "reader-secret-123"),
    )
    assert ok.status_code == 200 and ok.json()["scope"] == "digitaltwin.read"
    assert ok.headers["cache-control"] == "no-store"
    wrong = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "reader", "client_secret": "guess"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = c.post("/oauth/token", data={"grant_type": "password"})
    assert grant.json()["error"] == "unsupported_grant_type"
    scope = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "digitaltwin.admin"},
        auth=("reader", "reader-secret-123"),
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    narrowed = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "digitaltwin.read"},
        auth=("admin", "admin-secret-123"),
    )
    token = narrowed.json()["access_token"]
    r = c.post(
        f"/v1/customers/{new_id()}/events",
        headers={"Authorization": f"Bearer {token}"},
        json={"type": "customer.registered", "payload": {"name": "A"}},
    )
    assert r.status_code == 403


# --- operations -----------------------------------------------------------------------------


def test_readiness_reports_every_consumers_lag_in_events_and_seconds(api: Api) -> None:
    api.post(
        f"/v1/customers/{new_id()}/events",
        json={"type": "customer.registered", "payload": {"name": "A"}},
    )
    r = api.client.get("/readyz")
    assert r.status_code == 200
    ReadinessPublic.model_validate(r.json())
    consumers = {c["name"]: c for c in r.json()["consumers"]}
    assert set(consumers) == {"twin", "kpis", "fraud", "risk"}
    for consumer in consumers.values():
        assert consumer["lag"] == 1 and 0 <= consumer["lagSeconds"] < 60
        assert consumer["runsIn"] == "elsewhere"  # this test app runs none of them
    api.runtime.projector.run_until_caught_up()
    after = {c["name"]: c for c in api.client.get("/readyz").json()["consumers"]}
    assert after["twin"]["lag"] == 0 and after["twin"]["lagSeconds"] == 0
    assert after["kpis"]["lag"] == 1  # each consumer has its own positions
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_readiness_says_what_is_down_and_nothing_more(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise UnavailableError("could not reach the state store: disk I/O error at /secret/path")

    monkeypatch.setattr(api.runtime.store, "ping", down)
    r = api.client.get("/readyz")
    assert r.status_code == 503
    ReadinessPublic.model_validate(r.json())
    assert r.json()["checks"] == {"log": "ok", "store": "unavailable"}
    assert "secret" not in r.text


def test_openapi_documents_the_seed_endpoints_with_400_not_422(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/v1/customers/{customerId}",
        "/v1/customers/{customerId}/events",
        "/v1/branches/{branchId}/state",
        "/v1/risk-scores/{customerId}",
        "/v1/fraud-alerts",
        "/v1/events",
    ):
        assert path in spec["paths"]
    text = orjson.dumps(spec).decode()
    assert '"422"' not in text
    assert "clientCredentials" in text
    event_in = spec["components"]["schemas"]["EventIn"]
    assert "transaction.posted" in event_in["x-event-types"]
    assert (
        spec["components"]["schemas"]["TransactionPosted"]["properties"]["cardToken"][
            "x-sensitivity"
        ]
        == "card"
    )
    assert api.client.get("/docs").status_code == 200


def test_openapi_shapes_match_what_is_served(api: Api) -> None:
    """Money is served as JSON numbers, ids the server requires as UUIDs say so, and lists
    document their paging headers."""
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["AccountPublic"]["properties"]["balance"]["type"] == "number"
    assert schemas["TransactionPublic"]["properties"]["amount"]["type"] == "number"
    assert schemas["RiskScoreUpdated"]["properties"]["scoreId"]["format"] == "uuid"
    for path in (
        "/v1/fraud-alerts",
        "/v1/customers/{customerId}/transactions",
        "/v1/customers/{customerId}/events",
        "/v1/branches",
    ):
        headers = spec["paths"][path]["get"]["responses"]["200"]["headers"]
        assert set(headers) == {"X-Total-Count", "Link"}
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


def test_a_reused_profile_view_follows_every_new_event(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=1)
    first = api.get(f"/v1/customers/{cid}").json()
    assert api.get(f"/v1/customers/{cid}").json() == first  # served again, unchanged
    api.post(f"/v1/customers/{cid}/events", json=txn("5.00", minutes=30))
    api.project()
    second = api.get(f"/v1/customers/{cid}").json()
    assert second["transactionCount"] == 2
    assert second["accounts"][0]["balance"] == pytest.approx(first["accounts"][0]["balance"] - 5)


def test_openapi_names_the_scope_of_every_protected_operation(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["OAuth2"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/admin/"):
                assert operation["security"] == [{"OAuth2": ["digitaltwin.admin"]}], path
            elif path.startswith("/v1/"):
                # A what-if is a question (nothing is logged): the read scope.
                reads = method == "get" or path.endswith("/what-if")
                scope = "digitaltwin.read" if reads else "digitaltwin.write"
                assert operation["security"] == [{"OAuth2": [scope]}], (method, path)
            else:
                assert "security" not in operation, path


# --- expected versions, older versions, the batch fast path ---------------------------------


def registration(**extra: Any) -> dict[str, Any]:
    return {"type": "customer.registered", "payload": {"name": "A"}, **extra}


def login_event(**extra: Any) -> dict[str, Any]:
    return {"type": "customer.login", "payload": {"channel": "web"}, **extra}


def test_an_expected_version_is_logged_while_the_subject_is_at_it(api: Api) -> None:
    cid = new_id()
    url = f"/v1/customers/{cid}/events"
    assert api.post(url, json=registration(expectedVersion=0)).status_code == 202
    assert api.post(url, json=login_event(expectedVersion=1)).status_code == 202
    assert api.runtime.log.subject_version(cid) == 2
    bid = new_id()
    r = api.post(f"/v1/branches/{bid}/events", json={"type": "branch.opened", "payload": {}})
    assert r.status_code == 202
    closed = {"type": "branch.closed", "payload": {}, "expectedVersion": 1}
    assert api.post(f"/v1/branches/{bid}/events", json=closed).status_code == 202


def test_a_subject_that_moved_is_a_409_problem_and_nothing_is_logged(api: Api) -> None:
    cid = new_id()
    url = f"/v1/customers/{cid}/events"
    api.post(url, json=registration())
    api.post(url, json=login_event())
    r = api.post(url, json=login_event(expectedVersion=1))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "/problems/version-conflict"
    assert problem["title"] == "Version conflict" and problem["status"] == 409
    assert (problem["subjectId"], problem["expectedVersion"], problem["actualVersion"]) == (
        cid,
        1,
        2,
    )
    assert cid in problem["detail"] and "version 2" in problem["detail"]
    assert "read the subject again, decide again" in problem["detail"]
    assert problem["instance"] == url
    assert api.logged() == 2
    branch = api.post(
        f"/v1/branches/{new_id()}/events",
        json={"type": "branch.opened", "payload": {}, "expectedVersion": 3},
    )
    assert branch.status_code == 409 and branch.json()["actualVersion"] == 0


def test_the_version_a_twin_shows_is_the_one_to_expect(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid, transactions=2)
    version = api.get(f"/v1/customers/{cid}").json()["version"]
    assert version == api.runtime.log.subject_version(cid) == 5
    url = f"/v1/customers/{cid}/events"
    assert api.post(url, json=txn("3.00") | {"expectedVersion": version}).status_code == 202
    late = api.post(url, json=txn("4.00") | {"expectedVersion": version})
    assert late.status_code == 409 and late.json()["actualVersion"] == version + 1


def test_a_retried_request_gets_its_receipt_even_though_its_own_event_moved_the_subject(
    api: Api,
) -> None:
    cid, eid = new_id(), new_id()
    body = registration(eventId=eid, expectedVersion=0)
    first = api.post(f"/v1/customers/{cid}/events", json=body)
    again = api.post(f"/v1/customers/{cid}/events", json=body)
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert again.json()["offset"] == first.json()["offset"]


def test_a_batch_expects_each_subject_s_version_before_its_first_event(api: Api) -> None:
    a, b = new_id(), new_id()
    api.post("/v1/events", json=[registration(subjectId=a)])
    batch = [
        login_event(subjectId=a, expectedVersion=1),
        registration(subjectId=b, expectedVersion=0),
        login_event(subjectId=a),
        login_event(subjectId=a, expectedVersion=3),
    ]
    r = api.post("/v1/events", json=batch)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 4
    assert api.runtime.log.subject_version(a) == 4
    stale = [login_event(subjectId=b), login_event(subjectId=a, expectedVersion=3)]
    r = api.post("/v1/events", json=stale)
    assert r.status_code == 409 and r.json()["subjectId"] == a
    assert r.json()["actualVersion"] == 4
    assert api.runtime.log.subject_version(b) == 1  # all or nothing


def test_a_batch_whose_expectations_of_a_subject_do_not_count_up_is_a_400(api: Api) -> None:
    cid = new_id()
    batch = [
        registration(subjectId=cid, expectedVersion=0),
        login_event(subjectId=cid, expectedVersion=0),
    ]
    r = api.post("/v1/events", json=batch)
    assert r.status_code == 400 and r.json()["type"] == "/problems/validation-error"
    [error] = r.json()["errors"]
    assert error["field"] == "[1].expectedVersion" and error["message"].startswith("must be 1")
    assert r.json()["detail"].startswith("invalid batch (2 events, none logged): [1].expected")
    r = api.post(f"/v1/customers/{cid}/events", json=registration(expectedVersion=-1))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "expectedVersion"
    assert api.logged() == 0


def test_an_unconditional_request_is_logged_while_a_conflicting_one_shares_its_wait(
    api: Api,
) -> None:
    """On the real log: requests queued behind a write are grouped, but one that expects a
    version is written alone, so its conflict fails nobody else."""
    log = api.runtime.log
    moved = new_id()
    log.append([registered(moved)])
    release, started = threading.Event(), threading.Event()

    class HeldLog:
        """The log, its first write held until the others are queued."""

        def append(self, events: Any, **kw: Any) -> Any:
            started.set()
            release.wait(10)
            return log.append(events, **kw)

    async def scenario() -> list[Any]:
        committer = GroupCommitter(HeldLog())  # type: ignore[arg-type]
        await committer.start()
        first = asyncio.ensure_future(committer.append([registered(new_id())]))
        while not started.is_set():
            await asyncio.sleep(0.001)
        queued = asyncio.gather(
            committer.append([registered(new_id())]),
            committer.append([registered(moved)], expected={moved: 0}),
            committer.append([registered(new_id())]),
            return_exceptions=True,
        )
        await asyncio.sleep(0.01)
        release.set()
        answers = [await first, *(await queued)]
        await committer.stop()
        return answers

    answers = asyncio.run(scenario())
    assert isinstance(answers[2], VersionConflictError)
    assert [len(a) for i, a in enumerate(answers) if i != 2] == [1, 1, 1]
    assert api.logged() == 4


def test_an_event_posted_in_an_older_version_is_upcast_and_logged_as_the_current(api: Api) -> None:
    cid = new_id()
    seed_customer(api, cid)
    v1 = {"type": "customer.login", "version": 1, "payload": {"channel": "web", "success": False}}
    r = api.post(f"/v1/customers/{cid}/events", json=v1)
    assert r.status_code == 202, r.text
    r = api.post("/v1/events", json=[v1 | {"subjectId": cid}])
    assert r.status_code == 202, r.text
    logins = [e.event for e in api.runtime.log.read_subject(cid) if e.event.type == v1["type"]]
    assert [e.version for e in logins] == [EVENT_TYPES["customer.login"].version] * 2
    assert [e.payload.outcome for e in logins] == ["failed", "failed"]  # type: ignore[attr-defined]
    api.project()
    assert api.get(f"/v1/customers/{cid}").json()["behaviour"]["failedLoginCount"] == 2
    newer = api.post(f"/v1/customers/{cid}/events", json=v1 | {"version": 3})
    assert newer.status_code == 400 and newer.json()["errors"][0]["field"] == "version"
    garbled = v1 | {"payload": {"channel": "web", "success": "perhaps"}}
    r = api.post(f"/v1/customers/{cid}/events", json=garbled)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "payload"


def test_errors_keep_their_exact_wording(api: Api) -> None:
    cid = new_id()
    r = api.post(f"/v1/customers/{cid}/events", json=txn("-5"))
    assert r.json()["detail"] == "invalid request: payload.amount: Input should be greater than 0"
    r = api.post(f"/v1/customers/{cid}/events", json={"type": "queue.joined", "payload": {}})
    assert r.json()["errors"] == [
        {
            "field": "type",
            "message": "queue.joined is a branch event; "
            "post it to /v1/branches/{id}/events or /v1/events",
        }
    ]
    r = api.post(
        f"/v1/customers/{cid}/events", json=registration(subjectId=new_id()) | {"version": 7}
    )
    assert r.json()["errors"] == [
        {"field": "version", "message": "customer.registered has version 1; 7 is not supported"}
    ]
    batch = [registration(subjectId=cid), login_event(), registration(subjectId=cid, x=1)]
    r = api.post("/v1/events", json=batch)
    assert r.json()["detail"] == (
        "invalid batch (3 events, none logged): [1].subjectId: is required: the customer id "
        "(a UUID) (and 1 more)"
    )
    assert r.json()["errors"][1] == {"field": "[2].x", "message": "Extra inputs are not permitted"}
    r = api.post("/v1/events", content=b"[1,", headers={"Content-Type": "application/json"})
    assert r.json()["detail"].startswith("the body is not valid JSON: Expecting value: line 1")
    assert r.json()["title"] == "Malformed JSON"
    assert api.logged() == 0


def test_a_large_batch_with_money_as_json_numbers_is_logged_exactly(api: Api) -> None:
    cid = new_id()
    api.post(f"/v1/customers/{cid}/events", json=registration())
    amounts = ["0.1", "14523.50", "1e-2", "1234567890123456.78", "7"]
    items = [
        b'{"type":"account.balance_changed","subjectId":"%s","occurredAt":"2025-09-15T1%d:00:00Z",'
        b'"payload":{"accountId":"ACC123","balance":%s}}' % (cid.encode(), i, amount.encode())
        for i, amount in enumerate(amounts)
    ]
    items += [orjson.dumps(txn("1.00", minutes=i) | {"subjectId": cid}) for i in range(400)]
    r = api.post("/v1/events", content=b"[" + b",".join(items) + b"]", headers=JSON_HEADERS)
    assert r.status_code == 202, r.text
    BatchReceiptPublic.model_validate(r.json())
    assert [e["offset"] for e in r.json()["events"]][:2] == [1, 2]
    balances = [
        e.event.payload.balance  # type: ignore[attr-defined]
        for e in api.runtime.log.read_subject(cid)
        if e.event.type == "account.balance_changed"
    ]
    assert [str(b) for b in balances] == ["0.10", "14523.50", "0.01", "1234567890123456.78", "7.00"]


def test_openapi_shows_expected_version_and_the_409_of_event_posting(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["EventIn"]["properties"]["expectedVersion"]["anyOf"][0]["minimum"] == 0
    conflict = schemas["VersionConflictProblemPublic"]["properties"]
    assert {"subjectId", "expectedVersion", "actualVersion"} <= set(conflict)
    for path in (
        "/v1/customers/{customerId}/events",
        "/v1/branches/{branchId}/events",
        "/v1/events",
    ):
        response = spec["paths"][path]["post"]["responses"]["409"]
        ref = response["content"]["application/problem+json"]["schema"]["$ref"]
        assert ref.endswith("/VersionConflictProblemPublic")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_as_of_time_with_no_utc_equivalent_is_a_400_naming_it(api: Api, moment: str) -> None:
    customer, branch = new_id(), new_id()
    api.post(
        f"/v1/customers/{customer}/events",
        json={"type": "customer.registered", "payload": {"name": "A"}},
    )
    for path in (f"/v1/customers/{customer}", f"/v1/branches/{branch}/state"):
        r = api.get(path, params={"asOf": moment})
        assert r.status_code == 400, r.text
        assert "asOf" in r.json()["detail"]
