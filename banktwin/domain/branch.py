"""The branch twin: staff, opening hours, occupancy and per-service queues."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

QUEUE_NAMESPACE = uuid.UUID("0d5c2b8e-3b9f-4a51-8f59-6f0b7b3f2c41")
DEFAULT_HANDLING_MINUTES = 8.0
WAIT_SMOOTHING = 0.2
"""Weight of the newest observed wait in the moving average."""


def queue_id(branch_id: str, service: str) -> str:
    """A queue's id: one queue per branch and service, stable across replays."""
    return str(uuid.uuid5(QUEUE_NAMESPACE, f"{branch_id}/{service}"))


@dataclass(frozen=True, slots=True)
class ServiceState:
    service: str
    available: bool = True
    avg_handling_minutes: float = DEFAULT_HANDLING_MINUTES
    avg_wait_minutes: float | None = None
    """Moving average of observed waits (joined → served)."""
    served_count: int = 0
    abandoned_count: int = 0


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


@dataclass(frozen=True)
class BranchTwin:
    branch_id: str
    created_at: datetime
    last_updated: datetime
    name: str | None = None
    address: str | None = None
    country: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    open_hours: tuple[tuple[str, str], ...] = ()
    capacity: int | None = None
    is_open: bool = False
    status_changed_at: datetime | None = None
    services: tuple[ServiceState, ...] = ()
    staff: tuple[StaffOnDuty, ...] = ()
    waiting: tuple[Ticket, ...] = ()
    """Customers waiting, in arrival order."""
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
