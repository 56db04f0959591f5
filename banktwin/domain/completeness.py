"""Data completeness of a customer profile (the seed's "95 % data completeness" KPI).

A profile is complete when the bank knows who the customer is (name, date of birth, email,
address, phone), has their consent on record, holds at least one account for them and has a
credit-bureau score. Completeness is the share of those facts present, in percent.
"""

from __future__ import annotations

from collections.abc import Callable

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event

COMPLETENESS_CHECKS: dict[str, Callable[[CustomerTwin], bool]] = {
    "name": lambda c: bool(c.name),
    "dob": lambda c: c.dob is not None,
    "email": lambda c: bool(c.email),
    "address": lambda c: bool(c.address),
    "phone": lambda c: bool(c.phone),
    "consent": lambda c: c.consent_recorded,
    "accounts": lambda c: bool(c.accounts),
    "creditScore": lambda c: c.credit is not None,
}
COMPLETENESS_TARGET = 95.0


def missing_facts(customer: CustomerTwin) -> list[str]:
    """Wire names of the facts the twin does not have yet."""
    return [name for name, present in COMPLETENESS_CHECKS.items() if not present(customer)]


def data_completeness(customer: CustomerTwin) -> float:
    """Percent of :data:`COMPLETENESS_CHECKS` satisfied, rounded to one decimal."""
    total = len(COMPLETENESS_CHECKS)
    return round(100.0 * (total - len(missing_facts(customer))) / total, 1)


# --- The same facts, followed from events (for consumers that do not hold customer twins) ---

FACT_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(COMPLETENESS_CHECKS)}
"""One bit per fact of :data:`COMPLETENESS_CHECKS`: a customer's known facts as one integer."""
ALL_FACTS = (1 << len(COMPLETENESS_CHECKS)) - 1
_PROFILE_FACTS = ("name", "dob", "email", "address", "phone")
_ACCOUNT_EVENTS = frozenset(
    {"account.opened", "account.balance_changed", "account.status_changed", "transaction.posted"}
)
FACT_EVENT_TYPES = frozenset(
    {
        "customer.registered",
        "customer.profile_updated",
        "customer.consent_changed",
        "credit.score_received",
        *_ACCOUNT_EVENTS,
    }
)
"""The event types that can change which facts a customer's profile has."""


def _with(mask: int, fact: str, present: bool) -> int:
    bit = FACT_BITS[fact]
    return mask | bit if present else mask & ~bit


def facts_after(mask: int, event: Event) -> int:
    """The facts known after ``event``, given the facts known before (``mask``).

    It follows the customer rules exactly as :func:`missing_facts` sees their result, for
    events in time order (a test folds generated histories both ways): registration states
    every profile fact and records consent, a profile update sets or clears (``null``) the
    facts it names, any account event creates the account, a credit report gives a score.
    Other events change nothing. A mask keeps no times, so a profile event that arrives late
    sets or clears its facts as if it were the newest (docs/events.md, "Arrival order").
    """
    kind = event.type
    if kind in _ACCOUNT_EVENTS:
        return mask | FACT_BITS["accounts"]
    payload = event.payload
    if kind == "customer.registered":
        for fact in _PROFILE_FACTS:
            mask = _with(mask, fact, _known(getattr(payload, fact)))
        return mask | FACT_BITS["consent"]
    if kind == "customer.profile_updated":
        for fact in _PROFILE_FACTS:
            if fact in payload.model_fields_set:
                mask = _with(mask, fact, _known(getattr(payload, fact)))
        return mask
    if kind == "customer.consent_changed":
        return mask | FACT_BITS["consent"]
    if kind == "credit.score_received":
        return mask | FACT_BITS["creditScore"]
    return mask


def _known(value: object) -> bool:
    # The twin's checks: a date is known when set, a text when non-empty.
    return value is not None and value != ""


def fact_count(mask: int) -> int:
    """How many facts a mask holds."""
    return (mask & ALL_FACTS).bit_count()
