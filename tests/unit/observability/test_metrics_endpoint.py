"""``GET /metrics`` on the project's own app: open without a token, every family banktwin
defines, the events appended by type and client, the consumers' figures, and nothing about a
customer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import SCOPES, Authority
from banktwin.config import Settings
from banktwin.domain.events import Event
from banktwin.ingest.dead_letters import DeadLetter, Origin, Status, new_dead_letter
from banktwin.intake import FieldError
from banktwin.runtime import Runtime
from banktwin.wire import event_to_wire
from tests.factories import new_id, opened, posted, registered
from tests.unit.observability.samples import FAMILIES, parsed, sample

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="m" * 40,
    clients="loader:loader-secret-123:" + "+".join(SCOPES),
    run_consumers=False,
)


@dataclass
class Twin:
    client: TestClient
    runtime: Runtime
    headers: dict[str, str]


@pytest.fixture
def twin() -> Iterator[Twin]:
    runtime = Runtime(SETTINGS)
    authority = Authority.from_settings(SETTINGS)
    token = authority.issue(authority.client("loader"), frozenset(SCOPES))
    with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as client:
        yield Twin(client, runtime, {"Authorization": f"Bearer {token}"})
    runtime.close()


def wire(events: list[Event]) -> list[dict[str, Any]]:
    return [{k: v for k, v in event_to_wire(e).items() if k != "recordedAt"} for e in events]


def test_metrics_answer_without_a_token_in_the_prometheus_text_format(twin: Twin) -> None:
    response = twin.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = set(parsed(response.text))
    assert names >= FAMILIES, FAMILIES - names
    assert parsed(response.text)["banktwin_data_completeness_target"] == {(): 0.95}


def test_posted_events_are_counted_by_type_and_client_and_applied_per_consumer(twin: Twin) -> None:
    customers = [new_id() for _ in range(3)]
    events = [registered(c) for c in customers] + [opened(c) for c in customers]
    events += [posted(c, amount="12.50") for c in customers for _ in range(2)]
    labels = {"type": "transaction.posted", "source": "loader"}
    route = {"route": "/v1/events", "method": "POST", "status": "202"}
    before = sample("banktwin_events_appended_total", **labels)
    requests_before = sample("banktwin_http_request_duration_seconds_count", **route)
    scored_before = sample("banktwin_fraud_scoring_seconds_count")

    response = twin.client.post("/v1/events", headers=twin.headers, json=wire(events))
    assert response.status_code == 202, response.text
    again = twin.client.post("/v1/events", headers=twin.headers, json=wire(events[-2:]))
    assert again.json()["duplicates"] == 2  # logged once: not counted twice
    assert sample("banktwin_events_appended_total", **labels) == before + 6

    lagging = parsed(twin.client.get("/metrics").text)
    assert lagging["banktwin_consumer_lag_events"][(("consumer", "twin"),)] == len(events)
    assert lagging["banktwin_consumer_lag_seconds"][(("consumer", "twin"),)] >= 0
    twin.runtime.catch_up()
    scraped = twin.client.get("/metrics").text
    found = parsed(scraped)
    logged = sum(twin.runtime.log.end_offsets().values())
    for consumer in ("twin", "kpis", "fraud"):
        key = (("consumer", consumer),)
        assert found["banktwin_events_applied_total"][key] == logged
        assert found["banktwin_consumer_lag_events"][key] == 0
        assert found["banktwin_consumer_lag_seconds"][key] == 0
        assert found["banktwin_consumer_last_commit_timestamp_seconds"][key] > 0
    assert 0 < found["banktwin_data_completeness_ratio"][()] <= 1
    assert found["banktwin_fraud_scoring_seconds_count"][()] == scored_before + 1  # one batch
    requests = found["banktwin_http_request_duration_seconds_count"]
    assert requests[tuple(sorted(route.items()))] == requests_before + 2
    for personal in [*customers, "Jane Doe", "jane@example.com", "tok_0123456789abcdef", "ACC"]:
        assert personal not in scraped


def test_a_customer_read_is_counted_under_its_template_not_its_id(twin: Twin) -> None:
    customer = new_id()
    twin.client.get(f"/v1/customers/{customer}", headers=twin.headers)
    scraped = twin.client.get("/metrics").text
    assert 'route="/v1/customers/{customerId}"' in scraped
    assert customer not in scraped


def test_a_completeness_ratio_needs_a_customer(twin: Twin) -> None:
    found = parsed(twin.client.get("/metrics").text)
    assert found["banktwin_data_completeness_ratio"] == {}
    assert found["banktwin_fraud_alert_rate"] == {(): 0}
    assert found["banktwin_fraud_alert_rate_baseline"] == {(): 0}


def test_the_families_not_measured_yet_are_listed_without_samples(twin: Twin) -> None:
    found = parsed(twin.client.get("/metrics").text)
    assert found["banktwin_dead_letters"] == {}  # no connector has refused anything
    assert found["banktwin_model_drift_ratio"] == {}


def test_dead_letters_are_counted_per_source_from_the_table(twin: Twin) -> None:
    errors = [FieldError("type", "unknown event type 'x'")]
    now = datetime.now(UTC)

    def letter(source: str, offset: int) -> DeadLetter:
        return new_dead_letter(source, Origin(source, 0, offset), b"{}", errors, now)

    table = twin.runtime.dead_letters
    table.add([letter("payments", n) for n in range(3)] + [letter("cards", 9)])
    table.resolve(letter("payments", 0).letter_id, Status.DISCARDED, "test", now)
    found = parsed(twin.client.get("/metrics").text)
    # Settled letters still count: the figure only grows, as the Prometheus rule expects.
    by_source = {dict(labels)["source"]: v for labels, v in found["banktwin_dead_letters"].items()}
    assert by_source == {"payments": 3, "cards": 1}
