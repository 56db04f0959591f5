"""Expected-version appends, on every event-log adapter: a subject's version is the number of
its events; an append naming a version goes ahead only at that version, all or none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from banktwin.errors import VersionConflictError
from banktwin.log.port import AppendResult, EventLog
from tests.contract.event_logs import ADAPTERS, LogFactory, log_factories
from tests.factories import new_id, opened, posted, registered


@pytest.fixture(params=ADAPTERS)
def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogFactory]:
    yield from log_factories(request.param, request, tmp_path)


@pytest.fixture
def log(log_factory: LogFactory) -> EventLog:
    return log_factory()


def test_a_subjects_version_counts_its_events(log: EventLog) -> None:
    customer, other = new_id(), new_id()
    assert log.subject_version(customer) == 0
    first = registered(customer)
    log.append([first, opened(customer), registered(other)])
    log.append([first])  # a duplicate is not counted again
    assert log.subject_version(customer) == 2
    assert log.subject_version(other) == 1


def test_an_append_at_the_expected_version_goes_ahead(log: EventLog) -> None:
    customer = new_id()
    log.append([registered(customer)], expected={customer: 0})
    results = log.append([opened(customer), posted(customer)], expected={customer: 1})
    assert not any(r.duplicate for r in results)
    assert log.subject_version(customer) == 3


def test_an_append_at_a_stale_version_conflicts_and_logs_nothing(log: EventLog) -> None:
    customer, bystander = new_id(), new_id()
    log.append([registered(customer), opened(customer)])
    ends = log.end_offsets()
    with pytest.raises(VersionConflictError) as raised:
        log.append(
            [registered(bystander), posted(customer), posted(bystander)],
            expected={bystander: 0, customer: 1},
        )
    assert (raised.value.subject_id, raised.value.expected, raised.value.actual) == (
        customer,
        1,
        2,
    )
    assert log.end_offsets() == ends  # not even the other subject's events
    assert log.subject_version(bystander) == 0


def test_a_subject_without_events_in_the_append_is_checked_too(log: EventLog) -> None:
    customer, decided_on = new_id(), new_id()
    log.append([registered(decided_on)])
    with pytest.raises(VersionConflictError):
        log.append([registered(customer)], expected={decided_on: 0})
    log.append([registered(customer)], expected={decided_on: 1})
    assert log.subject_version(customer) == 1


def test_a_retried_conditional_append_gets_its_results_without_a_conflict(
    log: EventLog,
) -> None:
    customer = new_id()
    log.append([registered(customer)])
    events = [opened(customer), posted(customer)]
    first = log.append(events, expected={customer: 1})
    again = log.append(events, expected={customer: 1})  # the answer was lost: sent again
    assert [r.duplicate for r in again] == [True, True]
    assert [(r.partition, r.offset) for r in again] == [(r.partition, r.offset) for r in first]
    assert log.subject_version(customer) == 3


def _race(
    log: EventLog,
    customer: str,
    version: int,
    barrier: threading.Barrier,
    outcomes: list[AppendResult | VersionConflictError],
) -> None:
    barrier.wait()
    try:
        outcomes.append(log.append([posted(customer)], expected={customer: version})[0])
    except VersionConflictError as exc:
        outcomes.append(exc)


def test_racing_appends_at_one_version_let_exactly_one_through(log_factory: LogFactory) -> None:
    customer = new_id()
    logs = [log_factory(), log_factory()]  # two connections (one object in memory)
    logs[0].append([registered(customer)])
    for round_ in range(5):
        version = 1 + round_
        barrier = threading.Barrier(len(logs))
        outcomes: list[AppendResult | VersionConflictError] = []

        threads = [
            threading.Thread(target=_race, args=(log, customer, version, barrier, outcomes))
            for log in logs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(isinstance(o, AppendResult) for o in outcomes) == 1
        assert sum(isinstance(o, VersionConflictError) for o in outcomes) == 1
        assert logs[1].subject_version(customer) == version + 1
