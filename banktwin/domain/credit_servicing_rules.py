"""How credit-servicing events (``credit.payment_missed``, ``credit.payment_made``,
``credit.defaulted``, ``credit.charged_off``) change the customer twin's facilities.

Each event names a facility (a loan or credit line) and the days past due it leaves. The
facility keeps the newest of those (last writer wins by ``occurredAt``; at one instant the
greater days past due), counts missed and late payments (counts add up), and keeps its first
default and first charge-off with their amounts (the earliest wins; at one instant the greater
amount). So every arrival order gives the same facilities (docs/events.md, "Arrival order").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from banktwin.domain.customer import Changes, CustomerRule, CustomerTwin, Facility
from banktwin.domain.events import Event
from banktwin.domain.ordering import newer, rank
from banktwin.domain.payloads.credit import (
    CreditChargedOff,
    CreditDefaulted,
    CreditPaymentMade,
    CreditPaymentMissed,
)

MAX_FACILITIES = 50
"""Facilities kept per customer: the smallest ids (a customer has a handful; the bound keeps
a twin small whatever a client posts). Events of a facility beyond it change nothing."""

ServicingPayload = CreditPaymentMissed | CreditPaymentMade | CreditDefaulted | CreditChargedOff


def _earlier(at: datetime, value: Decimal, current_at: datetime | None, current: Any) -> bool:
    """Whether a first fact (a default, a charge-off) at ``at`` replaces the one kept: the
    earlier time wins, and at the same instant the greater amount."""
    if current_at is None or at < current_at:
        return True
    return at == current_at and rank(value) > rank(current)


def _counted(f: Facility, p: ServicingPayload, at: datetime) -> dict[str, Any]:
    """The changes of ``f``'s counts and first facts the event of ``p`` at ``at`` makes."""
    if isinstance(p, CreditPaymentMissed):
        return {"missed_payments": f.missed_payments + 1}
    if isinstance(p, CreditPaymentMade):
        return {"late_payments": f.late_payments + 1} if p.late else {}
    if isinstance(p, CreditDefaulted):
        if _earlier(at, p.outstanding, f.defaulted_at, f.defaulted_amount):
            return {"defaulted_at": at, "defaulted_amount": p.outstanding}
        return {}
    if _earlier(at, p.amount, f.charged_off_at, f.charged_off_amount):
        return {"charged_off_at": at, "charged_off_amount": p.amount}
    return {}


def _servicing_event(c: CustomerTwin, e: Event) -> Changes:
    p = cast(ServicingPayload, e.payload)
    at = e.occurred_at
    facilities = c.facilities
    for i, f in enumerate(facilities):
        if f.facility_id == p.facility_id:
            changes = _counted(f, p, at)
            state = (p.days_past_due, p.currency)
            if newer(at, state, f.status_at, (f.days_past_due, f.currency)):
                changes |= {"days_past_due": state[0], "currency": state[1], "status_at": at}
            if not changes:
                return {}
            return {"facilities": (*facilities[:i], f._replace(**changes), *facilities[i + 1 :])}
    if len(facilities) >= MAX_FACILITIES and p.facility_id > facilities[-1].facility_id:
        return {}
    new = Facility(p.facility_id, p.currency, p.days_past_due, at)
    new = new._replace(**_counted(new, p, at))
    listed = sorted([*facilities, new], key=lambda f: f.facility_id)
    return {"facilities": tuple(listed[:MAX_FACILITIES])}


def days_past_due_at(f: Facility, at: datetime) -> int:
    """A facility's days past due at ``at`` (not before its newest servicing event): arrears
    age by one day a day until a payment is reported; a current facility stays at 0, and a
    charged-off one at the days it was written off with."""
    if f.days_past_due == 0 or f.charged_off_at is not None or at <= f.status_at:
        return f.days_past_due
    return f.days_past_due + (at - f.status_at).days


def facility_status(f: Facility) -> str:
    """``charged_off``, ``defaulted``, ``delinquent`` (days past due) or ``current``."""
    if f.charged_off_at is not None:
        return "charged_off"
    if f.defaulted_at is not None:
        return "defaulted"
    return "delinquent" if f.days_past_due > 0 else "current"


CREDIT_SERVICING_RULES: dict[str, CustomerRule] = {
    "credit.payment_missed": _servicing_event,
    "credit.payment_made": _servicing_event,
    "credit.defaulted": _servicing_event,
    "credit.charged_off": _servicing_event,
}
"""The rule for each credit-servicing event type."""
