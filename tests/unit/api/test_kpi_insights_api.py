"""The fraud-alert outcomes and the risk-score distribution in ``GET /v1/kpis`` and in the KPI
stream's pushes (the Overview shows them live), from events posted through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import READ, SCOPES, WRITE, Authority
from banktwin.api.deps import Services
from banktwin.api.kpi_schemas import KpisPublic
from banktwin.api.routers.streams import snapshot
from banktwin.config import Settings
from banktwin.runtime import Runtime

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="d" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    run_consumers=False,
)


@pytest.fixture
def client() -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    authority = Authority.from_settings(SETTINGS)
    ops = authority.client("ops")
    tokens = {
        "reader": authority.issue(ops, frozenset({READ})),
        "writer": authority.issue(ops, frozenset({WRITE})),
    }
    runtime = Runtime(SETTINGS)
    try:
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as c:
            yield c, runtime, tokens
    finally:
        runtime.close()


def post(c: TestClient, token: str, customer: str, type_: str, **payload: Any) -> None:
    r = c.post(
        f"/v1/customers/{customer}/events",
        json={"type": type_, "payload": payload},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text


def test_outcomes_and_risk_scores_are_served_and_pushed(
    client: tuple[TestClient, Runtime, dict[str, str]],
) -> None:
    c, runtime, tokens = client
    writer = tokens["writer"]
    customers = [str(uuid.uuid4()) for _ in range(3)]
    for customer, score in zip(customers, (0.12, 0.18, 0.93), strict=True):
        post(c, writer, customer, "risk.score_updated", scoreId=str(uuid.uuid4()), score=score,
             modelVersion="RiskScore/1")  # fmt: skip
    post(c, writer, customers[0], "risk.score_updated", scoreId=str(uuid.uuid4()), score=0.55,
         modelVersion="RiskScore/2")  # fmt: skip  # moves the customer from 0.1 to 0.5
    alerts = [str(uuid.uuid4()) for _ in range(3)]
    for alert in alerts:
        post(c, writer, customers[1], "fraud.alert_raised", alertId=alert, transactionId="TX1",
             severity="high")  # fmt: skip
    for alert, verdict in zip(alerts[:2], ("confirmed_fraud", "false_positive"), strict=True):
        post(c, writer, customers[1], "fraud.alert_status_changed", alertId=alert,
             status="investigating")  # fmt: skip
        post(c, writer, customers[1], "fraud.alert_status_changed", alertId=alert,
             status=verdict)  # fmt: skip
    runtime.catch_up()

    r = c.get("/v1/kpis", headers={"Authorization": f"Bearer {tokens['reader']}"})
    assert r.status_code == 200, r.text
    kpis = r.json()
    KpisPublic.model_validate(kpis)
    assert kpis["fraudOutcomes"] == {
        "raised": 3,
        "open": 1,
        "confirmedFraud": 1,
        "falsePositives": 1,
        "closedWithoutVerdict": 0,
        "precision": 0.5,
        "countedSince": None,
    }
    risk = kpis["riskScores"]
    assert risk["customers"] == 3 and risk["countedSince"] is None
    assert [b["customers"] for b in risk["buckets"]] == [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert (risk["buckets"][0]["from"], risk["buckets"][9]["to"]) == (0.0, 1.0)
    assert risk["buckets"][3] == {"from": 0.3, "to": 0.4, "customers": 0}

    services: Services = c.app.state.services  # type: ignore[attr-defined]
    text = snapshot(services, 60, 48)
    kpis_line = text.split("\n")[1]
    pushed = orjson.loads(kpis_line.removeprefix("data: "))
    assert pushed["lag"] == 0
    assert pushed["fraudOutcomes"] == kpis["fraudOutcomes"]
    assert pushed["riskScores"] == kpis["riskScores"]
