"""The intake without HTTP: one event or a batch, from JSON bytes or parsed values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from banktwin.domain.events import EVENT_TYPES, SubjectKind
from banktwin.domain.payloads.customer import LoginOutcome
from banktwin.intake import EventIntake, FieldError, IntakeError, MalformedJsonError, SubjectScope

NOW = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
CUSTOMER = "3f9d2b4c-9c1a-4e2b-9f4a-2c1d5e9b5f2a"
BRANCH = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"
BY_URL = SubjectScope(SubjectKind.CUSTOMER, CUSTOMER, "the URL")


def intake(**kw: Any) -> EventIntake:
    return EventIntake(lambda: NOW, timedelta(minutes=5), **kw)


def login(**extra: Any) -> dict[str, Any]:
    return {"type": "customer.login", "payload": {"channel": "web"}, **extra}


def refusal(call: Any, *args: Any, **kw: Any) -> IntakeError:
    with pytest.raises(IntakeError) as refused:
        call(*args, **kw)
    return refused.value


def test_one_event_takes_the_scope_s_subject_receipt_time_and_the_producer_as_source() -> None:
    events, expected = intake().event_from_value(login(), source="core", scope=BY_URL)
    [event] = events
    assert (event.type, event.subject_id, event.occurred_at) == ("customer.login", CUSTOMER, NOW)
    assert event.source == "core" and event.version == EVENT_TYPES["customer.login"].version
    assert uuid.UUID(event.event_id).version == 7 and expected == {}


def test_an_event_from_json_bytes_keeps_money_exact() -> None:
    body = (
        b'{"type": "account.opened", "subjectId": "' + CUSTOMER.encode() + b'", "payload": '
        b'{"accountId": "A1", "type": "checking", "currency": "EUR", "balance": 14523.50}}'
    )
    [event] = intake().event_from_json(body, source="core").events
    assert event.payload.balance == Decimal("14523.50")  # type: ignore[attr-defined]


def test_an_expected_version_is_asked_of_the_event_s_subject() -> None:
    submission = intake().event_from_value(login(expectedVersion=4), source="x", scope=BY_URL)
    assert submission.expected == {CUSTOMER: 4}
    error = refusal(intake().event_from_value, login(expectedVersion=-1), source="x", scope=BY_URL)
    assert error.errors == [
        FieldError("expectedVersion", "Input should be greater than or equal to 0")
    ]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ([1], "body", "an event must be a JSON object"),
        (login(shoeSize=9), "shoeSize", "Extra inputs are not permitted"),
        (
            {"type": "customer.teleported", "payload": {}},
            "type",
            "unknown event type 'customer.teleported'; see GET /v1/event-types",
        ),
        (
            {"type": "loan.sla_breached", "payload": {}},
            "type",
            "loan.sla_breached is derived by the twin and cannot be posted",
        ),
        (
            {"type": "customer.registered", "version": 7, "payload": {"name": "A"}},
            "version",
            "customer.registered has version 1; 7 is not supported",
        ),
        (
            login(version=3),
            "version",
            "customer.login has version 2; 3 is not supported (send a version from 1 to 2)",
        ),
        (
            login(subjectId=BRANCH),
            "subjectId",
            f"must be the customer of the URL, {CUSTOMER}",
        ),
        (
            {"type": "queue.joined", "payload": {}},
            "type",
            "queue.joined is a branch event, not about the customer the URL names",
        ),
        (login(payload={"channel": "fax"}), "payload.channel", None),
        (
            login(occurredAt="2025-09-15T14:06:00Z"),
            "occurredAt",
            "is in the future; send the time the event happened",
        ),
    ],
)
def test_the_first_bad_field_is_named(raw: Any, field: str, message: str | None) -> None:
    error = refusal(intake().event_from_value, raw, source="x", scope=BY_URL)
    assert error.errors[0].field == field
    if message is not None:
        assert error.errors[0].message == message
    assert str(error).startswith(f"invalid request: {field}: ")


def test_a_time_within_the_allowed_skew_is_taken() -> None:
    [event] = (
        intake()
        .event_from_value(login(occurredAt="2025-09-15T14:04:00Z"), source="x", scope=BY_URL)
        .events
    )
    assert event.occurred_at == NOW + timedelta(minutes=4)


def test_the_wrong_kind_of_event_names_where_it_goes_when_the_transport_says() -> None:
    where = {SubjectKind.BRANCH: "/v1/branches/{id}/events or /v1/events"}
    error = refusal(
        intake(where_to_send=where).event_from_value,
        {"type": "queue.joined", "payload": {}},
        source="x",
        scope=BY_URL,
    )
    assert error.errors[0].message == (
        "queue.joined is a branch event; post it to /v1/branches/{id}/events or /v1/events"
    )


def test_a_loan_application_is_filed_under_the_scope_s_customer() -> None:
    loan = str(uuid.uuid4())
    raw = {
        "type": "loan.submitted",
        "subjectId": loan,
        "payload": {"product": "personal", "amount": 5000, "currency": "EUR", "termMonths": 12},
    }
    [event] = intake().event_from_value(raw, source="x", scope=BY_URL).events
    assert event.subject_id == loan and event.payload.customer_id == CUSTOMER  # type: ignore[attr-defined]
    raw["payload"]["customerId"] = BRANCH  # type: ignore[index]
    error = refusal(intake().event_from_value, raw, source="x", scope=BY_URL)
    assert error.errors[0].field == "payload.customerId"


def test_an_older_version_is_upcast_and_stored_as_the_current_one() -> None:
    raw = login(version=1, payload={"channel": "web", "success": False})
    [event] = intake().event_from_value(raw, source="x", scope=BY_URL).events
    assert event.version == EVENT_TYPES["customer.login"].version
    assert event.payload.outcome is LoginOutcome.FAILED  # type: ignore[attr-defined]
    assert "success" not in event.payload.model_fields_set


def test_an_older_payload_its_upcaster_cannot_read_names_the_payload() -> None:
    raw = login(version=1, payload={"channel": "web", "outcome": "failed"})
    error = refusal(intake().event_from_value, raw, source="x", scope=BY_URL)
    assert error.errors[0].field == "payload"
    assert "outcome is not a field of version 1" in error.errors[0].message


def test_an_upcast_payload_is_validated_as_the_current_version() -> None:
    raw = login(version=1, payload={"channel": "fax", "success": True})
    error = refusal(intake().event_from_value, raw, source="x", scope=BY_URL)
    assert error.errors[0].field == "payload.channel"


# --- batches --------------------------------------------------------------------------------


def batch_login(subject: str = CUSTOMER, **extra: Any) -> dict[str, Any]:
    return login(subjectId=subject, **extra)


def test_a_batch_reports_every_bad_event_by_index_and_logs_nothing() -> None:
    raw = [batch_login(), login(), batch_login(payload={"channel": "fax"})]
    error = refusal(intake().batch_from_values, raw, source="x")
    assert [e.field for e in error.errors] == ["[1].subjectId", "[2].payload.channel"]
    assert error.what == "batch (3 events, none logged)"
    assert str(error).startswith("invalid batch (3 events, none logged): [1].subjectId: ")
    assert str(error).endswith(" (and 1 more)")


def test_a_batch_reports_at_most_fifty_errors() -> None:
    error = refusal(intake().batch_from_values, [login()] * 80, source="x")
    assert len(error.errors) == 50


@pytest.mark.parametrize(
    ("raw", "message"),
    [({"a": 1}, "send a JSON array of events (or NDJSON)"), ([], "the batch holds no events")],
)
def test_a_batch_must_be_a_non_empty_list(raw: Any, message: str) -> None:
    error = refusal(intake().batch_from_values, raw, source="x")
    assert error.errors == [FieldError("body", message)] and error.what == "request"


def test_a_batch_from_json_and_from_ndjson() -> None:
    events = [batch_login(), batch_login(payload={"channel": "mobile"})]
    as_json = intake().batch_from_json(orjson.dumps(events), source="x").events
    ndjson = b"\n".join(orjson.dumps(e) for e in events)
    as_ndjson = intake().batch_from_ndjson(ndjson, source="x").events
    assert [e.payload for e in as_json] == [e.payload for e in as_ndjson]
    with pytest.raises(MalformedJsonError, match=r"^line 3 is not valid JSON: "):
        intake().batch_from_ndjson(ndjson + b"\n{", source="x")


def test_a_batch_passes_each_subject_s_version_before_its_first_event() -> None:
    other = str(uuid.uuid4())
    raw = [
        batch_login(),
        batch_login(other),
        batch_login(expectedVersion=8),
        batch_login(other),
        batch_login(expectedVersion=9),
    ]
    submission = intake().batch_from_values(raw, source="x")
    assert submission.expected == {CUSTOMER: 7}


def test_a_batch_s_expectations_of_one_subject_must_count_up_by_one() -> None:
    raw = [batch_login(expectedVersion=3), batch_login(), batch_login(expectedVersion=4)]
    error = refusal(intake().batch_from_values, raw, source="x")
    assert error.errors[0].field == "[2].expectedVersion"
    assert error.errors[0].message.startswith(
        f"must be 5: [0] expects subject {CUSTOMER} at version 3"
    )
    raw = [batch_login(), batch_login(expectedVersion=0)]
    error = refusal(intake().batch_from_values, raw, source="x")
    assert error.errors[0].field == "[1].expectedVersion"
    assert error.errors[0].message.startswith("must be at least 1")
