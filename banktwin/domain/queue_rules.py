"""How queue events change the branch twin: tickets waiting, served and abandoned.

A ticket's join and its departure may arrive in either order, and a closing may arrive after
tickets that joined before it. So a departure whose join has not arrived is kept
(``BranchTwin.departed``), and a ticket a closing sends home is kept (``sent_home``) until its
departure arrives: either way the pair meets, and the service counts the wait once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import cast

from banktwin.domain.branch import (
    WAIT_SMOOTHING,
    BranchTwin,
    Departure,
    ServiceState,
    Ticket,
    WaitSample,
)
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolve, evolved
from banktwin.domain.payloads.branch import QueueAbandoned, QueueJoined, QueueServed

MAX_WAIT_SAMPLES = 16
"""Waits the moving average is made from (the newest weighs 0.2, the 16th 0.8^15 ≈ 3 %)."""
MAX_SENT_HOME = 100
MAX_DEPARTED = 100
"""Bounds of ``sent_home`` and ``departed``: a departure that arrives after that many newer
tickets were sent home (or departed unjoined) no longer meets its join (docs/events.md)."""

BranchRule = Callable[[BranchTwin, Event], BranchTwin]


def with_service(
    services: tuple[ServiceState, ...], service: ServiceState
) -> tuple[ServiceState, ...]:
    """``services`` with ``service`` set, by name."""
    others = [s for s in services if s.service != service.service]
    return tuple(sorted([*others, service], key=lambda s: s.service))


def service_of(b: BranchTwin, name: str) -> ServiceState:
    return b.service(name) or ServiceState(name)


def _ticket_order(t: Ticket) -> tuple[datetime, str]:
    return t.joined_at, t.ticket_id


def _with_ticket(tickets: tuple[Ticket, ...], ticket: Ticket) -> tuple[Ticket, ...]:
    """``tickets`` with ``ticket`` added in join order (usually at the end)."""
    key = _ticket_order(ticket)
    i = len(tickets)
    while i and _ticket_order(tickets[i - 1]) > key:
        i -= 1
    return (*tickets[:i], ticket, *tickets[i:])


def sent_home(b: BranchTwin, at: datetime) -> dict[str, object]:
    """The changes of a closing at ``at`` (newer than any before) to the queues: tickets that
    joined by then leave the queue for ``sent_home``."""
    leaving = [t for t in b.waiting if t.joined_at <= at]
    if not leaving:
        return {}
    home = b.sent_home
    for ticket in leaving:
        home = _with_ticket(home, ticket)
    return {
        "waiting": tuple(t for t in b.waiting if t.joined_at > at),
        "sent_home": home[-MAX_SENT_HOME:],
    }


def _average(waits: tuple[WaitSample, ...]) -> float | None:
    average: float | None = None
    for sample in waits:
        average = (
            sample.minutes
            if average is None
            else WAIT_SMOOTHING * sample.minutes + (1 - WAIT_SMOOTHING) * average
        )
    return None if average is None else round(average, 2)


def _left(b: BranchTwin, ticket: Ticket, at: datetime, served: bool) -> tuple[ServiceState, ...]:
    """The services after ``ticket`` left the queue at ``at``: served (its wait is observed)
    or abandoned."""
    service = service_of(b, ticket.service)
    if not served:
        return with_service(
            b.services, replace(service, abandoned_count=service.abandoned_count + 1)
        )
    wait = max((at - ticket.joined_at).total_seconds() / 60.0, 0.0)
    waits = tuple(sorted((*service.recent_waits, WaitSample(at, wait))))[-MAX_WAIT_SAMPLES:]
    service = replace(
        service,
        served_count=service.served_count + 1,
        recent_waits=waits,
        avg_wait_minutes=_average(waits),
    )
    return with_service(b.services, service)


def _joined(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueJoined, e.payload)
    services = (
        b.services if b.service(p.service) else with_service(b.services, ServiceState(p.service))
    )
    ticket_id = p.ticket_id
    if any(t.ticket_id == ticket_id for t in (*b.waiting, *b.sent_home)):
        return b if services is b.services else evolve(b, services=services)
    ticket = Ticket(ticket_id, p.service, e.occurred_at, p.customer_id)
    for i, departure in enumerate(b.departed):
        if departure.ticket_id == ticket_id:  # it left before its join arrived: they meet
            b = evolve(b, services=services, departed=(*b.departed[:i], *b.departed[i + 1 :]))
            return evolve(b, services=_left(b, ticket, departure.at, departure.served))
    if b.closed_at is not None and ticket.joined_at <= b.closed_at:
        home = _with_ticket(b.sent_home, ticket)[-MAX_SENT_HOME:]
        return evolve(b, services=services, sent_home=home)
    return evolve(b, services=services, waiting=_with_ticket(b.waiting, ticket))


def _departed(b: BranchTwin, ticket_id: str, at: datetime, served: bool) -> BranchTwin:
    for queue in ("waiting", "sent_home"):
        tickets: tuple[Ticket, ...] = getattr(b, queue)
        for i, ticket in enumerate(tickets):
            if ticket.ticket_id == ticket_id:
                left = evolved(b, {queue: (*tickets[:i], *tickets[i + 1 :])})
                return evolve(left, services=_left(left, ticket, at, served))
    departure = Departure(ticket_id, at, served)
    others = []
    for known in b.departed:
        if known.ticket_id != ticket_id:
            others.append(known)
        elif (known.at, known.served) >= (at, served):
            return b  # a ticket leaves once: the newest departure is kept
    departed = sorted([*others, departure])
    if len(departed) > MAX_DEPARTED:
        departed.remove(min(departed, key=lambda d: (d.at, d.ticket_id)))
    return evolve(b, departed=tuple(departed))


def _served(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueServed, e.payload)
    return _departed(b, p.ticket_id, e.occurred_at, served=True)


def _abandoned(b: BranchTwin, e: Event) -> BranchTwin:
    p = cast(QueueAbandoned, e.payload)
    return _departed(b, p.ticket_id, e.occurred_at, served=False)


QUEUE_RULES: dict[str, BranchRule] = {
    "queue.joined": _joined,
    "queue.served": _served,
    "queue.abandoned": _abandoned,
}
"""The rule for each queue event type."""
