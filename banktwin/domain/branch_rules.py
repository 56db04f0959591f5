"""How each branch event changes the branch twin.

Order-proof like the customer rules: the branch's details are last writer wins by
``occurredAt`` (each detail on its own), open or closed is the newest opening or closing, a
closing sends home the tickets and staff from before it whenever it arrives, and a staff
member's duty is their newest check-in or check-out after the last closing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from banktwin.domain.branch import BranchTwin, ServiceState, StaffOff, StaffOnDuty
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolve, evolved
from banktwin.domain.ordering import newer
from banktwin.domain.payloads.branch import (
    WEEKDAYS,
    BranchOpened,
    ServiceAvailabilityChanged,
    StaffCheckedIn,
    StaffCheckedOut,
)
from banktwin.domain.queue_rules import QUEUE_RULES, BranchRule, sent_home, service_of, with_service


def new_branch(branch_id: str, at: datetime) -> BranchTwin:
    return BranchTwin(branch_id=branch_id, created_at=at, last_updated=at)


def _status(b: BranchTwin, at: datetime, is_open: bool) -> dict[str, Any]:
    """The changes of an opening or a closing to open or closed (a closing wins a tie)."""
    if newer(at, not is_open, b.status_changed_at, not b.is_open):
        return {"is_open": is_open, "status_changed_at": at}
    return {}


def _details(b: BranchTwin, p: BranchOpened) -> dict[str, Any]:
    """The details an opening gives, by the name of their time in ``DetailTimes``."""
    given: dict[str, Any] = {}
    if p.name is not None:
        given["name"] = {"name": p.name}
    if p.address is not None:
        given["address"] = {"address": p.address}
    if p.location is not None:
        loc = p.location
        given["location"] = {
            "country": loc.country,
            "city": loc.city,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
        }
    if p.open_hours is not None:
        hours = p.open_hours
        given["open_hours"] = {"open_hours": tuple((d, hours[d]) for d in WEEKDAYS if d in hours)}
    if p.capacity is not None:
        given["capacity"] = {"capacity": p.capacity}
    return given


def _opened(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(BranchOpened, e.payload)
    at = e.occurred_at
    changes = _status(b, at, True)
    times = b.detail_times
    set_at: dict[str, datetime] = {}
    for detail, values in _details(b, p).items():
        current = tuple(getattr(b, name) for name in values)
        if newer(at, tuple(values.values()), getattr(times, detail), current):
            changes.update(values)
            set_at[detail] = at
    if set_at:
        changes["detail_times"] = times._replace(**set_at)
    services = b.services
    for spec in p.services or ():
        known = next((s for s in services if s.service == spec.service), None)
        s = known or ServiceState(spec.service)
        if newer(at, spec.avg_handling_minutes, s.handling_at, s.avg_handling_minutes):
            s = replace(s, avg_handling_minutes=spec.avg_handling_minutes, handling_at=at)
        if s is not known:
            services = with_service(services, s)
    if services is not b.services:
        changes["services"] = services
    return evolved(b, changes)


def _closed(b: BranchTwin, e: Event) -> BranchTwin:
    # Closing sends everyone home: tickets still waiting are dropped, not served; staff leave.
    at = e.occurred_at
    changes = _status(b, at, False)
    if b.closed_at is None or at > b.closed_at:
        changes["closed_at"] = at
        changes["staff"] = tuple(s for s in b.staff if s.since > at)
        changes["off_duty"] = tuple(s for s in b.off_duty if s.at > at)
        changes.update(sent_home(b, at))
    return evolved(b, changes)


def _duty(b: BranchTwin, staff_id: str) -> tuple[datetime, bool, tuple[str, ...]] | None:
    """A staff member's newest mark: (time, checked out, services), or ``None``."""
    for s in b.staff:
        if s.staff_id == staff_id:
            return s.since, False, s.services
    for o in b.off_duty:
        if o.staff_id == staff_id:
            return o.at, True, ()
    return None


def _on_or_off(
    b: BranchTwin, e: Event, staff_id: str, services: tuple[str, ...] | None
) -> BranchTwin:
    """A check-in (``services`` given) or check-out, if it is the staff member's newest
    mark (a check-out wins a tie) and comes after the last closing."""
    at, out = e.occurred_at, services is None
    if b.closed_at is not None and at <= b.closed_at:
        return b
    known = _duty(b, staff_id)
    mark = (out, services or ())
    if known is not None and not newer(at, mark, known[0], known[1:]):
        return b
    staff = [s for s in b.staff if s.staff_id != staff_id]
    off = [o for o in b.off_duty if o.staff_id != staff_id]
    if services is None:
        off.append(StaffOff(staff_id, at))
    else:
        staff.append(StaffOnDuty(staff_id, services, at))
    staff.sort(key=lambda s: (s.since, s.staff_id))
    return evolve(b, staff=tuple(staff), off_duty=tuple(sorted(off)))


def _staff_in(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(StaffCheckedIn, e.payload)
    return _on_or_off(b, e, p.staff_id, tuple(p.services))


def _staff_out(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(StaffCheckedOut, e.payload)
    return _on_or_off(b, e, p.staff_id, None)


def _availability(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(ServiceAvailabilityChanged, e.payload)
    service = service_of(b, p.service)
    at = e.occurred_at
    if newer(at, p.available, service.available_at, service.available):
        service = replace(service, available=p.available, available_at=at)
    elif b.service(p.service) is not None:
        return b
    return evolve(b, services=with_service(b.services, service))


BRANCH_RULES: dict[str, BranchRule] = {
    "branch.opened": _opened,
    "branch.closed": _closed,
    "branch.staff_checked_in": _staff_in,
    "branch.staff_checked_out": _staff_out,
    "branch.service_availability_changed": _availability,
    **QUEUE_RULES,
}
"""The rule for each branch event type."""


def apply_branch_event(b: BranchTwin | None, e: Event) -> BranchTwin:
    """Apply one branch event; ``b`` is ``None`` for a branch not seen before."""
    at = e.occurred_at
    twin = b or new_branch(e.subject_id, at)
    twin = BRANCH_RULES[e.type](twin, e)
    return evolve(
        twin,
        created_at=min(twin.created_at, at),
        last_updated=max(twin.last_updated, at),
        events_applied=twin.events_applied + 1,
    )
