"""Data completeness of a customer profile (the seed's "95 % data completeness" KPI).

A profile is complete when the bank knows who the customer is (name, date of birth, email,
address, phone), has their consent on record, holds at least one account for them and has a
credit-bureau score. Completeness is the share of those facts present, in percent.
"""

from __future__ import annotations

from collections.abc import Callable

from banktwin.domain.customer import CustomerTwin

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
