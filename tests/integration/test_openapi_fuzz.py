"""Every operation of the OpenAPI document, fuzzed against the running app (schemathesis).

The app is the project's own (``create_app``) on a temporary SQLite twin holding a small
simulated bank (plus loans, risk scores and fraud alerts), so reads find real twins. For each
operation, schema-valid and schema-invalid requests are generated and sent:

- with a token that has every scope: no 5xx; the status code is one the operation documents;
  the content type, headers and body match what it documents for that status; every 4xx of
  ``/v1`` is problem+json; a request the schema refuses is refused (4xx);
- without a token: the secured operations answer 401 problem+json, the open ones as
  documented; with a token that lacks the operation's scope, 403 problem+json naming it;
- real events (the simulated bank's, their ``expectedVersion`` and ``eventId`` varied) posted
  to each event endpoint: 202 receipts and 409 conflicts as documented.

Half the valid ids in paths name a twin (or fraud alert) that exists, and half the valid token
requests carry the real client's credentials, or nearly every answer would be a 404 or a 401.

Generation is derandomized (hypothesis's ``derandomize``): a run is the same on every
machine, and a failure names the request to reproduce it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from banktwin.api.app import create_app
from banktwin.api.auth import SCOPES, Authority
from banktwin.api.problems import PROBLEM_JSON
from banktwin.config import Settings
from banktwin.domain.events import EVENT_TYPES, Event, SubjectKind
from banktwin.runtime import Runtime
from banktwin.sim import SimConfig, Simulation
from banktwin.wire import event_to_wire
from tests.factories import event

SECRET = "f" * 40
CLIENT_ID, CLIENT_SECRET = "fuzzer", "fuzzer-secret-123"
CLIENTS = f"{CLIENT_ID}:{CLIENT_SECRET}:" + "+".join(SCOPES)
BANK = SimConfig(customers=20, branches=2, seed=8, history_days=3, fraud_rate=0.2)
BANK_END = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)

GeneratedCase = Case[Any]  # a request schemathesis generated for an operation
FUZZ = settings(
    max_examples=30,  # per operation and caller: the whole module runs in about 20 s
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def not_a_server_error(ctx: CheckContext, response: Response, case: GeneratedCase) -> bool | None:
    """No 5xx: nothing here is unavailable, so a 5xx is a bug."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    return None


def problems_are_problem_json(
    ctx: CheckContext, response: Response, case: GeneratedCase
) -> bool | None:
    """Every 4xx (the token endpoint's RFC 6749 errors aside) is RFC 9457 problem+json whose
    ``status`` is the response's."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if case.path == "/oauth/token" and content_type == "application/json":
        assert set(response.json()) == {"error", "error_description"}, response.text
        return None
    assert content_type == PROBLEM_JSON, f"{response.status_code} is {content_type!r}"
    body = response.json()
    assert body["status"] == response.status_code, body
    assert {"type", "title", "detail"} <= set(body), body
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    problems_are_problem_json,
]


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the document, read from an app that is built but not started
    (building one opens nothing)."""
    app = create_app(Settings(token_secret=SECRET, clients=CLIENTS))
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


OPERATIONS = _operations()
EVENT_ENDPOINTS = [
    ("POST", "/v1/customers/{customerId}/events"),
    ("POST", "/v1/branches/{branchId}/events"),
    ("POST", "/v1/events"),
]
every_operation = pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)


@dataclass
class Fuzzed:
    schema: Any
    token: str
    ids: dict[SubjectKind, list[str]]
    events: list[dict[str, Any]]
    """Valid events in wire form (already logged: posted again, they are duplicates)."""
    scopes: dict[tuple[str, str], str]
    """The scope each secured operation needs."""
    short_tokens: dict[str, str]
    """Per scope, a token with every other scope."""


