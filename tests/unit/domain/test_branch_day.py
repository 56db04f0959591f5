"""A branch's day so far, from its events: totals, per service and per hour, in any order of
arrival, with yesterday's tickets and staff carried over and tomorrow's left out."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from banktwin.domain.branch_day import BranchDay, branch_day, day_bounds, events_needed
from banktwin.domain.events import Event
from tests.factories import event

BRANCH = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b00"
DAY = date(2025, 9, 15)
START, END = day_bounds(DAY)


def at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    return START + timedelta(days=days, hours=hour, minutes=minute)


def e(type_: str, when: datetime, **payload: Any) -> Event:
    return event(type_, BRANCH, payload, at=when)


def joined(ticket: str, when: datetime, service: str = "teller") -> Event:
    return e("queue.joined", when, ticketId=ticket, service=service)


def served(ticket: str, when: datetime) -> Event:
    return e("queue.served", when, ticketId=ticket)


def abandoned(ticket: str, when: datetime) -> Event:
    return e("queue.abandoned", when, ticketId=ticket)


def a_day() -> list[Event]:
    """09:00 open, two tellers and a loans adviser; five customers; 17:00 closed."""
    return [
        e("branch.opened", at(9), services=[{"service": "teller"}, {"service": "loans"}]),
        e("branch.staff_checked_in", at(9), staffId="S1"),
        e("branch.staff_checked_in", at(9, 5), staffId="S2"),
        joined("T1", at(9, 10)),
        joined("T2", at(9, 12)),
        joined("T3", at(9, 15), "loans"),
        served("T1", at(9, 20)),  # waited 10 min
        served("T2", at(9, 42)),  # waited 30 min
        abandoned("T3", at(10, 5)),
        joined("T4", at(10, 30)),
        served("T4", at(10, 35)),  # waited 5 min
        joined("T5", at(16, 50), "loans"),
        e("branch.staff_checked_out", at(16, 30), staffId="S2"),
        e("branch.closed", at(17)),  # T5 is sent home
    ]


def test_a_day_in_total_per_service_and_per_hour() -> None:
    day = branch_day(a_day(), DAY, END)
    assert (day.joined, day.served, day.abandoned) == (5, 3, 1)
    assert day.mean_wait_minutes == 15.0 and day.longest_wait_minutes == 30.0
    assert (day.peak_queue, day.peak_queue_at) == (3, at(9, 15))
    assert day.waiting_at_until == 0  # the closing sent T5 home
    assert (day.staff_check_ins, day.staff_check_outs, day.peak_staff) == (2, 1, 2)
    assert (day.opened_at, day.closed_at, day.until) == (at(9), at(17), END)

    loans, teller = day.services  # by name
    assert (loans.service, loans.joined, loans.served, loans.abandoned) == ("loans", 2, 0, 1)
    assert loans.mean_wait_minutes is None and loans.longest_wait_minutes is None
    assert (teller.service, teller.joined, teller.served) == ("teller", 3, 3)
    assert (teller.mean_wait_minutes, teller.longest_wait_minutes) == (15.0, 30.0)

    assert [h.hour for h in day.hours] == list(range(24))
    nine, ten = day.hours[9], day.hours[10]
    assert (nine.joined, nine.served, nine.abandoned, nine.peak_queue) == (3, 2, 0, 3)
    assert nine.mean_wait_minutes == 20.0 and nine.staff_check_ins == 2
    assert (ten.joined, ten.served, ten.abandoned, ten.mean_wait_minutes) == (1, 1, 1, 5.0)
    assert ten.peak_queue == 1  # T3 still waiting as the hour began, T4 after it left
    assert day.hours[16].peak_queue == 1 and day.hours[16].staff_check_outs == 1
    assert day.hours[12].peak_queue == 0 and day.hours[3].joined == 0


def test_the_figures_do_not_depend_on_the_order_events_arrive_in() -> None:
    events = a_day()
    expected = branch_day(events, DAY, END)
    shuffled = list(events)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert branch_day(shuffled, DAY, END) == expected
    assert branch_day(reversed(events), DAY, END) == expected


def test_the_day_so_far_stops_at_until() -> None:
    day = branch_day(a_day(), DAY, at(9, 30))
    assert (day.joined, day.served, day.abandoned) == (3, 1, 0)
    assert day.waiting_at_until == 2 and day.until == at(9, 30)
    assert [h.hour for h in day.hours] == list(range(10))  # up to the hour of ``until``
    assert day.closed_at is None and day.mean_wait_minutes == 10.0


def test_yesterday_s_tickets_and_staff_carry_over_and_tomorrow_is_left_out() -> None:
    events = [
        e("branch.staff_checked_in", at(23, 0, days=-1), staffId="NIGHT"),
        joined("LATE", at(23, 50, days=-1)),
        served("LATE", at(0, 10)),  # waited 20 min, across midnight
        joined("OLD", at(1, 0, days=-2)),  # before the carry-over: not known
        served("OLD", at(0, 20)),
        e("branch.staff_checked_out", at(0, 30), staffId="NIGHT"),
        joined("NEXT", at(0, 5, days=1)),  # tomorrow
    ]
    day = branch_day(events, DAY, END)
    assert (day.joined, day.served) == (0, 2)
    assert day.mean_wait_minutes == 20.0  # OLD's join is unknown: no wait
    assert (day.peak_queue, day.peak_queue_at) == (1, START)  # LATE was waiting at midnight
    assert day.hours[0].peak_queue == 1 and day.hours[1].peak_queue == 0
    assert day.peak_staff == 1 and day.staff_check_outs == 1 and day.staff_check_ins == 0
    assert [s.service for s in day.services] == ["teller"]  # OLD counts in no service


def test_a_reader_may_leave_out_what_occurred_before_the_events_needed() -> None:
    events = [
        joined("OLD", at(1, 0, days=-2)),
        e("branch.staff_checked_in", at(23, 0, days=-1), staffId="NIGHT"),
        joined("LATE", at(23, 50, days=-1)),
        served("LATE", at(0, 10)),
        served("OLD", at(0, 20)),
        joined("T1", at(9)),
    ]
    needed = events_needed(DAY)
    assert needed == at(0, days=-1)
    recent = [ev for ev in events if ev.occurred_at >= needed]
    assert branch_day(recent, DAY, END) == branch_day(events, DAY, END)


def test_a_departure_before_its_join_and_repeated_events_count_once() -> None:
    events = [
        served("T1", at(10)),
        joined("T1", at(10, 5)),  # occurred after its service: a wait of 0
        joined("T1", at(10, 6)),  # the join again
        served("T1", at(10, 7)),  # and the service again
        abandoned("T2", at(11)),
    ]
    day = branch_day(events, DAY, END)
    assert (day.joined, day.served, day.abandoned) == (1, 1, 1)
    assert day.mean_wait_minutes == 0.0 and day.peak_queue == 0


def test_a_quiet_day_and_a_day_not_begun() -> None:
    quiet = branch_day([e("branch.opened", at(9, days=-3))], DAY, END)
    assert isinstance(quiet, BranchDay)
    assert (quiet.joined, quiet.peak_queue, quiet.peak_queue_at) == (0, 0, None)
    assert len(quiet.hours) == 24 and quiet.mean_wait_minutes is None
    not_begun = branch_day(a_day(), DAY, START - timedelta(minutes=1))
    assert not_begun.hours == () and not_begun.joined == 0


@pytest.mark.parametrize("until", [END, END + timedelta(days=3)])
def test_a_past_day_ends_at_midnight(until: datetime) -> None:
    assert branch_day(a_day(), DAY, until).until == END


def test_hours_are_utc() -> None:
    berlin = datetime(2025, 9, 15, 11, 0, tzinfo=UTC).astimezone()  # any offset: one instant
    day = branch_day([joined("T1", berlin)], DAY, END)
    assert day.hours[11].joined == 1


@pytest.mark.parametrize("day", [date.min, date.max])
def test_the_first_and_last_days_of_the_calendar_have_figures_too(day: date) -> None:
    figures = branch_day(a_day(), day, datetime.max.replace(tzinfo=UTC))
    assert figures.joined == 0 and len(figures.hours) == 24
