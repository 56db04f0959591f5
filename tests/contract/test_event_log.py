"""One contract, every event-log adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from banktwin.adapters import open_event_log
from banktwin.log.partitioners import kafka_partition
from banktwin.log.port import EventLog, partition_for
from tests.contract.event_logs import (
    ADAPTERS,
    PARTITIONS,
    LogFactory,
    log_factories,
    make_old_postgres_log,
    make_old_sqlite_log,
    postgres_parts,
)
from tests.factories import T0, event, new_id, opened, posted, registered


@pytest.fixture(params=ADAPTERS)
def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogFactory]:
    """Opens the same log again each call (as a restarted process would)."""
    yield from log_factories(request.param, request, tmp_path)


@pytest.fixture
def log(log_factory: LogFactory) -> EventLog:
    return log_factory()


class TestEventLogContract:
    def test_starts_empty_with_the_configured_partitions(self, log: EventLog) -> None:
        assert log.partitions == PARTITIONS
        assert log.end_offsets() == dict.fromkeys(range(PARTITIONS), 0)

    def test_read_types_decodes_only_those_types_and_says_how_far_it_looked(
        self, log: EventLog
    ) -> None:
        customer = new_id()
        events = [registered(customer), opened(customer, minutes=1), posted(customer, minutes=2)]
        events += [posted(customer, minutes=3), opened(customer, minutes=4)]
        log.append(events)
        partition = log.partition_of(customer)
        read = log.read_types(partition, 0, 4, {"transaction.posted"})
        assert [e.event.event_id for e in read.events] == [events[2].event_id, events[3].event_id]
        assert [e.offset for e in read.events] == [2, 3]
        assert (read.looked_at, read.next_offset) == (4, 4)
        assert read.events[0].event == log.read(partition, 2, 1)[0].event
        none = log.read_types(partition, 4, 10, {"transaction.posted"})
        assert (none.events, none.looked_at, none.next_offset) == ([], 1, 5)
        assert log.read_types(partition, 5, 10, {"transaction.posted"}) == ([], 0, 5)

    def test_append_returns_positions_in_order_and_read_gives_events_back(
        self, log: EventLog
    ) -> None:
        customer = new_id()
        events = [registered(customer), opened(customer, minutes=1), posted(customer, minutes=2)]
        results = log.append(events)
        partition = log.partition_of(customer)
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
            assert {le.partition for le in mine} == {log.partition_of(c)}
            assert [le.event.payload.amount for le in mine] == [  # type: ignore[attr-defined]
                pytest.approx(i + 1) for i in range(5)
            ]

    def test_read_pages_from_an_offset(self, log: EventLog) -> None:
        customer = new_id()
        log.append([posted(customer, minutes=i) for i in range(10)])
        partition = log.partition_of(customer)
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

    def test_read_subject_since_gives_a_window_with_both_ends_included(self, log: EventLog) -> None:
        customer = new_id()
        events = [posted(customer, minutes=m) for m in (0, 30, 60, 90, 120)]
        log.append(events)
        since, until = T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)

        window = list(log.read_subject(customer, until=until, since=since))

        assert [le.event.event_id for le in window] == [e.event_id for e in events[1:4]]
        assert len(list(log.read_subject(customer, since=since))) == 4
        assert list(log.read_subject(customer, since=T0 + timedelta(days=1))) == []

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

    def test_a_new_log_places_subjects_as_kafkas_default_partitioner_does(
        self, log: EventLog
    ) -> None:
        assert log.partitioner == "murmur2"
        customers = [new_id() for _ in range(30)] + ["21", "foobar", "C-1"]
        for c in customers:
            assert log.partition_of(c) == kafka_partition(c.encode(), PARTITIONS)
        results = log.append([registered(c) for c in customers])
        assert [r.partition for r in results] == [log.partition_of(c) for c in customers]
        assert len({r.partition for r in results}) == PARTITIONS


_RECORDED = "SELECT value FROM log_meta WHERE key = 'partitioner'"


def _recorded_partitioner(url: str) -> str | None:
    """What the log at ``url`` records in ``log_meta`` (read directly, not by the adapter)."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            row = conn.execute(_RECORDED).fetchone()
        conn.close()
    else:
        bare, schema = postgres_parts(url)
        with psycopg.connect(bare, options=f"-c search_path={schema}") as pg:
            row = pg.execute(_RECORDED).fetchone()
    return None if row is None else str(row[0])


def _durable_url(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if adapter == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
def test_a_new_log_records_murmur2(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _durable_url(adapter, request, tmp_path)
    open_event_log(url).close()
    assert _recorded_partitioner(url) == "murmur2"
    reopened = open_event_log(url)
    assert reopened.partitioner == "murmur2"
    reopened.close()


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
def test_a_log_made_before_partitioners_were_recorded_keeps_crc32(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    customers = [new_id() for _ in range(20)]
    old_events = [registered(c) for c in customers] + [opened(c, minutes=1) for c in customers]
    url = _durable_url(adapter, request, tmp_path)
    if adapter == "sqlite":
        make_old_sqlite_log(tmp_path / "log.db", old_events)
    else:
        make_old_postgres_log(url, old_events)
    assert _recorded_partitioner(url) is None
    ends = dict.fromkeys(range(PARTITIONS), 0)
    for c in customers:
        ends[partition_for(c, PARTITIONS)] += 2

    log = open_event_log(url)
    try:
        assert (log.partitioner, log.partitions) == ("crc32", PARTITIONS)
        assert _recorded_partitioner(url) == "crc32"
        assert log.end_offsets() == ends
        for c in customers:
            assert log.partition_of(c) == partition_for(c, PARTITIONS)
            assert [le.partition for le in log.read_subject(c)] == [log.partition_of(c)] * 2
        results = log.append([posted(c, minutes=2) for c in customers])
        assert [r.partition for r in results] == [partition_for(c, PARTITIONS) for c in customers]
        assert sorted(r.offset for r in results if r.partition == 0) == list(
            range(ends[0], ends[0] + sum(1 for r in results if r.partition == 0))
        )
    finally:
        log.close()
    reopened = open_event_log(url)
    try:
        assert reopened.partitioner == "crc32"
        assert all(len(list(reopened.read_subject(c))) == 3 for c in customers)
    finally:
        reopened.close()
