"""A branch's day so far: customers joined, served and abandoned, waits, queue peaks and staff
movements, in total, per service and per hour, from the branch's own events.

Days and hours are UTC. The figures are a function of the branch's events that occurred in the
day up to a moment, taken in the order they occurred (the log's order of arrival does not
matter): a ticket's wait is from its join to its service, wherever either arrived, and the
queue's length follows joins, departures and closings (a closing sends everyone home, as in
the twin). Tickets and staff from the day before count as they stood when the day began, from
the ``CARRY_OVER`` before it (a branch closes every night, so more is never needed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from banktwin.domain.events import Event
from banktwin.domain.payloads.branch import (
    QueueAbandoned,
    QueueJoined,
    QueueServed,
    StaffCheckedIn,
    StaffCheckedOut,
)

DAY = timedelta(days=1)
CARRY_OVER = timedelta(days=1)
"""How far before the day events are read for the tickets and staff it starts with."""

_SAME_INSTANT_ORDER = {
    "branch.opened": 0,
    "branch.staff_checked_in": 1,
    "queue.joined": 2,
    "queue.served": 3,
    "queue.abandoned": 3,
    "branch.staff_checked_out": 4,
    "branch.closed": 5,
}
"""At one instant: the doors open, staff arrive, customers join, leave, staff go, doors close."""


@dataclass(frozen=True, slots=True)
class HourOfDay:
    """One hour of the day (``hour`` 0 to 23, UTC)."""

    hour: int
    joined: int
    served: int
    abandoned: int
    mean_wait_minutes: float | None
    """Mean wait of the customers served in the hour (``None``: nobody with a known join)."""
    peak_queue: int
    """The most customers waiting at once in the hour (all services)."""
    staff_check_ins: int
    staff_check_outs: int


@dataclass(frozen=True, slots=True)
class ServiceOfDay:
    """One service's queue over the day."""

    service: str
    joined: int
    served: int
    abandoned: int
    mean_wait_minutes: float | None
    longest_wait_minutes: float | None


@dataclass(frozen=True, slots=True)
class BranchDay:
    """A branch's day up to ``until``."""

    day: date
    until: datetime
    """The figures cover the day's events that occurred up to this time (its end, or now)."""
    opened_at: datetime | None
    """The day's first opening."""
    closed_at: datetime | None
    """The day's last closing."""
    joined: int
    served: int
    abandoned: int
    mean_wait_minutes: float | None
    """Mean wait (join to service) of the customers served in the day whose join is known."""
    longest_wait_minutes: float | None
    peak_queue: int
    """The most customers waiting at once (all services)."""
    peak_queue_at: datetime | None
    """When the peak was first reached (``None``: nobody waited)."""
    waiting_at_until: int
    """Customers still waiting at ``until``."""
    staff_check_ins: int
    staff_check_outs: int
    peak_staff: int
    """The most staff on duty at once."""
    services: tuple[ServiceOfDay, ...]
    """By service name."""
    hours: tuple[HourOfDay, ...]
    """Every hour from midnight to the hour of ``until``, in order."""


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the ends of the calendar (year 1, year 9999)."""
    try:
        return moment + delta
    except OverflowError:
        return _LATEST if delta > timedelta(0) else _EARLIEST


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start of ``day`` and of the next, UTC (the last day of year 9999 ends at its last
    instant)."""
    start = datetime.combine(day, time(), UTC)
    return start, _shifted(start, DAY)


def events_needed(day: date) -> datetime:
    """The earliest moment whose events a branch's figures for ``day`` depend on (the
    ``CARRY_OVER`` before it): a reader need not fetch older ones."""
    return _shifted(day_bounds(day)[0], -CARRY_OVER)


@dataclass
class _Counts:
    joined: int = 0
    served: int = 0
    abandoned: int = 0
    waits: list[float] = field(default_factory=list)


@dataclass
class _Hour:
    counts: _Counts = field(default_factory=_Counts)
    peak_queue: int = 0
    check_ins: int = 0
    check_outs: int = 0


