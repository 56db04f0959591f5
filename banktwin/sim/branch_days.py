"""A branch's day: staff arrive, doors open, customers queue and are served (or give up),
doors close.

Queues follow a simple multi-server model: a visitor joining is served by the first person
on duty who offers the service and is free (after the people ahead, and not during their
lunch break); someone whose wait would exceed their patience abandons. Every ticket is
served or abandoned before closing time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from banktwin.domain.payloads.branch import (
    WEEKDAYS,
    BranchClosed,
    BranchOpened,
    QueueAbandoned,
    QueueJoined,
    QueueServed,
    ServiceAvailabilityChanged,
    StaffCheckedIn,
    StaffCheckedOut,
)
from banktwin.sim.bank_model import SimBranch, StaffMember
from banktwin.sim.context import SimContext
from banktwin.sim.geography import utc_offset_seconds
from banktwin.sim.rhythms import (
    BRANCH_VISITS_BY_HOUR,
    BRANCH_VISITS_DEFAULT,
    BRANCH_VISITS_PEAK,
    SATURDAY_VISITS,
)
from banktwin.sim.timeline import HOUR, MINUTE, SECOND, local_date, local_instant

LAST_TICKET_BEFORE_CLOSING = 20 * MINUTE
ABSENCE_RATE = 0.08
DETAILS_RESENT_RATE = 0.05
OUTAGE_RATE = 0.04
OUTAGE_REASONS = ("system outage", "staff shortage", "cash machine maintenance")


def opening_hours(branch: SimBranch, day: date) -> tuple[int, int] | None:
    """Opening and closing instants of the branch on ``day`` (``None``: closed all day)."""
    hours = branch.open_hours.get(WEEKDAYS[day.weekday()])
    if hours is None:
        return None
    start, end = hours.split("-")
    minutes = [int(t[:2]) * 60 + int(t[3:]) for t in (start, end)]
    return local_instant(branch.city, day, minutes[0]), local_instant(branch.city, day, minutes[1])


def details(branch: SimBranch) -> BranchOpened:
    """An opening that also (re)states the branch's details."""
    return BranchOpened(
        name=branch.name,
        address=branch.address,
        location=branch.location,
        open_hours=branch.open_hours,
        services=list(branch.services),
        capacity=branch.capacity,
    )


@dataclass(slots=True)
class Shift:
    """A staff member's day: when they are next free, and their lunch break."""

    member: StaffMember
    free_at: int
    break_start: int = 0
    break_end: int = 0

    def earliest_start(self, at: int, handling: int) -> int:
        """When this person could start serving someone who joins at ``at``."""
        start = max(at, self.free_at)
        if self.break_end and start < self.break_end and start + handling > self.break_start:
            start = max(start, self.break_end)
        return start


@dataclass(slots=True)
class BranchDay:
    """One opening day of a branch and its running state."""

    branch: SimBranch
    opens: int
    closes: int
    utc_offset: int
    saturday: bool
    shifts: list[Shift] = field(default_factory=list)
    unavailable: str | None = None


