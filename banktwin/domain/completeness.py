"""Data completeness of a customer profile (the seed's "95 % data completeness" KPI).

A profile is complete when the bank knows who the customer is (name, date of birth, email,
address, phone), has their consent on record, holds at least one account for them and has a
credit-bureau score. Completeness is the share of those facts present, in percent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

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
PROFILE_FACTS = ("name", "dob", "email", "address", "phone")
"""The facts that are values set and cleared by profile events (the others only ever appear)."""
_PROFILE_BITS = tuple((i, FACT_BITS[fact], fact) for i, fact in enumerate(PROFILE_FACTS))
_ACCOUNTS = FACT_BITS["accounts"]
_CONSENT = FACT_BITS["consent"]
_CREDIT = FACT_BITS["creditScore"]
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
Micros = int
"""A time as whole microseconds since the epoch (exact, so equal instants compare equal)."""


class CustomerFacts(NamedTuple):
    """The facts known of one customer (a mask of :data:`FACT_BITS`) and, per profile fact
    (:data:`PROFILE_FACTS`, in that order), when it was last written."""

    mask: int = 0
    times: tuple[Micros | None, ...] = (None,) * len(PROFILE_FACTS)
    """``None``: never written, or written at a time not kept (a mask stored before times
    were), which any write replaces."""


NO_FACTS = CustomerFacts()


def facts_after(facts: CustomerFacts, event: Event) -> CustomerFacts:
    """The facts known after ``event``, given the facts known before (``facts`` itself if
    the event changes nothing).

    It follows the customer rules exactly as :func:`missing_facts` sees their result, in any
    order of arrival (tests fold generated histories in every order): registration writes every
    profile fact and records consent, a profile update writes the facts it names (``null``
    clears), any account event creates the account, a credit report gives a score. A profile
    fact takes a write only if it is newer than the fact's last one, and at the same instant
    a known value beats an unknown one: the twin's rule (the greater value wins, ``None``
    lowest) as far as it bears on whether the value is known. Other events change nothing.
    """
    kind = event.type
    if kind in _ACCOUNT_EVENTS:
        mask = facts.mask
        return facts if mask & _ACCOUNTS else CustomerFacts(mask | _ACCOUNTS, facts.times)
    if kind == "customer.registered":
        return _written(facts, event, PROFILE_FACTS, also=_CONSENT)
    if kind == "customer.profile_updated":
        return _written(facts, event, event.payload.model_fields_set)
    if kind == "customer.consent_changed":
        return _with_bit(facts, _CONSENT)
    if kind == "credit.score_received":
        return _with_bit(facts, _CREDIT)
    return facts


def _with_bit(facts: CustomerFacts, bit: int) -> CustomerFacts:
    return facts if facts.mask & bit else CustomerFacts(facts.mask | bit, facts.times)


def _written(
    facts: CustomerFacts, event: Event, names: Collection[str], also: int = 0
) -> CustomerFacts:
    """``facts`` after ``event`` writes the profile facts among ``names`` (and gives the
    facts of ``also``).

    A value is known as the twin's checks see it: a date when set, a text when non-empty.
    Known values rank above unknown ones (``None``, then ``""``), so the value that wins at
    one instant in the twin (the greatest) is known exactly when any value written then is.
    """
    at = (event.occurred_at - _EPOCH) // _MICROSECOND
    payload = event.payload
    mask = facts.mask | also
    times = facts.times
    written: list[Micros | None] | None = None
    for i, bit, fact in _PROFILE_BITS:
        if fact not in names:
            continue
        value = getattr(payload, fact)
        known = value is not None and value != ""
        last = times[i]
        if last is None or at > last:
            if written is None:
                written = list(times)
            written[i] = at
            mask = mask | bit if known else mask & ~bit
        elif at == last and known:
            mask |= bit  # at one instant, a known value beats an unknown one
    if written is not None:
        return CustomerFacts(mask, tuple(written))
    return facts if mask == facts.mask else CustomerFacts(mask, times)


def fact_count(mask: int) -> int:
    """How many facts a mask holds."""
    return (mask & ALL_FACTS).bit_count()
