"""``GET /v1/customers/{customerId}/events``: the customer's events from the log, newest first,
paged, as of a time, personal data masked; the read scope (the POST on the same path keeps
needing write), 400 naming the bad parameter, 404 for an unknown customer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import READ, SCOPES, WRITE, Authority
from banktwin.api.timeline_schemas import CustomerEventPublic
from banktwin.config import Settings
from banktwin.runtime import Runtime

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="c" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    run_consumers=False,
)


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def get(self, path: str, who: str = "reader") -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def post(self, customer: str, body: dict[str, Any], who: str = "writer") -> Any:
        return self.client.post(
            f"/v1/customers/{customer}/events",
            json=body,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )


@pytest.fixture
def api() -> Iterator[Api]:
    authority = Authority.from_settings(SETTINGS)
    ops = authority.client("ops")
    tokens = {
        "reader": authority.issue(ops, frozenset({READ})),
        "writer": authority.issue(ops, frozenset({WRITE})),
    }
    runtime = Runtime(SETTINGS)
    try:
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as client:
            yield Api(client, runtime, tokens)
    finally:
        runtime.close()


def history(api: Api, customer: str) -> list[str]:
    """Registration, an account, three card payments and a login, posted out of time order;
    returns their event ids in time order."""
    events = [
        ("2025-09-01T09:00:00Z", "customer.registered", {
            "name": "Jane Doe", "email": "jane@example.com", "phone": "+1 555 0100",
            "dob": "1986-07-12", "address": "1 Main St",
        }),
        ("2025-09-01T09:05:00Z", "account.opened", {
            "accountId": "ACC1", "type": "checking", "currency": "EUR", "balance": "100.00",
        }),
        *[
            (f"2025-09-02T10:0{n}:00Z", "transaction.posted", {
                "transactionId": f"TX{n}", "accountId": "ACC1", "amount": f"{n + 1}.50",
                "currency": "EUR", "channel": "card_present", "merchant": "Grocer",
                "cardToken": "tok_0123456789abcdef",
            })
            for n in range(3)
        ],
        ("2025-09-01T12:00:00Z", "customer.login", {"channel": "web", "deviceId": "dev-998877"}),
    ]  # fmt: skip
    ids = []
    for at, type_, payload in events:
        event_id = str(uuid.uuid4())
        body = {"eventId": event_id, "type": type_, "occurredAt": at, "payload": payload}
        r = api.post(customer, body)
        assert r.status_code == 202, r.text
        ids.append((at, event_id))
    return [event_id for _, event_id in sorted(ids)]


def test_the_timeline_is_newest_first_paged_and_masked(api: Api) -> None:
    customer = str(uuid.uuid4())
    in_time_order = history(api, customer)
    r = api.get(f"/v1/customers/{customer}/events?limit=4")
    assert r.status_code == 200, r.text
    assert r.headers["X-Total-Count"] == "6" and 'rel="next"' in r.headers["Link"]
    page = r.json()
    for item in page:
        CustomerEventPublic.model_validate(item)
    assert [e["eventId"] for e in page] == in_time_order[::-1][:4]
    rest = api.get(f"/v1/customers/{customer}/events?limit=4&offset=4").json()
    assert [e["eventId"] for e in rest] == in_time_order[::-1][4:]

    newest = page[0]
    assert newest["type"] == "transaction.posted" and newest["source"] == "ops"
    assert newest["occurredAt"] == "2025-09-02T10:02:00Z" and newest["recordedAt"]
    assert newest["summary"].startswith("debit 3.50 EUR via card_present at Grocer")
    text = r.text + api.get(f"/v1/customers/{customer}/events?offset=4").text
    for secret in ("jane@example.com", "555 0100", "0123456789abcdef", "998877", "Jane"):
        assert secret not in text
    assert "j•••@example.com" in text and "card ••••cdef" in text


def test_until_shows_the_timeline_as_of_a_time(api: Api) -> None:
    customer = str(uuid.uuid4())
    in_time_order = history(api, customer)
    r = api.get(f"/v1/customers/{customer}/events?until=2025-09-01T12:00:00%2B00:00")
    assert r.status_code == 200, r.text
    assert [e["eventId"] for e in r.json()] == in_time_order[:3][::-1]
    early = api.get(f"/v1/customers/{customer}/events?until=2001-01-01T00:00:00Z")
    assert early.status_code == 200 and early.json() == []  # the customer is in the log


def test_bad_parameters_are_400_naming_them_and_an_unknown_customer_is_404(api: Api) -> None:
    customer = str(uuid.uuid4())
    history(api, customer)
    for query, field in (
        ("until=yesterday", "until"),
        ("until=2025-09-01T12:00:00", "until"),  # no offset
        ("until=0001-01-01T00:00:00%2B05:00", "until"),  # no UTC equivalent
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
    ):
        r = api.get(f"/v1/customers/{customer}/events?{query}")
        assert r.status_code == 400, (query, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == field
    assert api.get("/v1/customers/not-a-uuid/events").json()["errors"][0]["field"] == "customerId"
    missing = api.get(f"/v1/customers/{uuid.uuid4()}/events")
    assert missing.status_code == 404 and "no customer" in missing.json()["detail"]


def test_reading_needs_the_read_scope_and_posting_still_the_write_scope(api: Api) -> None:
    customer = str(uuid.uuid4())
    history(api, customer)
    path = f"/v1/customers/{customer}/events"
    assert api.client.get(path).status_code == 401
    forbidden = api.get(path, who="writer")
    assert forbidden.status_code == 403 and "digitaltwin.read" in forbidden.json()["detail"]
    login = {"type": "customer.login", "payload": {"channel": "web"}}
    refused = api.post(customer, login, who="reader")
    assert refused.status_code == 403 and "digitaltwin.write" in refused.json()["detail"]
    assert api.post(customer, login).status_code == 202
    operations = api.client.get("/openapi.json").json()["paths"][
        "/v1/customers/{customerId}/events"
    ]
    assert operations["get"]["security"] == [{"OAuth2": ["digitaltwin.read"]}]
    assert operations["post"]["security"] == [{"OAuth2": ["digitaltwin.write"]}]
    assert set(operations["get"]["responses"]["200"]["headers"]) == {"X-Total-Count", "Link"}
