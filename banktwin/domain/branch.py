"""The branch twin: staff, opening hours, occupancy and per-service queues.

Every field is a function of the set of events applied, not of their order (docs/events.md,
"Arrival order"): details carry the time they were set, lists are ordered by times and ids, and
what a closing sends home or a ticket's departure before its join arrived is kept (bounded) so
the late event still lands where it belongs.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

QUEUE_NAMESPACE = uuid.UUID("0d5c2b8e-3b9f-4a51-8f59-6f0b7b3f2c41")
DEFAULT_HANDLING_MINUTES = 8.0
WAIT_SMOOTHING = 0.2
"""Weight of the newest observed wait in the moving average."""


def queue_id(branch_id: str, service: str) -> str:
    """A queue's id: one queue per branch and service, stable across replays."""
    return str(uuid.uuid5(QUEUE_NAMESPACE, f"{branch_id}/{service}"))


class WaitSample(NamedTuple):
    """An observed wait (joined → served) of ``minutes``, served at ``served_at``."""

    served_at: datetime
    minutes: float


@dataclass(frozen=True, slots=True)
class ServiceState:
    service: str
    available: bool = True
    avg_handling_minutes: float = DEFAULT_HANDLING_MINUTES
    avg_wait_minutes: float | None = None
    """Moving average of the observed waits in ``recent_waits``, in the order they were
    served (``WAIT_SMOOTHING`` is the newest one's weight)."""
    served_count: int = 0
    abandoned_count: int = 0
    available_at: datetime | None = None
    """When ``available`` was set (``None``: never, the service is taken as available)."""
    handling_at: datetime | None = None
    """When ``avg_handling_minutes`` was set by an opening (``None``: the default)."""
    recent_waits: tuple[WaitSample, ...] = ()
    """The waits of the tickets served last, in the order they were served (bounded)."""


@dataclass(frozen=True, slots=True)
class StaffOnDuty:
    staff_id: str
    services: tuple[str, ...]
    """Empty means the person serves every service."""
    since: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket_id: str
    service: str
    joined_at: datetime
    customer_id: str | None = None


class StaffOff(NamedTuple):
    """A check-out after the last closing (so a check-in that arrives late does not count)."""

    staff_id: str
    at: datetime


class Departure(NamedTuple):
    """A ticket served (or abandoned) before its ``queue.joined`` arrived."""

    ticket_id: str
    at: datetime
    served: bool


class DetailTimes(NamedTuple):
    """When each detail of the branch was set by an opening (``None``: never)."""

    name: datetime | None = None
    address: datetime | None = None
    location: datetime | None = None
    open_hours: datetime | None = None
    capacity: datetime | None = None


NO_DETAIL_TIMES = DetailTimes()


@dataclass(frozen=True)
class BranchTwin:
    branch_id: str
    created_at: datetime
    """The earliest ``occurredAt`` among the events applied."""
    last_updated: datetime
    name: str | None = None
    address: str | None = None
    country: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    open_hours: tuple[tuple[str, str], ...] = ()
    capacity: int | None = None
    detail_times: DetailTimes = NO_DETAIL_TIMES
    is_open: bool = False
    status_changed_at: datetime | None = None
    """When the newest opening or closing occurred."""
    closed_at: datetime | None = None
    """When the newest closing occurred: tickets and staff from before it were sent home."""
    services: tuple[ServiceState, ...] = ()
    """By service name."""
    staff: tuple[StaffOnDuty, ...] = ()
    """On duty, by check-in time (then id)."""
    off_duty: tuple[StaffOff, ...] = ()
    """By staff id."""
    waiting: tuple[Ticket, ...] = ()
    """Customers waiting, in the order they joined (then by ticket id)."""
    sent_home: tuple[Ticket, ...] = ()
    """Tickets a closing sent home, by join time (then id): their departure may still arrive
    (the newest ``MAX_SENT_HOME`` are kept)."""
    departed: tuple[Departure, ...] = ()
    """Departures whose join has not arrived, by ticket id (the newest ``MAX_DEPARTED``)."""
    events_applied: int = 0

    def service(self, name: str) -> ServiceState | None:
        return next((s for s in self.services if s.service == name), None)


@dataclass(frozen=True, slots=True)
class QueueView:
    queue_id: str
    service: str
    available: bool
    length: int
    staff_available: int
    estimated_wait_minutes: float
    avg_wait_minutes: float | None


def staff_for(branch: BranchTwin, service: str) -> int:
    """How many people on duty can serve ``service``."""
    return sum(1 for s in branch.staff if not s.services or service in s.services)


def estimated_wait_minutes(length: int, handling_minutes: float, staff: int) -> float:
    """Wait of a customer joining now: the people ahead, served in parallel by the staff on
    duty, each taking the service's average handling time. With nobody on duty the estimate
    assumes one person (the branch would not be taking tickets otherwise)."""
    return round(math.ceil(length / max(staff, 1)) * handling_minutes, 1)


def queues(branch: BranchTwin) -> list[QueueView]:
    """The branch's queues, one per service, with their length and estimated wait."""
    lengths: dict[str, int] = {}
    for ticket in branch.waiting:
        lengths[ticket.service] = lengths.get(ticket.service, 0) + 1
    views = []
    for s in branch.services:
        length = lengths.get(s.service, 0)
        staff = staff_for(branch, s.service)
        views.append(
            QueueView(
                queue_id=queue_id(branch.branch_id, s.service),
                service=s.service,
                available=s.available,
                length=length,
                staff_available=staff,
                estimated_wait_minutes=estimated_wait_minutes(
                    length, s.avg_handling_minutes, staff
                ),
                avg_wait_minutes=s.avg_wait_minutes,
            )
        )
    return views


def occupancy(branch: BranchTwin) -> tuple[int, float | None]:
    """Customers waiting in the branch, and that number as a share of its capacity."""
    people = len(branch.waiting)
    ratio = round(people / branch.capacity, 3) if branch.capacity else None
    return people, ratio
