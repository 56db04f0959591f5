"""``GET /v1/admin/dead-letters[/{letterId}]``: the admin scope only, the connectors' refused
records paged and filtered, each with its reasons and its bytes as received; documented in the
OpenAPI page with the admin scope."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority
from banktwin.api.dead_letter_schemas import DeadLetterPublic
from banktwin.config import Settings
from banktwin.ingest.dead_letters import Origin, Status, new_dead_letter
from banktwin.intake import FieldError
from banktwin.runtime import Runtime

SETTINGS = Settings(
    log_url="memory://",
    store_url="memory://",
    token_secret="d" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    retrain_schedule="off",
    run_consumers=False,
)
PATH = "/v1/admin/dead-letters"
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Ops:
    def __init__(self, client: TestClient, runtime: Runtime, tokens: dict[str, str]) -> None:
        self.client = client
        self.runtime = runtime
        self.tokens = tokens

    def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.get(path, headers=headers, params=params)


@pytest.fixture
def ops() -> Iterator[Ops]:
    authority = Authority.from_settings(SETTINGS)
    client_ = authority.client("ops")
    tokens = {
        "admin": authority.issue(client_, frozenset({ADMIN})),
        "reader-writer": authority.issue(client_, frozenset({READ, WRITE})),
    }
    runtime = Runtime(SETTINGS)
    try:
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as client:
            yield Ops(client, runtime, tokens)
    finally:
        runtime.close()


def keep(ops: Ops) -> list[str]:
    errors = [FieldError("payload.amount", "Input should be a valid decimal")]
    letters = [
        new_dead_letter("payments", Origin("payments", 0, 1), b'{"amount": "x"}', errors, NOW),
        new_dead_letter("cards", Origin("cards", 2, 7), b"\xff\xfe", errors, NOW),
        new_dead_letter("payments", Origin("payments", 1, 3), b"{}", errors, NOW),
    ]
    ops.runtime.dead_letters.add(letters)
    ops.runtime.dead_letters.resolve(letters[2].letter_id, Status.DISCARDED, "test", NOW)
    return [letter.letter_id for letter in letters]


def test_dead_letters_are_listed_paged_and_filtered(ops: Ops) -> None:
    ids = keep(ops)
    everything = ops.get(PATH)
    assert everything.status_code == 200 and everything.headers["X-Total-Count"] == "3"
    assert [d["id"] for d in everything.json()] == ids
    for item in everything.json():
        DeadLetterPublic.model_validate(item)
    first = everything.json()[0]
    assert first["origin"]["described"] == "payments[0]@1" and first["raw"] == '{"amount": "x"}'
    assert first["errors"] == [
        {"field": "payload.amount", "message": "Input should be a valid decimal"}
    ]
    pending = ops.get(PATH, source="payments", status="pending")
    assert [d["id"] for d in pending.json()] == ids[:1]
    page = ops.get(PATH, limit=1, offset=1)
    assert [d["id"] for d in page.json()] == ids[1:2] and 'rel="next"' in page.headers["Link"]


def test_one_dead_letter_keeps_its_bytes_as_received(ops: Ops) -> None:
    ids = keep(ops)
    binary = ops.get(f"{PATH}/{ids[1]}").json()
    assert binary["raw"] is None and base64.b64decode(binary["rawBase64"]) == b"\xff\xfe"
    discarded = ops.get(f"{PATH}/{ids[2]}").json()
    assert discarded["status"] == "discarded" and discarded["note"] == "test"
    missing = ops.get(f"{PATH}/6f1d2a9e-3b57-4c0e-9a43-5c7f8e2b1d60")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert ops.get(f"{PATH}/not-an-id").status_code == 400


def test_only_the_admin_scope_reads_them(ops: Ops) -> None:
    assert ops.get(PATH, who="reader-writer").status_code == 403
    assert ops.client.get(PATH).status_code == 401
    paths = ops.client.get("/openapi.json").json()["paths"]
    for path in (PATH, f"{PATH}/{{letterId}}"):
        assert paths[path]["get"]["security"] == [{"OAuth2": [ADMIN]}]
