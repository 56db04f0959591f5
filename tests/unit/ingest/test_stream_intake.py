"""What a connector does with the records it reads, on the in-memory log and dead-letter
table: valid events appended in order, invalid records kept with the intake's field errors,
and a record read again (a re-delivery after a crash) changing nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from banktwin.errors import ConflictError, NotFoundError
from banktwin.ingest.dead_letters import Origin, Status, dead_letter_id, streamed_event_id
from banktwin.ingest.dead_letters_memory import InMemoryDeadLetterStore
from banktwin.ingest.record_events import StreamRecord
from banktwin.ingest.replay import Replayed, replay_dead_letter
from banktwin.ingest.stream_intake import IntakeTally, StreamIntake
from banktwin.intake import EventIntake, FieldError, IntakeError
from banktwin.log.memory import InMemoryEventLog
from tests.factories import new_id, opened, posted, registered
from tests.unit.ingest.records import record, wire

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
SKEW = timedelta(minutes=5)


def clock() -> datetime:
    return NOW


class Twin:
    """A log, a dead-letter table and the intake of a connector named ``payments``."""

    def __init__(self) -> None:
        self.log = InMemoryEventLog(partitions=2)
        self.dead_letters = InMemoryDeadLetterStore()
        self.intake = EventIntake(clock, SKEW)
        self.stream = StreamIntake(
            self.log,
            self.dead_letters,
            self.intake,
            source="payments",
            clock=clock,
            max_future_skew=SKEW,
            max_record_bytes=4096,
        )

    def take(self, *values: bytes | None, start: int = 0) -> IntakeTally:
        return self.stream.take(
            [StreamRecord(at(start + i), value) for i, value in enumerate(values)]
        )

    def logged(self) -> list[tuple[str, str, str]]:
        return [
            (e.event.event_id, e.event.type, e.event.source)
            for p in range(self.log.partitions)
            for e in self.log.read(p, 0, 10_000)
        ]

    def reasons(self, offset: int) -> tuple[FieldError, ...]:
        letter = self.dead_letters.get(dead_letter_id("payments", at(offset)))
        assert letter is not None
        return letter.errors


def at(offset: int) -> Origin:
    return Origin("payments", 0, offset)


@pytest.fixture
def twin() -> Twin:
    return Twin()


def test_valid_records_are_appended_in_order_in_one_go(twin: Twin) -> None:
    customer = new_id()
    events = [registered(customer), opened(customer), posted(customer), posted(customer)]
    tally = twin.take(*(record(wire(e)) for e in events))
    assert tally == IntakeTally(records=4, appended=4, duplicates=0, dead_lettered=0)
    assert [i for i, _, _ in twin.logged()] == [e.event_id for e in events]
    assert twin.dead_letters.page() == ([], 0)


def test_invalid_records_are_dead_lettered_with_the_intakes_field_errors(twin: Twin) -> None:
    customer = new_id()
    good = registered(customer)
    bad_amount = wire(posted(customer), payload={**wire(posted(customer))["payload"]})
    bad_amount["payload"]["amount"] = "ten"
    tally = twin.take(
        b"{not json",
        record(wire(good)),
        record({**wire(good, with_id=False), "type": "customer.teleported"}),
        record(bad_amount),
        None,
        record({**wire(good, with_id=False), "subjectId": "nobody"}),
    )
    assert tally.appended == 1 and tally.dead_lettered == 5
    assert twin.reasons(0)[0].field == "body"
    assert "not valid JSON" in twin.reasons(0)[0].message
    assert twin.reasons(2) == (
        FieldError("type", "unknown event type 'customer.teleported'; see GET /v1/event-types"),
    )
    assert [e.field for e in twin.reasons(3)] == ["payload.amount"]
    assert twin.reasons(4)[0].field == "body" and "empty" in twin.reasons(4)[0].message
    assert twin.reasons(5) == (FieldError("subjectId", "must be a UUID"),)
    letter = twin.dead_letters.get(dead_letter_id("payments", at(0)))
    assert letter is not None and letter.raw == b"{not json" and letter.received_at == NOW
    assert letter.source == "payments" and letter.status is Status.PENDING


def test_a_record_read_again_changes_nothing(twin: Twin) -> None:
    customer = new_id()
    values = [
        record(wire(registered(customer), with_id=False, source=None)),  # id fixed by place
        record(wire(posted(customer))),
        b"[]",
    ]
    first = twin.take(*values)
    assert (first.appended, first.dead_lettered) == (2, 1)
    again = twin.take(*values)  # the same offsets: a re-delivery after a crash
    assert again == IntakeTally(records=3, appended=0, duplicates=2, dead_lettered=0)
    assert len(twin.logged()) == 2 and twin.dead_letters.page()[1] == 1
    assert twin.logged()[0][0] == streamed_event_id("payments", at(0), 0)
    assert twin.logged()[0][2] == "payments"  # the source of events that name none
    later = twin.take(values[0], start=10)  # the same bytes at another offset: a new event
    assert later.appended == 1


def test_an_array_is_an_all_or_nothing_batch(twin: Twin) -> None:
    customer = new_id()
    batch = [wire(registered(customer), with_id=False), wire(opened(customer))]
    broken = [wire(registered(new_id())), {**wire(opened(customer)), "payload": {}}]
    tally = twin.take(record(batch), record(broken))
    assert (tally.appended, tally.dead_lettered) == (2, 1)
    assert twin.logged()[0][0] == streamed_event_id("payments", at(0), 0)
    assert {e.field for e in twin.reasons(1)} >= {"[1].payload.accountId"}


def test_a_failed_expected_version_dead_letters_that_record_alone(twin: Twin) -> None:
    customer = new_id()
    tally = twin.take(
        record(wire(registered(customer))),
        record(wire(opened(customer), expectedVersion=1)),  # holds: one event before it
        record(wire(posted(customer), expectedVersion=1)),  # the subject is at 2 by now
        record(wire(posted(customer))),
    )
    assert (tally.appended, tally.dead_lettered) == (3, 1)
    [reason] = twin.reasons(2)
    assert reason.field == "expectedVersion" and "is at version 2, not 1" in reason.message
    assert [t for _, t, _ in twin.logged()] == [
        "customer.registered",
        "account.opened",
        "transaction.posted",
    ]


def test_a_dead_letter_is_fixed_and_replayed_once(twin: Twin) -> None:
    customer = new_id()
    broken = wire(registered(customer), with_id=False)
    broken["payload"]["email"] = "not an email"
    twin.take(record(broken))
    letter_id = dead_letter_id("payments", at(0))
    with pytest.raises(IntakeError) as still:
        replay(twin, letter_id)
    assert still.value.errors[0].field == "payload.email"
    fixed = wire(registered(customer), with_id=False)
    replayed = replay(twin, letter_id, record(fixed))
    [result] = replayed.results
    assert result.event_id == streamed_event_id("payments", at(0), 0) and not result.duplicate
    assert replayed.letter.status is Status.REPLAYED
    assert replayed.letter.note is not None and "1 event(s) appended" in replayed.letter.note
    with pytest.raises(ConflictError, match="already replayed"):
        replay(twin, letter_id, record(fixed))
    with pytest.raises(NotFoundError):
        replay(twin, "no-such-letter")
    assert len(twin.logged()) == 1


def replay(twin: Twin, letter_id: str, fixed: bytes | None = None) -> Replayed:
    return replay_dead_letter(
        letter_id,
        log=twin.log,
        dead_letters=twin.dead_letters,
        intake=twin.intake,
        now=NOW,
        max_bytes=4096,
        fixed=fixed,
    )


def test_a_record_too_big_is_dead_lettered_unread(twin: Twin) -> None:
    tally = twin.take(b"[" + b" " * 5000 + b"]")
    assert tally.dead_lettered == 1
    assert "5,002 bytes; at most 4,096" in twin.reasons(0)[0].message


def test_records_read_together_give_the_events_read_one_by_one() -> None:
    together, one_by_one = Twin(), Twin()
    customer = new_id()
    values = [
        record(wire(registered(customer), with_id=False, source=None)),
        record(wire(opened(customer), occurredAt="2026-11-30T11:00:00+01:00")),
        record(wire(posted(customer, amount="12.34"), with_id=False)),
    ]
    together.take(*values)
    for offset, value in enumerate(values):
        one_by_one.take(value, start=offset)

    def events(twin: Twin) -> list[object]:
        logged = twin.log.read(twin.log.partition_of(customer), 0, 10)
        return [wire(e.event) for e in logged]

    assert events(together) == events(one_by_one) and len(events(together)) == 3


def test_an_id_fixed_by_a_place_is_the_uuid5_of_that_place() -> None:
    namespace = uuid.UUID("5a3d2c7b-91e0-4f6a-8b1d-c4e7f0a29d58")
    for origin in (Origin("payments", 0, 5), Origin("loads/d1.ndjson", None, 17)):
        for index in (0, 12):
            partition = "" if origin.partition is None else str(origin.partition)
            place = f"payments\x1f{origin.stream}\x1f{partition}\x1f{origin.position}\x1f{index}"
            expected = str(uuid.uuid5(namespace, place))
            assert streamed_event_id("payments", origin, index) == expected


def test_one_bad_record_among_many_leaves_the_others_read_as_one_by_one() -> None:
    together, one_by_one = Twin(), Twin()
    customer = new_id()
    values = [record(wire(posted(customer), with_id=n % 2 == 0)) for n in range(100)]
    values.insert(57, record({**wire(posted(customer)), "payload": {"amount": "1"}}))
    values.insert(3, record(wire(posted(customer), version=1, subjectId=customer.upper())))
    tally = together.take(*values)
    assert (tally.appended, tally.dead_lettered) == (101, 1)
    for offset, value in enumerate(values):
        one_by_one.take(value, start=offset)
    partition = together.log.partition_of(customer)
    assert [wire(e.event) for e in together.log.read(partition, 0, 1000)] == [
        wire(e.event) for e in one_by_one.log.read(partition, 0, 1000)
    ]
    assert together.reasons(58)[0].field.startswith("payload.")
