"""One contract, every event-log adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from banktwin.adapters import open_event_log
from banktwin.log.port import EventLog, partition_for
from tests.factories import T0, event, new_id, opened, posted, registered

PARTITIONS = 3

LogFactory = Callable[[], EventLog]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogFactory]:
    """Opens the same log again each call (as a restarted process would)."""
    if request.param == "memory":
        shared = open_event_log(f"memory://?partitions={PARTITIONS}")
        opened_logs = [shared]
        yield lambda: shared
    else:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'log.db'}?partitions={PARTITIONS}"
        else:
            base = request.getfixturevalue("postgres_url")
            url = f"{base}&partitions={PARTITIONS}"
        opened_logs = []

        def factory() -> EventLog:
            log = open_event_log(url)
            opened_logs.append(log)
            return log

        yield factory
    for log in opened_logs:
        log.close()


@pytest.fixture
def log(log_factory: LogFactory) -> EventLog:
    return log_factory()


class TestEventLogContract:
    def test_starts_empty_with_the_configured_partitions(self, log: EventLog) -> None:
        assert log.partitions == PARTITIONS
        assert log.end_offsets() == dict.fromkeys(range(PARTITIONS), 0)

    def test_append_returns_positions_in_order_and_read_gives_events_back(
        self, log: EventLog
    ) -> None:
        customer = new_id()
        events = [registered(customer), opened(customer, minutes=1), posted(customer, minutes=2)]
        results = log.append(events)
        partition = partition_for(customer, PARTITIONS)
        assert [r.event_id for r in results] == [e.event_id for e in events]
        assert [(r.partition, r.offset) for r in results] == [(partition, i) for i in range(3)]
        assert not any(r.duplicate for r in results)
        read = log.read(partition, 0, 10)
        assert [le.event.event_id for le in read] == [e.event_id for e in events]
        assert [le.offset for le in read] == [0, 1, 2]
        for original, logged in zip(events, read, strict=True):
            assert replace(logged.event, recorded_at=None) == original
            assert logged.event.recorded_at is not None

    def test_same_event_id_twice_is_a_no_op_returning_the_original(self, log: EventLog) -> None:
        customer = new_id()
        first = log.append([registered(customer)])[0]
        again = log.append([registered(customer, event_id=first.event_id, minutes=5)])[0]
        assert again.duplicate
        assert (again.partition, again.offset) == (first.partition, first.offset)
        assert sum(log.end_offsets().values()) == 1

    def test_duplicates_inside_one_batch_are_appended_once(self, log: EventLog) -> None:
        customer = new_id()
        e = registered(customer)
        results = log.append([e, e])
        assert not results[0].duplicate and results[1].duplicate
        assert results[1].offset == results[0].offset
        assert sum(log.end_offsets().values()) == 1

    def test_events_of_a_subject_share_a_partition_and_keep_their_order(
        self, log: EventLog
    ) -> None:
        customers = [new_id() for _ in range(12)]
        batch = [posted(c, amount=f"{i + 1}.00", minutes=i) for i in range(5) for c in customers]
        log.append(batch)
        ends = log.end_offsets()
        assert sum(ends.values()) == len(batch)
        for c in customers:
            mine = list(log.read_subject(c))
            assert len(mine) == 5
            assert {le.partition for le in mine} == {partition_for(c, PARTITIONS)}
            assert [le.event.payload.amount for le in mine] == [  # type: ignore[attr-defined]
                pytest.approx(i + 1) for i in range(5)
            ]

    def test_read_pages_from_an_offset(self, log: EventLog) -> None:
        customer = new_id()
        log.append([posted(customer, minutes=i) for i in range(10)])
        partition = partition_for(customer, PARTITIONS)
        page = log.read(partition, 4, 3)
        assert [le.offset for le in page] == [4, 5, 6]
        assert log.read(partition, 10, 5) == []

    def test_read_subject_until_gives_the_past_only(self, log: EventLog) -> None:
        customer = new_id()
        log.append(
            [registered(customer), posted(customer, minutes=60), posted(customer, minutes=120)]
        )
        until = T0.replace(hour=15)
        assert len(list(log.read_subject(customer, until=until))) == 2
        assert len(list(log.read_subject(customer))) == 3
        assert list(log.read_subject(new_id())) == []

    def test_appended_events_survive_reopening(self, log_factory: LogFactory) -> None:
        customer = new_id()
        first = log_factory()
        first.append([registered(customer), opened(customer)])
        reopened = log_factory()
        assert len(list(reopened.read_subject(customer))) == 2
        assert reopened.append([registered(customer)])[0].duplicate is False

    def test_concurrent_appends_lose_nothing_and_assign_unique_offsets(self, log: EventLog) -> None:
        def writer(n: int) -> None:
            for _ in range(n):
                log.append([posted(new_id()) for _ in range(5)])

        threads = [threading.Thread(target=writer, args=(20,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(log.end_offsets().values()) == 4 * 20 * 5
        for partition, end in log.end_offsets().items():
            offsets = [le.offset for le in log.read(partition, 0, end + 1)]
            assert offsets == list(range(end))

    def test_payload_money_round_trips_exactly(self, log: EventLog) -> None:
        customer = new_id()
        log.append([posted(customer, amount="1234567890123456.78")])
        (logged,) = log.read_subject(customer)
        assert str(logged.event.payload.amount) == "1234567890123456.78"  # type: ignore[attr-defined]

    def test_partial_update_keeps_given_nulls_apart_from_missing_fields(
        self, log: EventLog
    ) -> None:
        customer = new_id()
        log.append([event("customer.profile_updated", customer, {"email": None, "name": "J"})])
        (logged,) = log.read_subject(customer)
        assert logged.event.payload.model_fields_set == {"email", "name"}

    def test_ping_succeeds_on_a_reachable_log(self, log: EventLog) -> None:
        log.ping()