def _id(name: str) -> str:
    """A fixed id (the same data on every run)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"banktwin-fuzz:{name}"))


ALERT_IDS = [_id(f"alert-{n}") for n in range(6)]
"""The fraud alerts raised (one per customer of the first six)."""


def insights_and_loans(customers: list[str], branch: str) -> list[Event]:
    """What the simulator leaves out: risk scores, fraud alerts and loan applications (and
    fraud reports, which in three days it has not sent yet)."""
    events = []
    for n, customer in enumerate(customers[:6]):
        loan = _id(f"loan-{n}")
        score = {
            "scoreId": _id(f"score-{n}"),
            "score": 0.1 * n,
            "modelVersion": "m1",
            "reasons": [{"feature": "velocity", "contribution": 0.2, "value": 3}],
        }
        alert = {"alertId": ALERT_IDS[n], "transactionId": f"TX{n}", "severity": "high"}
        submitted = {
            "customerId": customer,
            "product": "mortgage",
            "amount": "250000.00",
            "currency": "EUR",
            "termMonths": 240,
            "branchId": branch,
        }
        report = {
            "transactionId": f"TX{n}",
            "accountId": f"ACC{n}",
            "kind": "dispute",
            "transactionOccurredAt": "2025-03-01T10:00:00Z",
        }
        stage = {"stage": "underwriting"}
        decided = {"decision": "approved", "approvedAmount": "200000.00", "interestRate": 3}
        made: list[tuple[str, str, dict[str, Any], int]] = [
            ("risk.score_updated", customer, score, 0),
            ("fraud.alert_raised", customer, alert, 0),
            ("fraud.reported", customer, report, 10),
            ("loan.submitted", loan, submitted, 0),
            ("loan.stage_changed", loan, stage, 5),
            *([("loan.decided", loan, decided, 60)] if n % 2 else []),
        ]
        events += [
            event(type_, subject, payload, minutes=minutes, event_id=_id(f"{type_}-{n}"))
            for type_, subject, payload, minutes in made
        ]
    return events


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    config = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        token_secret=SECRET,
        clients=CLIENTS,
        run_consumers=False,
        max_event_bytes=4096,
        max_batch_bytes=64 * 1024,
    )
    runtime = Runtime(config)
    logged: list[Event] = []
    for batch in Simulation(BANK).backfill(end=BANK_END):
        runtime.log.append(batch)
        logged += batch
    ids = {
        kind: sorted({e.subject_id for e in logged if e.subject_kind is kind})
        for kind in SubjectKind
    }
    extra = insights_and_loans(ids[SubjectKind.CUSTOMER], ids[SubjectKind.BRANCH][0])
    runtime.log.append(extra)
    runtime.catch_up()
    authority = Authority.from_settings(config)
    app = create_app(config, runtime=runtime, authority=authority)
    # Schemathesis runs the app's lifespan (the plugin ends it after each test, the next
    # request starts it again); the runtime, handed in, lives as long as this fixture.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # A body too large for its endpoint is refused (413) before its content is read: a
    # rejection of negative data like a 400, and documented on every operation with a body.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    scopes = {
        (method.upper(), path): operation["security"][0]["OAuth2"][0]
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    }
    client = authority.client(CLIENT_ID)
    wire = [
        {k: v for k, v in event_to_wire(e).items() if k != "recordedAt"} for e in logged + extra
    ]
    try:
        yield Fuzzed(
            schema,
            authority.issue(client, frozenset(SCOPES)),
            ids,
            wire[::5] + wire[-len(extra) :],
            scopes,
            {scope: authority.issue(client, frozenset(SCOPES) - {scope}) for scope in SCOPES},
        )
    finally:
        runtime.close()


def _generated(fuzzed: Fuzzed, method: str, path: str) -> st.SearchStrategy[GeneratedCase]:
    operation = fuzzed.schema[path][method]
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _steer(fuzzed: Fuzzed, case: GeneratedCase, pick: int) -> None:
    """For even ``pick``: a valid id in the path names a twin that exists, a valid token
    request carries the real client's credentials, and a valid retrain request names a model
    and algorithm there is a trainer for."""
    if pick % 2:
        return
    for name, value in list((case.path_parameters or {}).items()):
        if name == "alertId":
            known = ALERT_IDS
        else:
            known = fuzzed.ids[SubjectKind.BRANCH if name == "branchId" else SubjectKind.CUSTOMER]
        if _is_uuid(value):
            case.path_parameters[name] = known[pick // 2 % len(known)]
    if case.path == "/oauth/token" and isinstance(case.body, dict) and _is_positive(case):
        case.body.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    if case.path == "/v1/admin/retrain" and isinstance(case.body, dict) and _is_positive(case):
        algorithm = ("lightgbm", "logistic")[pick // 2 % 2]
        case.body.update(modelName="FraudScore", algorithm=algorithm, parameters={"seed": pick})


def _is_positive(case: GeneratedCase) -> bool:
    return case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE


@every_operation
def test_every_operation_answers_as_documented_with_a_token(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.token}"}

    @FUZZ
    @given(case=_generated(fuzzed, method, path), pick=st.integers(0, 1000))
    def answers_as_documented(case: GeneratedCase, pick: int) -> None:
        _steer(fuzzed, case, pick)
        checks = CHECKS if _is_positive(case) else [*CHECKS, negative_data_rejection]
        case.call_and_validate(headers=headers, checks=checks)

    answers_as_documented()


@every_operation
def test_every_operation_without_a_token_is_refused_or_open(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    secured = (method, path) in fuzzed.scopes

    @FUZZ
    @given(case=_generated(fuzzed, method, path))
    def refused_or_open(case: GeneratedCase) -> None:
        if case.headers:
            case.headers.pop("Authorization", None)
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        if secured:
            assert response.status_code == 401, response.text
            assert response.headers["content-type"] == [PROBLEM_JSON]

    refused_or_open()


SECURED = [(m, p) for m, p in OPERATIONS if p.startswith("/v1/")]


@pytest.mark.parametrize(("method", "path"), SECURED, ids=[f"{m} {p}" for m, p in SECURED])
def test_every_secured_operation_refuses_a_token_without_its_scope(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    scope = fuzzed.scopes[(method, path)]
    headers = {"Authorization": f"Bearer {fuzzed.short_tokens[scope]}"}

    @settings(FUZZ, max_examples=10)
    @given(case=_generated(fuzzed, method, path))
    def forbidden(case: GeneratedCase) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        assert response.status_code == 403, response.text
        assert scope in response.json()["detail"]

    forbidden()


def _varied(events: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A logged event as posted again (a duplicate), or as a new one (no ``eventId``), with no
    ``expectedVersion`` or one that is likely stale."""
    return st.builds(
        lambda wire, new, expected: {
            **{k: v for k, v in wire.items() if not (new and k == "eventId")},
            **({} if expected is None else {"expectedVersion": expected}),
        },
        st.sampled_from(events),
        st.booleans(),
        st.one_of(st.none(), st.integers(0, 40)),
    )