class BranchOperations:
    """Runs every branch's days."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._emit = ctx.emitter.emit

    def start(self, branch: SimBranch, at: int) -> None:
        """Plan the branch's days from ``at`` on (its details were sent at registration)."""
        self._plan_day(at, branch, local_date(branch.city, at))

    def _plan_day(self, at: int, branch: SimBranch, day: date) -> None:
        schedule, rng = self._ctx.scheduler.at, self._rng
        following = day + timedelta(days=1)
        schedule(
            max(local_instant(branch.city, following, 0), at), self._plan_day, branch, following
        )
        hours = opening_hours(branch, day)
        if hours is None or hours[1] - LAST_TICKET_BEFORE_CLOSING <= at:
            return
        opens, closes = max(hours[0], at), hours[1]
        offset = utc_offset_seconds(branch.city, opens / SECOND)
        today = BranchDay(branch, opens, closes, offset, day.weekday() == 5)
        for member in branch.staff:
            if rng.random() < ABSENCE_RATE:
                continue
            arrives = max(opens - rng.randint(5, 25) * MINUTE, at)
            if rng.random() < 0.1:
                arrives = opens + rng.randint(10, 60) * MINUTE
            shift = Shift(member, arrives)
            lunch = local_instant(branch.city, day, rng.randint(720, 810))
            if closes - opens > 6 * HOUR and lunch > arrives and rng.random() < 0.35:
                shift.break_start = lunch
                shift.break_end = lunch + rng.randint(30, 45) * MINUTE
                schedule(shift.break_start, self._staff_out, branch, member)
                schedule(shift.break_end, self._staff_in, branch, member)
            today.shifts.append(shift)
            schedule(arrives, self._staff_in, branch, member)
            schedule(closes + rng.randint(5, 30) * MINUTE, self._staff_out, branch, member)
        schedule(opens, self._open, branch)
        schedule(closes, self._close, branch)
        if rng.random() < OUTAGE_RATE and closes - opens > 2 * HOUR:
            begins = rng.randint(opens, closes - 2 * HOUR)
            ends = begins + rng.randint(30, 110) * MINUTE
            service = rng.choice(branch.services).service
            schedule(begins, self._availability, today, service, False)
            schedule(ends, self._availability, today, service, True)
        self._next_visitor(opens, today)

    def _open(self, at: int, branch: SimBranch) -> None:
        resend = self._rng.random() < DETAILS_RESENT_RATE
        self._emit(details(branch) if resend else BranchOpened(), branch.branch_id, at)

    def _close(self, at: int, branch: SimBranch) -> None:
        self._emit(BranchClosed(), branch.branch_id, at)

    def _staff_in(self, at: int, branch: SimBranch, member: StaffMember) -> None:
        payload = StaffCheckedIn(staff_id=member.staff_id, services=list(member.services))
        self._emit(payload, branch.branch_id, at)

    def _staff_out(self, at: int, branch: SimBranch, member: StaffMember) -> None:
        self._emit(StaffCheckedOut(staff_id=member.staff_id), branch.branch_id, at)

    def _availability(self, at: int, today: BranchDay, service: str, available: bool) -> None:
        today.unavailable = None if available else service
        payload = ServiceAvailabilityChanged(
            service=service,
            available=available,
            **({} if available else {"reason": self._rng.choice(OUTAGE_REASONS)}),
        )
        self._emit(payload, today.branch.branch_id, at)

    def _visit_weight(self, today: BranchDay, at: int) -> float:
        hour = ((at // SECOND + today.utc_offset) // 3600) % 24
        weight = BRANCH_VISITS_BY_HOUR.get(hour, BRANCH_VISITS_DEFAULT)
        return weight * SATURDAY_VISITS if today.saturday else weight

    def _next_visitor(self, after: int, today: BranchDay) -> None:
        """Schedule the next visitor (a Poisson process thinned by hour of day)."""
        rng = self._rng
        peak = today.branch.arrivals_per_hour * BRANCH_VISITS_PEAK * SATURDAY_VISITS / HOUR
        last = today.closes - LAST_TICKET_BEFORE_CLOSING
        at = after
        while True:
            at += max(round(rng.expovariate(peak)), 1)
            if at > last:
                return
            accept = self._visit_weight(today, at) / (BRANCH_VISITS_PEAK * SATURDAY_VISITS)
            if rng.random() < accept:
                self._ctx.scheduler.at(at, self._visitor, today)
                return

    def _visitor(self, at: int, today: BranchDay) -> None:
        self._next_visitor(at, today)
        rng, branch = self._rng, today.branch
        services = branch.services
        service = rng.choices(services, weights=branch.service_weights)[0]
        if service.service == today.unavailable:
            return  # seeing the notice, the visitor leaves without a ticket
        locals_ = self._ctx.bank.customers_by_city.get(branch.city.name, ())
        customer = rng.choice(locals_).customer_id if locals_ and rng.random() < 0.7 else None
        ticket = self._ctx.ids.ticket()
        joined = QueueJoined(
            ticket_id=ticket,
            service=service.service,
            **({"customer_id": customer} if customer else {}),
        )
        self._emit(joined, branch.branch_id, at)
        handling = round(service.avg_handling_minutes * rng.lognormvariate(0, 0.45) * MINUTE)
        capable = [
            s for s in today.shifts if not s.member.services or service.service in s.member.services
        ]
        patience = rng.uniform(8, 45) * MINUTE * (1.5 if service.avg_handling_minutes > 15 else 1.0)
        best = min(capable, key=lambda s: s.earliest_start(at, handling), default=None)
        starts = best.earliest_start(at, handling) if best else None
        if (
            best is None
            or starts is None
            or starts - at > patience
            or starts > today.closes - 2 * MINUTE
        ):
            gives_up = min(at + round(patience), today.closes - MINUTE)
            self._ctx.scheduler.at(gives_up, self._abandon, branch, ticket)
            return
        best.free_at = starts + handling
        self._ctx.scheduler.at(starts, self._serve, branch, ticket, best.member.staff_id)

    def _serve(self, at: int, branch: SimBranch, ticket: str, staff_id: str) -> None:
        self._emit(QueueServed(ticket_id=ticket, staff_id=staff_id), branch.branch_id, at)

    def _abandon(self, at: int, branch: SimBranch, ticket: str) -> None:
        self._emit(QueueAbandoned(ticket_id=ticket), branch.branch_id, at)