@dataclass
class _Replay:
    """The branch as the events replayed so far leave it, and the day's tallies."""

    start: datetime
    joins: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    """Ticket → service and the (earliest) time it joined."""
    departed: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    staff: set[str] = field(default_factory=set)
    left_in_day: list[tuple[str, datetime, bool]] = field(default_factory=list)
    """Tickets that left in the day, when, and whether served (counted once every join is
    known)."""
    total: _Counts = field(default_factory=_Counts)
    per_service: dict[str, _Counts] = field(default_factory=dict)
    hours: dict[int, _Hour] = field(default_factory=dict)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    peak_queue: int = 0
    peak_queue_at: datetime | None = None
    peak_staff: int = 0
    check_ins: int = 0
    check_outs: int = 0
    began: bool = False
    """Whether an event of the day was applied (the day's starting state is then known)."""
    queue_at_start: int = 0
    """Customers waiting as the day began."""
    queue_after: list[tuple[int, int]] = field(default_factory=list)
    """After each event of the day: its hour and the customers then waiting."""

    def hour(self, at: datetime) -> _Hour:
        """The tallies of the hour of ``at`` (made, the first time, with the queue as it
        stood when the hour began: before the event being applied)."""
        index = int((at - self.start) // timedelta(hours=1))
        found = self.hours.get(index)
        if found is None:
            found = self.hours[index] = _Hour(peak_queue=len(self.waiting))
        return found

    def begin_day(self) -> None:
        """Take the tickets and staff the day starts with as its first peaks."""
        self.began = True
        self.queue_at_start = len(self.waiting)
        self.peak_queue = len(self.waiting)
        self.peak_queue_at = self.start if self.waiting else None
        self.peak_staff = len(self.staff)

    def queue_at_hour(self, index: int) -> int:
        """Customers waiting as hour ``index`` began."""
        before = [queue for hour, queue in self.queue_after if hour < index]
        return before[-1] if before else self.queue_at_start

    def service(self, name: str) -> _Counts:
        return self.per_service.setdefault(name, _Counts())

    def apply(self, e: Event) -> None:
        in_day = e.occurred_at >= self.start
        if in_day:
            if not self.began:
                self.begin_day()
            self.hour(e.occurred_at)
        kind = e.type
        if kind == "queue.joined":
            self._joined(e, in_day)
        elif kind in ("queue.served", "queue.abandoned"):
            self._departed(e, in_day)
        elif kind == "branch.closed":
            self.waiting.clear()  # sent home
            self.staff.clear()
            if in_day:
                self.closed_at = e.occurred_at
        elif kind == "branch.opened":
            if in_day and self.opened_at is None:
                self.opened_at = e.occurred_at
        elif kind == "branch.staff_checked_in":
            self.staff.add(cast(StaffCheckedIn, e.payload).staff_id)
            if in_day:
                self.check_ins += 1
                self.hour(e.occurred_at).check_ins += 1
        elif kind == "branch.staff_checked_out":
            self.staff.discard(cast(StaffCheckedOut, e.payload).staff_id)
            if in_day:
                self.check_outs += 1
                self.hour(e.occurred_at).check_outs += 1
        if in_day:
            self._peaks(e.occurred_at)
            index = int((e.occurred_at - self.start) // timedelta(hours=1))
            self.queue_after.append((index, len(self.waiting)))

    def _joined(self, e: Event, in_day: bool) -> None:
        p = cast(QueueJoined, e.payload)
        if p.ticket_id in self.joins:
            return  # a ticket joins once
        self.joins[p.ticket_id] = (p.service, e.occurred_at)
        if p.ticket_id not in self.departed:
            self.waiting.add(p.ticket_id)
        if in_day:
            for counts in (self.total, self.service(p.service), self.hour(e.occurred_at).counts):
                counts.joined += 1

    def _departed(self, e: Event, in_day: bool) -> None:
        p = cast(QueueServed | QueueAbandoned, e.payload)
        ticket = p.ticket_id
        if ticket in self.departed:
            return  # a ticket leaves once
        self.departed.add(ticket)
        self.waiting.discard(ticket)
        if in_day:
            self.left_in_day.append((ticket, e.occurred_at, isinstance(p, QueueServed)))

    def _peaks(self, at: datetime) -> None:
        queue = len(self.waiting)
        hour = self.hour(at)
        hour.peak_queue = max(hour.peak_queue, queue)
        if queue > self.peak_queue:
            self.peak_queue, self.peak_queue_at = queue, at
        self.peak_staff = max(self.peak_staff, len(self.staff))

    def count_departures(self) -> None:
        """Each departure of the day in its service, and each served ticket's wait, now that
        every join is known (a departure may have occurred before its join: the wait is then
        0, as the twin counts it). A ticket whose join is not known counts in no service."""
        for ticket, at, served in self.left_in_day:
            joined = self.joins.get(ticket)
            tallies = [self.total, self.hour(at).counts]
            if joined is not None:
                tallies.append(self.service(joined[0]))
            for counts in tallies:
                if not served:
                    counts.abandoned += 1
                    continue
                counts.served += 1
                if joined is not None:
                    wait = (at - joined[1]).total_seconds() / 60.0
                    counts.waits.append(max(wait, 0.0))


def _mean(waits: list[float]) -> float | None:
    return round(sum(waits) / len(waits), 1) if waits else None


def _longest(waits: list[float]) -> float | None:
    return round(max(waits), 1) if waits else None


def _order(e: Event) -> tuple[datetime, int, str]:
    return e.occurred_at, _SAME_INSTANT_ORDER.get(e.type, 9), e.event_id


def branch_day(events: Iterable[Event], day: date, until: datetime) -> BranchDay:
    """The day's figures from a branch's events.

    Args:
        events: the branch's events, in any order; those that occurred before the day's
            ``CARRY_OVER``, after ``until`` or after the day are left out (so the whole
            history as the log gives it will do).
        day: the UTC day.
        until: the moment the figures reach: the day's end for a past day, now for today.

    Returns:
        Totals, per service and per hour (midnight to the hour of ``until``).
    """
    start, end = day_bounds(day)
    earliest = events_needed(day)
    cut = min(until, end)
    kept = sorted(
        (e for e in events if earliest <= e.occurred_at < end and e.occurred_at <= until),
        key=_order,
    )
    replay = _Replay(start)
    for e in kept:
        replay.apply(e)
    if not replay.began:  # nothing happened in the day: it stands as the day before left it
        replay.begin_day()
    replay.count_departures()
    last_hour = -1 if cut <= start else min(int((cut - start) // timedelta(hours=1)), 23)
    if cut == end:
        last_hour = 23
    hours = []
    queue_now = len(replay.waiting)
    for index in range(last_hour + 1):
        h = replay.hours.get(index)
        if h is None:  # nothing happened: the queue stood as the hour before left it
            h = _Hour(peak_queue=replay.queue_at_hour(index))
        c = h.counts
        hours.append(
            HourOfDay(
                index,
                c.joined,
                c.served,
                c.abandoned,
                _mean(c.waits),
                h.peak_queue,
                h.check_ins,
                h.check_outs,
            )
        )
    t = replay.total
    return BranchDay(
        day=day,
        until=cut,
        opened_at=replay.opened_at,
        closed_at=replay.closed_at,
        joined=t.joined,
        served=t.served,
        abandoned=t.abandoned,
        mean_wait_minutes=_mean(t.waits),
        longest_wait_minutes=_longest(t.waits),
        peak_queue=replay.peak_queue,
        peak_queue_at=replay.peak_queue_at,
        waiting_at_until=queue_now,
        staff_check_ins=replay.check_ins,
        staff_check_outs=replay.check_outs,
        peak_staff=replay.peak_staff,
        services=tuple(
            ServiceOfDay(
                name,
                c.joined,
                c.served,
                c.abandoned,
                _mean(c.waits),
                _longest(c.waits),
            )
            for name, c in sorted(replay.per_service.items())
        ),
        hours=tuple(hours),
    )
