"""Every answer carries its request's id (``X-Request-ID``), every problem+json body the same
id (``requestId``), and the server's log lines for the request carry it too."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import READ, SCOPES, Authority
from banktwin.api.problems import PROBLEM_JSON
from banktwin.api.routers import kpis
from banktwin.api.schemas import ProblemPublic, VersionConflictProblemPublic
from banktwin.config import Settings
from banktwin.errors import UnavailableError
from banktwin.json_logs import JsonFormatter
from tests.factories import new_id

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="r" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    run_consumers=False,
    max_event_bytes=1024,
)
MINTED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS), raise_server_exceptions=False) as client:
        yield client


def bearer(*scopes: str) -> dict[str, str]:
    authority = Authority.from_settings(SETTINGS)
    token = authority.issue(authority.client("ops"), frozenset(scopes or SCOPES))
    return {"Authorization": f"Bearer {token}"}


def the_id(response: httpx.Response) -> str:
    """The response's one ``X-Request-ID``."""
    ids = response.headers.get_list("x-request-id")
    assert len(ids) == 1, ids
    return ids[0]


def assert_problem_with_the_id(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["requestId"] == the_id(response)
    return body


def test_a_sane_incoming_id_is_answered_as_it_came(client: TestClient) -> None:
    for incoming in ("a", "trace-01.span:7_x", "A" * 128):
        response = client.get("/healthz", headers={"X-Request-ID": incoming})
        assert response.status_code == 200
        assert the_id(response) == incoming


@pytest.mark.parametrize(
    "incoming",
    [b"", b"A" * 129, b"has space", b'quote"d', b"semi;colon", b"{json}", "\u00e9t\u00e9".encode()],
)
def test_an_insane_incoming_id_is_replaced_by_a_new_one(
    client: TestClient, incoming: bytes
) -> None:
    response = client.get("/v1/customers/not-a-uuid", headers={"X-Request-ID": incoming})
    body = assert_problem_with_the_id(response, 401)
    assert MINTED.fullmatch(body["requestId"])


def test_each_request_without_an_id_gets_its_own(client: TestClient) -> None:
    ids = {the_id(client.get("/healthz")) for _ in range(3)}
    assert len(ids) == 3 and all(MINTED.fullmatch(i) for i in ids)


def test_error_bodies_of_every_kind_carry_the_id_of_their_header(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = f"/v1/customers/{new_id()}"
    login = {"type": "customer.login", "payload": {"channel": "web"}}
    json_body = {**bearer(), "Content-Type": "application/json"}
    answers = {
        401: client.get(customer),
        403: client.post("/v1/events", json=[], headers=bearer(READ)),
        400: client.get("/v1/customers/not-a-uuid", headers=bearer()),
        404: client.get(customer, headers=bearer()),
        405: client.put(customer, headers=bearer()),
        413: client.post(f"{customer}/events", content=b"x" * 2048, headers=json_body),
        415: client.post(f"{customer}/events", content=b"{}", headers=bearer()),
        409: client.post(
            f"{customer}/events", json={**login, "expectedVersion": 3}, headers=bearer()
        ),
    }

    def unavailable(*args: object) -> None:
        raise UnavailableError("the KPI store does not answer")

    monkeypatch.setattr(kpis, "kpis_view", unavailable)
    answers[503] = client.get("/v1/kpis", headers=bearer())
    for status, response in answers.items():
        body = assert_problem_with_the_id(response, status)
        schema = VersionConflictProblemPublic if status == 409 else ProblemPublic
        assert schema.model_validate(body).requestId == body["requestId"]
    assert len({the_id(r) for r in answers.values()}) == len(answers)


def test_a_500_is_logged_with_the_exception_and_the_id_it_answers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the KPI view")

    monkeypatch.setattr(kpis, "kpis_view", broken)
    with caplog.at_level(logging.ERROR, logger="banktwin.api.problems"):
        response = client.get("/v1/kpis", headers={**bearer(), "X-Request-ID": "support-4711"})
    body = assert_problem_with_the_id(response, 500)
    assert body["requestId"] == "support-4711" and body["type"] == "/problems/internal-error"
    assert "RuntimeError" not in response.text  # no stack trace for the client
    [record] = [r for r in caplog.records if r.name == "banktwin.api.problems"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    line = json.loads(JsonFormatter().format(record))
    assert line["requestId"] == "support-4711"
    assert "RuntimeError: a bug in the KPI view" in line["exc"]


def test_a_500_without_an_incoming_id_logs_the_one_it_mints(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise KeyError("minute")

    monkeypatch.setattr(kpis, "kpis_view", broken)
    with caplog.at_level(logging.ERROR, logger="banktwin.api.problems"):
        response = client.get("/v1/kpis", headers=bearer())
    body = assert_problem_with_the_id(response, 500)
    [record] = [r for r in caplog.records if r.name == "banktwin.api.problems"]
    assert getattr(record, "requestId", None) == body["requestId"]
    assert MINTED.fullmatch(body["requestId"])


def test_lines_logged_while_a_request_is_served_carry_its_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: object) -> None:
        raise UnavailableError("the KPI store does not answer")

    monkeypatch.setattr(kpis, "kpis_view", unavailable)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # formats as it is written, inside the request
    handler.setFormatter(JsonFormatter())
    problems_log = logging.getLogger("banktwin.api.problems")
    problems_log.addHandler(handler)
    try:
        response = client.get("/v1/kpis", headers={**bearer(), "X-Request-ID": "ops-1"})
    finally:
        problems_log.removeHandler(handler)
    assert response.status_code == 503
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["level"] == "WARNING" and "backing service unavailable" in line["message"]
    assert line["requestId"] == "ops-1"


def test_the_access_line_names_the_route_not_the_ids_or_the_query(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    customer = new_id()
    with caplog.at_level(logging.INFO, logger="banktwin.access"):
        response = client.get(
            f"/v1/customers/{customer}?asOf=2025-01-01T00:00:00Z",
            headers={**bearer(), "X-Request-ID": "acc-1"},
        )
        client.get("/no/such/route")
        client.get("/healthz")
    assert response.status_code == 404
    access = [r for r in caplog.records if r.name == "banktwin.access"]
    lines = [json.loads(JsonFormatter().format(r)) for r in access]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/v1/customers/{customerId}", 404),
        ("GET", None, 404),
        ("GET", "/healthz", 200),
    ]
    assert lines[0]["requestId"] == "acc-1" and lines[0]["durationMs"] >= 0
    everything = json.dumps(lines)
    assert customer not in everything and "asOf" not in everything
