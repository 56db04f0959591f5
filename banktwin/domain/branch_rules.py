"""How each branch and queue event changes the branch twin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import cast

from banktwin.domain.branch import WAIT_SMOOTHING, BranchTwin, ServiceState, StaffOnDuty, Ticket
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolve
from banktwin.domain.payloads.branch import (
    WEEKDAYS,
    BranchOpened,
    QueueAbandoned,
    QueueJoined,
    QueueServed,
    ServiceAvailabilityChanged,
    StaffCheckedIn,
    StaffCheckedOut,
)

BranchRule = Callable[[BranchTwin, Event], BranchTwin]


def new_branch(branch_id: str, at: datetime) -> BranchTwin:
    return BranchTwin(branch_id=branch_id, created_at=at, last_updated=at)


def _with_service(b: BranchTwin, service: ServiceState) -> tuple[ServiceState, ...]:
    others = [s for s in b.services if s.service != service.service]
    return tuple(sorted([*others, service], key=lambda s: s.service))


def _service(b: BranchTwin, name: str) -> ServiceState:
    return b.service(name) or ServiceState(name)


def _opened(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(BranchOpened, e.payload)
    changes: dict[str, object] = {"is_open": True, "status_changed_at": e.occurred_at}
    if p.name is not None:
        changes["name"] = p.name
    if p.address is not None:
        changes["address"] = p.address
    if p.location is not None:
        changes.update(
            country=p.location.country,
            city=p.location.city,
            latitude=p.location.latitude,
            longitude=p.location.longitude,
        )
    if p.open_hours is not None:
        changes["open_hours"] = tuple(
            (day, p.open_hours[day]) for day in WEEKDAYS if day in p.open_hours
        )
    if p.capacity is not None:
        changes["capacity"] = p.capacity
    if p.services is not None:
        by_name = {s.service: s for s in b.services}
        for spec in p.services:
            current = by_name.get(spec.service) or ServiceState(spec.service)
            by_name[spec.service] = replace(current, avg_handling_minutes=spec.avg_handling_minutes)
        changes["services"] = tuple(by_name[name] for name in sorted(by_name))
    return evolve(b, **changes)


def _closed(b: BranchTwin, e: Event) -> BranchTwin:
    # Closing sends everyone home: tickets still waiting are dropped, not served.
    return evolve(b, is_open=False, status_changed_at=e.occurred_at, waiting=(), staff=())


def _staff_in(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(StaffCheckedIn, e.payload)
    others = tuple(s for s in b.staff if s.staff_id != p.staff_id)
    return evolve(b, staff=(*others, StaffOnDuty(p.staff_id, tuple(p.services), e.occurred_at)))


def _staff_out(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(StaffCheckedOut, e.payload)
    return evolve(b, staff=tuple(s for s in b.staff if s.staff_id != p.staff_id))


def _availability(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(ServiceAvailabilityChanged, e.payload)
    service = replace(_service(b, p.service), available=p.available)
    return evolve(b, services=_with_service(b, service))


def _joined(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueJoined, e.payload)
    if any(t.ticket_id == p.ticket_id for t in b.waiting):
        return b
    services = b.services if b.service(p.service) else _with_service(b, ServiceState(p.service))
    ticket = Ticket(p.ticket_id, p.service, e.occurred_at, p.customer_id)
    return evolve(b, waiting=(*b.waiting, ticket), services=services)


def _leave(b: BranchTwin, ticket_id: str) -> tuple[Ticket | None, tuple[Ticket, ...]]:
    ticket = next((t for t in b.waiting if t.ticket_id == ticket_id), None)
    return ticket, tuple(t for t in b.waiting if t.ticket_id != ticket_id)


def _served(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueServed, e.payload)
    ticket, waiting = _leave(b, p.ticket_id)
    if ticket is None:
        return b
    service = _service(b, ticket.service)
    wait = max((e.occurred_at - ticket.joined_at).total_seconds() / 60.0, 0.0)
    average = (
        wait
        if service.avg_wait_minutes is None
        else WAIT_SMOOTHING * wait + (1 - WAIT_SMOOTHING) * service.avg_wait_minutes
    )
    service = replace(
        service, avg_wait_minutes=round(average, 2), served_count=service.served_count + 1
    )
    return evolve(b, waiting=waiting, services=_with_service(b, service))


def _abandoned(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueAbandoned, e.payload)
    ticket, waiting = _leave(b, p.ticket_id)
    if ticket is None:
        return b
    service = _service(b, ticket.service)
    service = replace(service, abandoned_count=service.abandoned_count + 1)
    return evolve(b, waiting=waiting, services=_with_service(b, service))


BRANCH_RULES: dict[str, BranchRule] = {
    "branch.opened": _opened,
    "branch.closed": _closed,
    "branch.staff_checked_in": _staff_in,
    "branch.staff_checked_out": _staff_out,
    "branch.service_availability_changed": _availability,
    "queue.joined": _joined,
    "queue.served": _served,
    "queue.abandoned": _abandoned,
}
"""The rule for each branch event type."""


def apply_branch_event(b: BranchTwin | None, e: Event) -> BranchTwin:
    """Apply one branch event; ``b`` is ``None`` for a branch not seen before."""
    twin = b or new_branch(e.subject_id, e.occurred_at)
    twin = BRANCH_RULES[e.type](twin, e)
    return evolve(
        twin,
        last_updated=max(twin.last_updated, e.occurred_at),
        events_applied=twin.events_applied + 1,
    )
