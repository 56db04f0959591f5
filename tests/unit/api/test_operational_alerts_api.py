"""``GET /v1/alerts``: operational alerts as the evaluator recorded them, read scope only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from banktwin.alerting.evaluator import AlertEvaluator
from banktwin.api.app import create_app
from banktwin.api.auth import SCOPES, Authority
from banktwin.config import Settings
from banktwin.domain.operational_alerts import Measurement
from banktwin.runtime import Runtime

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="a" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES) + ",writer:writer-secret-1:digitaltwin.write",
)
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Drift:
    def __init__(self) -> None:
        self.value = 0.0

    def measure(self, now: datetime) -> list[Measurement]:
        return [Measurement("model_drift", "RiskScore", self.value, now)]


def test_alerts_are_listed_newest_first_filtered_and_read_one_by_one() -> None:
    authority = Authority.from_settings(SETTINGS)
    reader = authority.issue(authority.client("ops"), frozenset({"digitaltwin.read"}))
    writer = authority.issue(authority.client("writer"), frozenset({"digitaltwin.write"}))
    runtime = Runtime(SETTINGS)
    drift, now = Drift(), [T0]
    evaluator = AlertEvaluator(runtime.log, runtime.kv, drift, lambda: now[0])
    for value in (0.2, 0.0, 0.3):  # fires, resolves, fires again
        drift.value = value
        evaluator.evaluate_once()
        now[0] += timedelta(minutes=5)
    try:
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as client:
            auth = {"Authorization": f"Bearer {reader}"}
            answer = client.get("/v1/alerts", headers=auth)
            assert answer.status_code == 200, answer.text
            alerts = answer.json()
            assert answer.headers["X-Total-Count"] == "2"
            assert [a["status"] for a in alerts] == ["firing", "resolved"]
            assert alerts[0]["value"] == 0.3 and alerts[0]["severity"] == "page"
            assert alerts[1]["resolvedValue"] == 0.0
            firing = client.get("/v1/alerts?status=firing", headers=auth).json()
            assert [a["alertId"] for a in firing] == [alerts[0]["alertId"]]
            one = client.get(f"/v1/alerts/{alerts[1]['alertId']}", headers=auth)
            assert one.status_code == 200 and one.json() == {**alerts[1], "deliveries": []}
            missing = client.get("/v1/alerts/00000000-0000-4000-8000-000000000000", headers=auth)
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/problem+json")
            assert client.get("/v1/alerts").status_code == 401
            no_scope = client.get("/v1/alerts", headers={"Authorization": f"Bearer {writer}"})
            assert no_scope.status_code == 403
            assert client.get("/v1/alerts?status=open", headers=auth).status_code == 400
    finally:
        runtime.close()
