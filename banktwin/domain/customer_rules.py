"""How each customer event changes the customer twin.

Every rule is total: an event that arrives before the facts it refers to (a transaction on an
account not yet opened, an alert update for an alert not seen) still applies, so a projector
never stalls on the order in which sources deliver. And every rule is order-proof: the twin
after a set of events is the same whatever order they arrive in (docs/events.md, "Arrival
order"). Absolute values are last writer wins by ``occurredAt``, per field; counts add up; the
"latest" facts never move back; lists are ordered by ids and times, not by arrival.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from banktwin.domain.account_rules import ACCOUNT_RULES, NO_CURRENCY
from banktwin.domain.alert_rules import ALERT_RULES
from banktwin.domain.behaviour_rules import BEHAVIOUR_RULES, KNOWN_DEVICES
from banktwin.domain.credit_servicing_rules import CREDIT_SERVICING_RULES
from banktwin.domain.customer import (
    CONSENT_FLAGS,
    Changes,
    CreditScore,
    CustomerRule,
    CustomerTwin,
    RiskScore,
    ScoreReason,
)
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolved
from banktwin.domain.fraud_report_rules import FRAUD_REPORT_RULES
from banktwin.domain.ordering import newer
from banktwin.domain.payloads.customer import (
    CreditScoreReceived,
    CustomerConsentChanged,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from banktwin.domain.payloads.insight import RiskScoreUpdated

__all__ = ["CUSTOMER_RULES", "KNOWN_DEVICES", "NO_CURRENCY", "apply_customer_event", "new_customer"]


def new_customer(customer_id: str, at: datetime) -> CustomerTwin:
    """The twin of a customer the log has not mentioned before."""
    return CustomerTwin(customer_id=customer_id, created_at=at, last_updated=at)


def _set_fields(c: CustomerTwin, at: datetime, values: dict[str, Any]) -> Changes:
    """The changes that give profile fields and consent flags (by name) the ``values`` set
    at ``at``: each field takes its value only if it is newer than the twin's."""
    times = c.field_times
    changes: Changes = {}
    flags: dict[str, bool] = {}
    set_at: dict[str, datetime] = {}
    for name, value in values.items():
        flag = name in CONSENT_FLAGS
        current = getattr(c.consent, name) if flag else getattr(c, name)
        if newer(at, value, getattr(times, name), current):
            set_at[name] = at
            if flag:
                flags[name] = value
            else:
                changes[name] = value
    if flags:
        changes["consent"] = replace(c.consent, **flags)
    if set_at:
        changes["field_times"] = times._replace(**set_at)
    return changes


def _registered(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerRegistered, e.payload)
    values: dict[str, Any] = {
        "name": p.name,
        "dob": p.dob,
        "email": p.email,
        "address": p.address,
        "phone": p.phone,
        "country": p.country,
        "segment": p.segment.value,
        **p.consent.model_dump(by_alias=False),
    }
    return {
        **_set_fields(c, e.occurred_at, values),
        "registered": True,
        "consent_recorded": True,
    }


def _profile_updated(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerProfileUpdated, e.payload)
    values = {name: getattr(p, name) for name in p.model_fields_set}
    if values.get("segment") is not None:
        values["segment"] = values["segment"].value
    return _set_fields(c, e.occurred_at, values)


def _consent_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerConsentChanged, e.payload)
    flags = {k: v for k, v in p.consent.model_dump(by_alias=False).items() if v is not None}
    return {**_set_fields(c, e.occurred_at, flags), "consent_recorded": True}


def _credit_score(c: CustomerTwin, e: Event) -> Changes:
    """The newest report wins (an older one delivered late does not replace it)."""
    p = cast(CreditScoreReceived, e.payload)
    report = (p.score, p.bureau, p.delinquencies)
    old = c.credit
    if old is not None and not newer(
        e.occurred_at, report, old.received_at, (old.score, old.bureau, old.delinquencies)
    ):
        return {}
    return {"credit": CreditScore(p.score, p.bureau, p.delinquencies, e.occurred_at)}


def _risk_score(c: CustomerTwin, e: Event) -> Changes:
    """The newest score wins (at one instant, the greater score id)."""
    p = cast(RiskScoreUpdated, e.payload)
    old = c.risk
    if old is not None and not newer(e.occurred_at, p.score_id, old.scored_at, old.score_id):
        return {}
    reasons = tuple(ScoreReason(r.feature, r.contribution, r.value) for r in p.reasons)
    return {"risk": RiskScore(p.score_id, p.score, p.model_version, e.occurred_at, reasons)}


CUSTOMER_RULES: dict[str, CustomerRule] = {
    "customer.registered": _registered,
    "customer.profile_updated": _profile_updated,
    "customer.consent_changed": _consent_changed,
    "credit.score_received": _credit_score,
    "risk.score_updated": _risk_score,
    **BEHAVIOUR_RULES,
    **ACCOUNT_RULES,
    **ALERT_RULES,
    **FRAUD_REPORT_RULES,
    **CREDIT_SERVICING_RULES,
}
"""The rule for each customer event type."""


def apply_customer_event(c: CustomerTwin | None, e: Event) -> CustomerTwin:
    """Apply one customer event; ``c`` is ``None`` for a customer not seen before."""
    at = e.occurred_at
    twin = c or new_customer(e.subject_id, at)
    changes = CUSTOMER_RULES[e.type](twin, e)
    changes["events_applied"] = twin.events_applied + 1
    if at > twin.last_updated:
        changes["last_updated"] = at
    elif at < twin.created_at:
        changes["created_at"] = at
    return evolved(twin, changes)
