"""The batch fast path gives exactly the events the reference reading gives, or steps aside.

If one of these fails, the fast path's assumption broke (a field type of the envelope changed
on one side only, pydantic read a value differently in one pass, the parser changed a
number): fix ``whole_batch`` before anything else, since it decides what reaches the log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter

from banktwin.domain.events import Event
from banktwin.intake import EventIn, EventIntake
from banktwin.intake.event_reader import EventReader
from banktwin.intake.json_input import parse_json
from banktwin.intake.whole_batch import BatchEnvelope, read_whole_batch
from banktwin.wire import event_to_wire
from tests.unit.sim.sim_fixtures import END, SMALL, make_backfill

NOW = END + timedelta(days=1)
SKEW = timedelta(minutes=5)
CUSTOMER = "3f9d2b4c-9c1a-4e2b-9f4a-2c1d5e9b5f2a"


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    batches, _, _ = make_backfill(SMALL, END)
    return [e for batch in batches for e in batch]


def _decimal_as_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(type(value).__name__)


def wire_with_numbers(event: Event) -> dict[str, Any]:
    """The wire form with money as JSON numbers (``14523.50``), as most clients send it."""
    wire = event_to_wire(event)
    payload = event.payload.model_dump(by_alias=True, exclude_unset=True)
    wire["payload"] = orjson.loads(orjson.dumps(payload, default=_decimal_as_number))
    return wire


def fast_and_reference(body: bytes) -> tuple[list[Event], list[Event]]:
    items = parse_json(body)
    fast = read_whole_batch(items, source="api", now=NOW, max_future_skew=SKEW)
    assert fast is not None, "the fast path declined"
    reader = EventReader(lambda: NOW, SKEW)
    reference = [
        reader.read(raw, prefix=f"[{i}]", source="api", now=NOW).event
        for i, raw in enumerate(items)
    ]
    return fast.events, reference


def assert_same_model(fast: BaseModel, reference: BaseModel) -> None:
    assert type(fast) is type(reference)
    assert fast == reference
    assert fast.model_fields_set == reference.model_fields_set
    for name in type(reference).model_fields:
        value, expected = getattr(fast, name), getattr(reference, name)
        assert type(value) is type(expected), name
        if isinstance(expected, BaseModel):
            assert_same_model(value, expected)
        elif isinstance(expected, list):
            for item, expected_item in zip(value, expected, strict=True):
                if isinstance(expected_item, BaseModel):
                    assert_same_model(item, expected_item)
        elif isinstance(expected, Decimal):
            assert str(value) == str(expected), name  # the same digits, not only equal


def assert_same_events(fast: list[Event], reference: list[Event]) -> None:
    assert len(fast) == len(reference)
    for got, expected in zip(fast, reference, strict=True):
        assert got == expected
        for field in ("event_id", "subject_id", "source", "occurred_at"):
            assert type(getattr(got, field)) is type(getattr(expected, field))
        assert got.occurred_at.utcoffset() == expected.occurred_at.utcoffset()
        assert_same_model(got.payload, expected.payload)


def test_a_simulated_bank_reads_the_same_both_ways(bank: list[Event]) -> None:
    assert len({e.type for e in bank}) >= 15  # most of the vocabulary
    for start in range(0, len(bank), 2000):
        body = orjson.dumps([event_to_wire(e) for e in bank[start : start + 2000]])
        fast, reference = fast_and_reference(body)
        assert_same_events(fast, reference)
        assert fast == bank[start : start + 2000]  # and both are what was sent


def test_a_simulated_bank_with_money_as_json_numbers_reads_the_same_both_ways(
    bank: list[Event],
) -> None:
    body = orjson.dumps([wire_with_numbers(e) for e in bank[:3000]])
    assert b'"amount":"' not in body
    fast, reference = fast_and_reference(body)
    assert_same_events(fast, reference)
    assert fast == bank[:3000]


@pytest.mark.parametrize(
    "amount", ["0.1", "14523.50", "1e-2", "1234567890123456.78", "9999999999999999.99", "7"]
)
def test_money_sent_as_a_number_is_exact(amount: str) -> None:
    event = {
        "eventId": str(uuid.uuid4()),
        "type": "account.balance_changed",
        "subjectId": CUSTOMER,
        "payload": {"accountId": "A1", "balance": "AMOUNT"},
    }
    body = orjson.dumps([event]).replace(b'"AMOUNT"', amount.encode())
    fast, reference = fast_and_reference(body)
    assert_same_events(fast, reference)
    assert fast[0].payload.balance == Decimal(amount)  # type: ignore[attr-defined]


def login(**extra: Any) -> dict[str, Any]:
    return {"type": "customer.login", "subjectId": CUSTOMER, "payload": {"channel": "web"}, **extra}


@pytest.mark.parametrize(
    "declined",
    [
        login(version=1),  # an older version: upcast by the reference reading
        login(eventId=str(uuid.uuid4()).upper()),  # a UUID in another spelling
        login(eventId=f"{uuid.uuid4()}\n"),
        login(shoeSize=9),
        login(payload={"channel": "web", "shoeSize": 9}),
        login(expectedVersion=-1),
        login(source=""),
        login(subjectId="{" + CUSTOMER + "}"),
        login(occurredAt=(NOW + timedelta(minutes=6)).isoformat()),
        login(payload={"channel": "fax"}),
        {"type": "loan.sla_breached", "subjectId": CUSTOMER, "payload": {}},
        {"type": "customer.teleported", "subjectId": CUSTOMER, "payload": {}},
        {"type": "customer.login", "payload": {"channel": "web"}},
        [login()],
    ],
)
def test_what_the_fast_path_does_not_take_exactly_it_declines(declined: Any) -> None:
    items = [login(), declined]
    assert read_whole_batch(items, source="api", now=NOW, max_future_skew=SKEW) is None


def test_an_intake_batch_falls_back_to_the_reference_reading() -> None:
    intake = EventIntake(lambda: NOW, SKEW)
    eid = str(uuid.uuid4())
    events = intake.batch_from_values(
        [login(eventId=eid.upper(), version=1, payload={"channel": "web", "success": False})],
        source="api",
    ).events
    assert events[0].event_id == eid and events[0].payload.outcome == "failed"  # type: ignore[attr-defined]


def test_expected_versions_come_out_of_the_fast_path_by_index() -> None:
    items = [login(), login(expectedVersion=3)]
    batch = read_whole_batch(items, source="api", now=NOW, max_future_skew=SKEW)
    assert batch is not None and batch.expectations == {1: 3}


def _constraints(schema: dict[str, Any]) -> dict[str, Any]:
    ignored = ("title", "description", "examples", "default")
    return {k: v for k, v in schema.items() if k not in ignored}


def test_the_fast_envelope_has_the_envelope_s_fields_and_constraints() -> None:
    fast = TypeAdapter(BatchEnvelope[str, dict[str, Any]]).json_schema()["properties"]
    reference = EventIn.model_json_schema()["properties"]
    assert set(fast) == set(reference)
    # Narrowed on purpose (declined otherwise): ids in canonical form; the type is the tag.
    for name in set(reference) - {"eventId", "subjectId", "type", "payload"}:
        assert _constraints(fast[name]) == _constraints(reference[name]), name


def test_receipt_time_is_the_batch_s() -> None:
    batch = read_whole_batch([login(), login()], source="api", now=NOW, max_future_skew=SKEW)
    assert batch is not None
    assert [e.occurred_at for e in batch.events] == [NOW, NOW]
    assert NOW.tzinfo is UTC