def _posted_events(fuzzed: Fuzzed, path: str) -> st.SearchStrategy[GeneratedCase]:
    operation = fuzzed.schema[path]["POST"]
    if path == "/v1/events":
        return st.lists(_varied(fuzzed.events), min_size=1, max_size=4).flatmap(
            lambda body: operation.as_strategy(body=body, media_type="application/json")
        )
    kind, name = (
        (SubjectKind.CUSTOMER, "customerId")
        if "{customerId}" in path
        else (SubjectKind.BRANCH, "branchId")
    )
    about_kind = [w for w in fuzzed.events if EVENT_TYPES[w["type"]].subject is kind]
    return _varied(about_kind).flatmap(
        lambda body: operation.as_strategy(
            path_parameters={name: body.pop("subjectId")}, body=body, media_type="application/json"
        )
    )


@pytest.mark.parametrize(("method", "path"), EVENT_ENDPOINTS, ids=[p for _, p in EVENT_ENDPOINTS])
def test_real_events_are_accepted_or_refused_as_documented(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.token}"}
    seen: set[int] = set()

    @FUZZ
    @given(case=_posted_events(fuzzed, path))
    def as_documented(case: GeneratedCase) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen.add(response.status_code)

    as_documented()
    assert {202, 409} <= seen, f"only {sorted(seen)}: the fuzz no longer reaches the log"
