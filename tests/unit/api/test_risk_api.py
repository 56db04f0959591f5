"""``POST /v1/risk-scores/{customerId}/what-if`` and ``GET /v1/admin/models/RiskScore/drift``:
what the risk engine kept, answered over HTTP with the app's real store (in memory) and a real
model trained on a twin-shaped table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority
from banktwin.config import Settings
from banktwin.consumers.engine import Checkpoint
from banktwin.registry.champion import Served
from banktwin.risk.engine import (
    DRIFT_DAY_PREFIX,
    DRIFT_LATEST,
    SCORE_PREFIX,
    DriftRecord,
    ScoreRecord,
)
from banktwin.risk.model import RiskModel
from banktwin.risk.names import RISK_CONSUMER
from banktwin.risk.training import RiskTrainingConfig, train_risk_model
from banktwin.runtime import Runtime

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="a" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    retrain_schedule="off",
)
CUSTOMER = "0b8f3c6e-2a5d-4f1e-9c7b-1d2e3f4a5b6c"
STRANGER = "1c9a4d7f-3b6e-4a2f-8d1c-2e3f4a5b6c7d"
ENCODE = msgspec.msgpack.Encoder().encode


@dataclass
class Fixed:
    serving: Served[RiskModel] | None

    def current(self) -> Served[RiskModel] | None:
        return self.serving


@pytest.fixture(scope="module")
def model() -> RiskModel:
    """Trained on a table with three of the twin's features: the lower the bureau score, the
    likelier the loss."""
    rng = np.random.default_rng(1)
    rows = 600
    score = rng.normal(680, 60, rows)
    table = pd.DataFrame(
        {
            "bureau_score": score,
            "liquid_balance": rng.lognormal(7, 1, rows),
            "segment": rng.choice(["retail", "premium"], rows),
        }
    )
    labels = rng.random(rows) < 1 / (1 + np.exp((score - 600) / 25))
    config = RiskTrainingConfig(folds=3, candidates=("logistic",))
    return train_risk_model(table, labels, config=config).model


class Client:
    def __init__(self, client: TestClient, runtime: Runtime, tokens: dict[str, str]) -> None:
        self.client, self.runtime, self.tokens = client, runtime, tokens

    def what_if(self, body: Any, customer: str = CUSTOMER, who: str = "reader") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.post(f"/v1/risk-scores/{customer}/what-if", json=body, headers=headers)

    def drift(self, name: str = "RiskScore", who: str = "admin") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.get(f"/v1/admin/models/{name}/drift", headers=headers)

    def keep(self, puts: dict[str, bytes | None]) -> None:
        kv = self.runtime.kv
        positions = kv.positions(RISK_CONSUMER)
        kv.commit(Checkpoint(RISK_CONSUMER, positions, positions), puts)


@pytest.fixture
def api(model: RiskModel) -> Iterator[Client]:
    authority = Authority.from_settings(SETTINGS)
    ops = authority.client("ops")
    tokens = {
        "reader": authority.issue(ops, frozenset({READ})),
        "writer": authority.issue(ops, frozenset({WRITE})),
        "admin": authority.issue(ops, frozenset({ADMIN})),
    }
    runtime = Runtime(SETTINGS)
    runtime._risk_model = Fixed(Served(model, "RiskScore/4"))  # type: ignore[assignment]
    app = create_app(SETTINGS, runtime=runtime, authority=authority)
    try:
        with TestClient(app) as client:
            yield Client(client, runtime, tokens)
    finally:
        runtime.close()


def scored(model: RiskModel) -> ScoreRecord:
    features: dict[str, float | str | None] = {
        "bureau_score": 700.0,
        "liquid_balance": 2500.0,
        "segment": "retail",
        "tenure_days": 900.0,
    }
    table = {name: [value] for name, value in features.items()}
    score, contributions = model.predict_with_contributions(table)
    return ScoreRecord(
        customer_id=CUSTOMER,
        score=round(float(score[0]), 6),
        model_version="RiskScore/4",
        scored_at=datetime(2026, 3, 1, tzinfo=UTC),
        features=features,
        reasons=[("bureau_score", float(contributions[0, 0]))],
    )


def test_what_if_scores_the_changed_features_beside_the_customers_score(
    api: Client, model: RiskModel
) -> None:
    record = scored(model)
    api.keep({f"{SCORE_PREFIX}{CUSTOMER}": ENCODE(record)})
    answer = api.what_if({"overrides": {"bureau_score": 560, "liquid_balance": "-20%"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["baselineScore"] == pytest.approx(record.score)
    assert body["score"] > body["baselineScore"]  # a poorer bureau score is riskier
    assert body["modelVersion"] == "RiskScore/4"
    changes = {c["feature"]: (c["before"], c["after"]) for c in body["changes"]}
    assert changes == {"bureau_score": (700.0, 560.0), "liquid_balance": (2500.0, 2000.0)}
    assert body["reasons"][0]["feature"] == "bureau_score"
    same = api.what_if({"overrides": {}}).json()
    assert same["score"] == pytest.approx(record.score)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overrides": {"no_such_feature": 1}}, "overrides.no_such_feature"),
        ({"overrides": {"liquid_balance": "a lot"}}, "overrides.liquid_balance"),
        ({"overrides": {"segment": 4}}, "overrides.segment"),
        ({"overrides": {}, "extra": 1}, "extra"),
        ({}, "overrides"),
    ],
)
def test_a_bad_what_if_is_a_400_naming_the_field(
    api: Client, model: RiskModel, body: Any, field: str
) -> None:
    api.keep({f"{SCORE_PREFIX}{CUSTOMER}": ENCODE(scored(model))})
    answer = api.what_if(body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in answer.json()["errors"]]


def test_what_if_needs_a_scored_customer_a_model_and_the_read_scope(
    api: Client, model: RiskModel
) -> None:
    api.keep({f"{SCORE_PREFIX}{CUSTOMER}": ENCODE(scored(model))})
    assert api.what_if({"overrides": {}}, customer=STRANGER).status_code == 404
    assert api.what_if({"overrides": {}}, who="writer").status_code == 403
    assert api.client.post(f"/v1/risk-scores/{CUSTOMER}/what-if", json={}).status_code == 401
    api.runtime._risk_model = Fixed(None)  # type: ignore[assignment]
    answer = api.what_if({"overrides": {}})
    assert answer.status_code == 503 and "Retry-After" in answer.headers


def drift_day(day: date, psi: float) -> DriftRecord:
    return DriftRecord(
        model_name="RiskScore",
        model_version="RiskScore/4",
        day=day,
        rows=1800,
        score_psi=0.02,
        features={"outflow_90d": psi, "liquid_balance": 0.01},
        worst_input="outflow_90d",
        worst_psi=psi,
        threshold=0.1,
        drifted=psi > 0.1,
    )


def test_drift_answers_the_latest_day_and_the_days_before_newest_first(api: Client) -> None:
    assert api.drift().status_code == 404  # nothing measured yet
    days = [drift_day(date(2026, 3, d), 0.04 * d) for d in (1, 2, 3)]
    puts: dict[str, bytes | None] = {
        f"{DRIFT_DAY_PREFIX}RiskScore/4/{d.day.isoformat()}": ENCODE(d) for d in days
    }
    puts[DRIFT_LATEST] = ENCODE(days[-1])
    api.keep(puts)
    answer = api.drift()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["modelName"] == "RiskScore" and body["threshold"] == 0.1
    assert body["latest"]["day"] == "2026-03-03" and body["latest"]["drifted"] is True
    assert [d["day"] for d in body["history"]] == ["2026-03-03", "2026-03-02", "2026-03-01"]
    assert body["history"][-1]["drifted"] is False


def test_drift_is_for_the_admin_scope_and_a_model_it_is_measured_for(api: Client) -> None:
    assert api.drift(who="reader").status_code == 403
    assert api.drift(name="FraudScore").status_code == 404
