"""``/v1/fraud-alerts`` over HTTP: the list's filters, one alert with its ETag, and the
lifecycle's status changes (409 for an illegal one, 412 for a stale If-Match, nothing logged
in either case; a retried change logged once)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from banktwin.api.alert_schemas import (
    FraudAlertDetailPublic,
    FraudAlertStatePublic,
    IllegalTransitionProblemPublic,
)
from banktwin.api.schemas import FraudAlertPublic, VersionConflictProblemPublic
from banktwin.domain.events import Event
from banktwin.log.port import LoggedEvent
from tests.factories import event
from tests.integration.conftest import Api

T0 = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Bank:
    """Two customers with transactions, and alerts about some of them."""

    customers: list[str]
    alerts: list[str]
    """Newest raised first: alerts[i] was raised at T0 + (5 - i) minutes."""


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def bank(api: Api) -> Bank:
    customers = [new_id(), new_id()]
    events: list[dict[str, Any]] = []
    for c in customers:
        events.append(
            {"type": "customer.registered", "subjectId": c, "payload": {"name": "Jane Doe"}}
        )
        events += [
            {
                "type": "transaction.posted",
                "subjectId": c,
                "occurredAt": _at(-60 + i),
                "payload": {
                    "transactionId": f"TX{c[:4]}{i}",
                    "accountId": "ACC1",
                    "amount": f"{i + 1}.00",
                    "currency": "EUR",
                    "channel": "ecommerce",
                    "cardToken": "tok_0123456789abcdef",
                },
            }
            for i in range(12)
        ]
    alerts = [new_id() for _ in range(6)]
    severities = ["high", "low", "high", "critical", "medium", "high"]
    for i, (alert, severity) in enumerate(zip(alerts, severities, strict=True)):
        customer = customers[i % 2]
        events.append(
            {
                "type": "fraud.alert_raised",
                "subjectId": customer,
                "occurredAt": _at(5 - i),
                "payload": {
                    "alertId": alert,
                    "transactionId": f"TX{customer[:4]}{i}",
                    "severity": severity,
                    "score": 0.5,
                    "reasons": ["amount-spike"],
                    "ruleIds": ["big-spend"],
                },
            }
        )
    r = api.post("/v1/events", json=events)
    assert r.status_code == 202, r.text
    api.project()
    return Bank(customers, alerts)


def patch(api: Api, alert: str, body: dict[str, Any], who: str = "admin", **headers: str) -> Any:
    return api.client.patch(
        f"/v1/fraud-alerts/{alert}", json=body, headers={**api.headers(who), **headers}
    )


def ids(response: Any) -> list[str]:
    return [a["alertId"] for a in response.json()]


# --- the list -------------------------------------------------------------------------------


def test_the_list_filters_by_severity_customer_and_time_in_a_stable_order(
    api: Api, bank: Bank
) -> None:
    a, c = bank.alerts, bank.customers
    everything = api.get("/v1/fraud-alerts")
    assert ids(everything) == a and everything.headers["X-Total-Count"] == "6"
    for item in everything.json():
        FraudAlertPublic.model_validate(item)
    assert ids(api.get("/v1/fraud-alerts", params={"severity": "high"})) == [a[0], a[2], a[5]]
    mine = api.get("/v1/fraud-alerts", params={"customerId": c[1]})
    assert ids(mine) == [a[1], a[3], a[5]]
    assert all(x["customerId"] == c[1] for x in mine.json())
    since = api.get("/v1/fraud-alerts", params={"since": _at(3)})  # at or after: a[2] counts
    assert ids(since) == [a[0], a[1], a[2]]
    offset = api.get("/v1/fraud-alerts", params={"since": "2025-09-15T16:03:00+02:00"})
    assert ids(offset) == [a[0], a[1], a[2]]
    both = api.get(
        "/v1/fraud-alerts",
        params={"severity": "high", "customerId": c[0], "status": "open", "limit": 1},
    )
    assert ids(both) == [a[0]] and both.headers["X-Total-Count"] == "2"
    assert "severity=high" in both.headers["Link"] and f"customerId={c[0]}" in both.headers["Link"]
    second = api.get(
        "/v1/fraud-alerts", params={"severity": "high", "customerId": c[0], "offset": 1}
    )
    assert ids(second) == [a[2]]
    assert ids(api.get("/v1/fraud-alerts", params={"customerId": new_id()})) == []


def test_alerts_raised_at_one_instant_are_ordered_by_id(api: Api) -> None:
    customer = new_id()
    alerts = sorted((new_id() for _ in range(4)), reverse=True)
    events = [
        {
            "type": "fraud.alert_raised",
            "subjectId": customer,
            "occurredAt": _at(0),
            "payload": {"alertId": x, "transactionId": "TX1", "severity": "low"},
        }
        for x in reversed(alerts)
    ]
    assert api.post("/v1/events", json=events).status_code == 202
    api.project()
    pages = [
        ids(api.get("/v1/fraud-alerts", params={"customerId": customer, "limit": 2, "offset": o}))
        for o in (0, 2)
    ]
    assert pages == [alerts[:2], alerts[2:]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"severity": "urgent"}, "severity"),
        ({"status": "maybe"}, "status"),
        ({"customerId": "not-a-uuid"}, "customerId"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-09-15T14:00:00"}, "since"),  # no offset
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),  # before year 1 in UTC
        ({"limit": 0}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api: Api, params: dict[str, Any], field: str) -> None:
    r = api.get("/v1/fraud-alerts", params=params)
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == [field]


# --- one alert ------------------------------------------------------------------------------


def test_one_alert_has_its_transaction_context_and_etag(api: Api, bank: Bank) -> None:
    alert, customer = bank.alerts[2], bank.customers[0]
    r = api.get(f"/v1/fraud-alerts/{alert}")
    assert r.status_code == 200, r.text
    body = FraudAlertDetailPublic.model_validate(r.json())
    assert r.headers["ETag"] == f'"{alert}.1"'
    assert (body.alert_id, body.customer_id, body.status, body.version) == (
        alert,
        customer,
        "open",
        1,
    )
    assert body.reasons == ["amount-spike"] and body.rule_ids == ["big-spend"]
    assert body.history == []
    assert body.transaction is not None and body.transaction.transaction_id == f"TX{customer[:4]}2"
    context = body.customer
    assert context is not None and context.customer_id == customer and context.name == "Jane Doe"
    assert context.transaction_count == 12 and len(context.recent_transactions) == 10
    assert context.recent_transactions[0].transaction_id == f"TX{customer[:4]}11"
    assert (context.alert_count, context.open_alert_count) == (3, 3)


def test_an_unknown_alert_is_a_404_and_a_malformed_id_a_400(api: Api, bank: Bank) -> None:
    for r in (
        api.get(f"/v1/fraud-alerts/{new_id()}"),
        patch(api, new_id(), {"status": "investigating", "note": "n"}),
    ):
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert "no fraud alert" in r.json()["detail"]
    r = api.get("/v1/fraud-alerts/nope")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "alertId"


# --- the lifecycle ----------------------------------------------------------------------------


def test_an_alert_moves_through_its_lifecycle_to_closed(api: Api, bank: Bank) -> None:
    alert, customer = bank.alerts[0], bank.customers[0]
    etag = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    steps = [
        ({"status": "investigating", "note": "taking it"}, "admin"),
        ({"status": "confirmed_fraud", "note": "customer denies it", "analyst": "ana"}, "ana"),
        ({"status": "closed", "note": "card reissued"}, "admin"),
    ]
    logged = api.logged()
    for version, (body, analyst) in enumerate(steps, start=2):
        r = patch(api, alert, body, **{"If-Match": etag})
        assert r.status_code == 200, r.text
        state = FraudAlertStatePublic.model_validate(r.json())
        assert state.status == body["status"] and state.version == version
        assert state.history[-1].analyst == analyst and state.history[-1].note == body["note"]
        assert state.history[-1].source == "admin"
        assert r.headers["ETag"] == f'"{alert}.{version}"'
        etag = r.headers["ETag"]
    # The confirmed fraud is a label too: one fraud.reported with its status change.
    assert api.logged() == logged + 4
    # Read from the log, before the projector has applied anything.
    before = api.get(f"/v1/fraud-alerts/{alert}")
    assert before.json()["status"] == "closed" and before.headers["ETag"] == etag
    assert [h["status"] for h in before.json()["history"]] == [
        "investigating",
        "confirmed_fraud",
        "closed",
    ]
    api.project()
    listed = api.get("/v1/fraud-alerts", params={"customerId": customer, "status": "closed"})
    assert ids(listed) == [alert]
    twin = api.get(f"/v1/customers/{customer}").json()
    assert twin["fraudReportCount"] == 1 and alert not in [a["alertId"] for a in twin["openAlerts"]]


def test_an_illegal_change_is_a_409_and_logs_nothing(api: Api, bank: Bank) -> None:
    alert = bank.alerts[1]
    ends = api.runtime.log.end_offsets()
    r = patch(api, alert, {"status": "closed", "note": "skip ahead"})
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = IllegalTransitionProblemPublic.model_validate(r.json())
    assert problem.type == "/problems/illegal-transition"
    assert (problem.currentStatus, problem.requestedStatus, problem.allowed) == (
        "open",
        "closed",
        ["investigating"],
    )
    assert "Nothing was logged" in problem.detail
    assert patch(api, alert, {"status": "confirmed_fraud", "note": "n"}).status_code == 409
    assert api.runtime.log.end_offsets() == ends


def test_a_stale_if_match_is_a_412_and_logs_nothing(api: Api, bank: Bank) -> None:
    alert = bank.alerts[1]
    read = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    moved = patch(api, alert, {"status": "investigating", "note": "mine", "analyst": "ana"})
    assert moved.status_code == 200
    ends = api.runtime.log.end_offsets()
    verdict = {"status": "false_positive", "note": "n", "analyst": "bob"}
    weak = f"W/{moved.headers['ETag']}"
    for stale in (read, weak, '"other"', ""):
        r = patch(api, alert, verdict, **{"If-Match": stale})
        assert r.status_code == 412 and r.headers["content-type"] == PROBLEM, stale
        assert r.json()["type"] == "/problems/precondition-failed"
        assert r.headers["ETag"] == moved.headers["ETag"]
    assert api.runtime.log.end_offsets() == ends
    r = patch(api, alert, verdict, **{"If-Match": "*"})
    assert r.status_code == 200 and r.json()["status"] == "false_positive"


def test_a_list_of_etags_naming_the_current_one_matches(api: Api, bank: Bank) -> None:
    alert = bank.alerts[3]
    etag = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    r = patch(api, alert, {"status": "investigating", "note": "n"}, **{"If-Match": f'"x", {etag}'})
    assert r.status_code == 200, r.text


def test_a_retried_change_is_answered_again_and_logged_once(api: Api, bank: Bank) -> None:
    alert = bank.alerts[4]
    etag = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    body = {"status": "investigating", "note": "taking it"}
    first = patch(api, alert, body, **{"If-Match": etag})
    logged = api.logged()
    again = patch(api, alert, body, **{"If-Match": etag})
    unconditional = patch(api, alert, body)
    assert first.status_code == again.status_code == unconditional.status_code == 200
    assert again.json() == first.json() == unconditional.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert api.logged() == logged
    # Another analyst asking the same is no retry: the alert is investigating already.
    other = patch(api, alert, {**body, "analyst": "bob"})
    assert other.status_code == 409 and other.json()["currentStatus"] == "investigating"


def test_a_change_needs_the_write_scope(api: Api, bank: Bank) -> None:
    alert = bank.alerts[5]
    body = {"status": "investigating", "note": "n"}
    r = patch(api, alert, body, who="reader")
    assert r.status_code == 403 and "digitaltwin.write" in r.json()["detail"]
    assert api.get(f"/v1/fraud-alerts/{alert}", who="writer").status_code == 403
    r = patch(api, alert, body, who="writer")
    assert r.status_code == 200 and r.json()["history"][0]["analyst"] == "writer"
    assert api.client.patch(f"/v1/fraud-alerts/{alert}", json=body).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "open", "note": "n"}, "status"),
        ({"status": "investigating"}, "note"),
        ({"status": "investigating", "note": ""}, "note"),
        ({"status": "investigating", "note": "n", "why": "x"}, "why"),
        ({"status": "investigating", "note": "n", "analyst": "a" * 201}, "analyst"),
        ([], "body"),
    ],
)
def test_a_bad_change_is_a_400_naming_the_field(
    api: Api, bank: Bank, body: Any, field: str
) -> None:
    ends = api.runtime.log.end_offsets()
    r = patch(api, bank.alerts[0], body)
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert api.runtime.log.end_offsets() == ends


def test_a_change_that_is_not_json_is_refused(api: Api, bank: Bank) -> None:
    url = f"/v1/fraud-alerts/{bank.alerts[0]}"
    r = api.client.patch(url, content=b"status=closed", headers=api.headers())
    assert r.status_code == 415
    r = api.client.patch(
        url, content=b"{not json", headers={**api.headers(), "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["type"] == "/problems/malformed-json"
    r = api.client.patch(
        url,
        content=b'{"status": "investigating", "note": "\\u0000"}',
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400


# --- decided on the log, conditional on the customer ---------------------------------------


@pytest.fixture
def meddle(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Event]]:
    """Events appended right after each of the next reads of a customer's events, as if
    another writer got there between the read and the append."""
    pending: list[Event] = []
    log = api.runtime.log
    read_subject = log.read_subject

    def read_then_meddle(subject_id: str, until: datetime | None = None) -> Iterator[LoggedEvent]:
        read = list(read_subject(subject_id, until))
        if pending:
            log.append([pending.pop(0)])
        return iter(read)

    monkeypatch.setattr(log, "read_subject", read_then_meddle)
    yield pending


def test_another_event_of_the_customer_between_read_and_append_is_no_conflict(
    api: Api, bank: Bank, meddle: list[Event]
) -> None:
    alert, customer = bank.alerts[0], bank.customers[0]
    etag = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    logged = api.logged()
    meddle += [event("customer.login", customer, {"channel": "mobile"}) for _ in range(2)]
    r = patch(api, alert, {"status": "investigating", "note": "n"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert api.logged() == logged + 3  # two logins, decided again after each; one change
    assert meddle == []


def test_the_alert_moving_between_read_and_append_is_decided_again(
    api: Api, bank: Bank, meddle: list[Event]
) -> None:
    alert, customer = bank.alerts[0], bank.customers[0]
    etag = api.get(f"/v1/fraud-alerts/{alert}").headers["ETag"]
    moved = {"alertId": alert, "status": "investigating", "analyst": "bob"}
    meddle.append(event("fraud.alert_status_changed", customer, moved, at=T0 + timedelta(hours=1)))
    logged = api.logged()
    r = patch(api, alert, {"status": "investigating", "note": "n"}, **{"If-Match": etag})
    assert r.status_code == 412  # the alert itself moved
    meddle.append(event("customer.login", customer, {"channel": "mobile"}))
    r = patch(api, alert, {"status": "investigating", "note": "n"})
    assert r.status_code == 409 and r.json()["currentStatus"] == "investigating"
    assert api.logged() == logged + 2  # only what the other writers logged


def test_a_customer_that_never_stops_moving_is_a_409_version_conflict(
    api: Api, bank: Bank, meddle: list[Event]
) -> None:
    alert, customer = bank.alerts[0], bank.customers[0]
    meddle += [event("customer.login", customer, {"channel": "mobile"}) for _ in range(10)]
    logged = api.logged()
    r = patch(api, alert, {"status": "investigating", "note": "n"})
    assert r.status_code == 409
    problem = VersionConflictProblemPublic.model_validate(r.json())
    assert problem.type == "/problems/version-conflict" and problem.subjectId == customer
    assert api.logged() == logged + 5  # the logins only
