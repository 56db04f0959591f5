"""``GET /v1/admin/models``: the registered models on a real MLflow registry (a SQLite store
in a temporary data directory), the admin scope only, and no MLflow import while no registry
exists."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority
from banktwin.api.model_schemas import ModelsPublic
from banktwin.config import Settings
from banktwin.registry import CHALLENGER, CHAMPION, ModelCard, open_model_registry
from banktwin.registry.port import FRAUD_MODEL, RISK_MODEL
from banktwin.runtime import Runtime

START = datetime(2026, 1, 1, tzinfo=UTC)


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        log_url="memory://?partitions=2",
        store_url="memory://",
        token_secret="e" * 40,
        clients="ops:ops-secret-123:" + "+".join(SCOPES),
        run_consumers=False,
        mlflow_uri=None,
    )


def card(name: str, seed: int, flavor: str = "lightgbm") -> ModelCard:
    return ModelCard(
        name=name,
        flavor=flavor,
        params={"seed": seed, "label_delay_days": 7.0},
        metrics={"validation_average_precision": 0.6 + seed / 100, "train_rows": 1000.0 + seed},
        feature_names=("amount", "merchant_risk", "seconds_since_last"),
        training_window=(START, START + timedelta(days=30 + seed)),
        data_hash=f"{seed:064x}",
        description=f"seed {seed}",
    )


class Models:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def get(self, query: str = "", who: str = "admin") -> httpx.Response:
        response: httpx.Response = self.client.get(
            f"/v1/admin/models{query}", headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )
        return response


@pytest.fixture
def models(tmp_path: Path) -> Iterator[Models]:
    settings = settings_for(tmp_path)
    authority = Authority.from_settings(settings)
    ops = authority.client("ops")
    tokens = {
        "admin": authority.issue(ops, frozenset({ADMIN})),
        "reader-writer": authority.issue(ops, frozenset({READ, WRITE})),
    }
    runtime = Runtime(settings)
    try:
        with TestClient(create_app(settings, runtime=runtime, authority=authority)) as client:
            yield Models(client, tokens)
    finally:
        runtime.close()


def test_without_a_registry_every_model_is_listed_with_no_version(models: Models) -> None:
    r = models.get()
    assert r.status_code == 200, r.text
    body = r.json()
    ModelsPublic.model_validate(body)
    assert body == {
        "registry": False,
        "models": [
            {"name": FRAUD_MODEL, "champion": None, "versionCount": 0, "versions": []},
            {"name": RISK_MODEL, "champion": None, "versionCount": 0, "versions": []},
        ],
    }


def test_models_need_the_admin_scope_and_a_valid_limit(models: Models) -> None:
    assert models.client.get("/v1/admin/models").status_code == 401
    refused = models.get(who="reader-writer")
    assert refused.status_code == 403
    assert "digitaltwin.admin" in refused.json()["detail"]
    for query in ("?limit=0", "?limit=1001", "?limit=many"):
        bad = models.get(query)
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["field"] == "limit"
    spec = models.client.get("/openapi.json").json()["paths"]["/v1/admin/models"]["get"]
    assert spec["security"] == [{"OAuth2": ["digitaltwin.admin"]}]


@pytest.mark.slow  # MLflow: seconds to import and to create its store
def test_versions_are_listed_newest_first_with_champion_metrics_and_window(
    models: Models, tmp_path: Path
) -> None:
    registry = open_model_registry(settings_for(tmp_path))
    try:
        for seed in (1, 2, 3):
            registry.register(card(FRAUD_MODEL, seed, "lightgbm" if seed % 2 else "logistic"), b"x")
        registry.set_alias(FRAUD_MODEL, CHAMPION, 2)
        registry.set_alias(FRAUD_MODEL, CHALLENGER, 3)
        registry.register(card(RISK_MODEL, 4), b"y")
    finally:
        registry.close()

    r = models.get()
    assert r.status_code == 200, r.text
    body = r.json()
    ModelsPublic.model_validate(body)
    fraud, risk = body["models"]
    assert (fraud["name"], fraud["champion"], fraud["versionCount"]) == (FRAUD_MODEL, 2, 3)
    assert [v["version"] for v in fraud["versions"]] == [3, 2, 1]
    three, two, _ = fraud["versions"]
    assert (three["aliases"], three["champion"]) == ([CHALLENGER], False)
    assert (two["aliases"], two["champion"], two["flavor"]) == ([CHAMPION], True, "logistic")
    assert two["metrics"] == {"validation_average_precision": 0.62, "train_rows": 1002.0}
    assert two["trainingWindow"] == {
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-02-02T00:00:00Z",
    }
    assert two["featureCount"] == 3 and two["params"]["seed"] == 2 and two["createdAt"]
    assert (risk["name"], risk["champion"], risk["versionCount"]) == (RISK_MODEL, None, 1)

    newest = models.get("?limit=1").json()
    assert [v["version"] for v in newest["models"][0]["versions"]] == [3]
    assert newest["models"][0]["versionCount"] == 3


SCRIPT = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from banktwin.api.app import create_app
from banktwin.api.auth import ADMIN, Authority
from banktwin.runtime import Runtime
from tests.unit.api.test_models_api import settings_for

settings = settings_for(Path(sys.argv[1]))
authority = Authority.from_settings(settings)
token = authority.issue(authority.client("ops"), frozenset({ADMIN}))
runtime = Runtime(settings)
with TestClient(create_app(settings, runtime=runtime, authority=authority)) as client:
    r = client.get("/v1/admin/models", headers={"Authorization": f"Bearer {token}"})
runtime.close()
print(json.dumps({"status": r.status_code, "mlflow": "mlflow" in sys.modules}))
"""


def test_no_registry_means_no_mlflow_import(tmp_path: Path) -> None:
    """In a fresh interpreter: the answer comes without MLflow ever being imported."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"status": 200, "mlflow": False}
