"""An API on a temporary SQLite twin, with clients of each scope, projected on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.config import Settings
from banktwin.runtime import Runtime

SECRET = "x" * 40
CLIENTS = (
    "admin:admin-secret-123:digitaltwin.read+digitaltwin.write+digitaltwin.admin,"
    "reader:reader-secret-123:digitaltwin.read,"
    "writer:writer-secret-123:digitaltwin.write"
)


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def headers(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str = "admin", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), **kw)

    def post(self, path: str, who: str = "admin", **kw: Any) -> Any:
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.client.post(path, headers=headers, **kw)

    def project(self) -> None:
        """Run every consumer (the twin, the KPIs) until it has applied the whole log."""
        self.runtime.catch_up()

    def logged(self) -> int:
        return sum(self.runtime.log.end_offsets().values())


def token_for(client: TestClient, client_id: str) -> str:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": f"{client_id}-secret-123",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same API on the embedded default and on PostgreSQL (log and store)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(
        data_dir=tmp_path,
        log_url=url,
        store_url=url,
        token_secret=SECRET,
        clients=CLIENTS,
        run_consumers=False,
        max_event_bytes=4096,
        max_batch_bytes=256 * 1024,
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    runtime = Runtime(settings)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        tokens = {who: token_for(client, who) for who in ("admin", "reader", "writer")}
        yield Api(client, runtime, tokens)
    runtime.close()
