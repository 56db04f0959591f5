"""One line about an event, for a customer's timeline, with personal and card data masked.

A summary names what happened and the facts an operator needs to place it (an amount, a
channel, a status), never a person's data: fields the payload schema marks personal or card
(:mod:`banktwin.domain.sensitivity`) are masked as the dashboard masks them (an e-mail as
``j•••@example.com``, a phone as ``•••• 00``, a card token as ``••••cdef``, a device as
``device ••••7f``, a date of birth as its year), and a name or an address only said to be
given. Event types without a summary of their own list their fields the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    AccountStatusChanged,
    TransactionPosted,
)
from banktwin.domain.payloads.credit import (
    CreditChargedOff,
    CreditDefaulted,
    CreditPaymentMade,
    CreditPaymentMissed,
)
from banktwin.domain.payloads.customer import (
    CreditScoreReceived,
    CustomerConsentChanged,
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.domain.payloads.insight import (
    FraudAlertRaised,
    FraudAlertStatusChanged,
    RiskScoreUpdated,
)
from banktwin.domain.sensitivity import Sensitivity, sensitive_fields

MAX_SUMMARY = 200
"""Characters of a summary at most (the rest is cut, ending with an ellipsis)."""
HIDDEN = "•••"


def mask_email(email: str) -> str:
    """``j•••@example.com``: enough to recognise, not to contact."""
    user, _, domain = email.partition("@")
    return f"{user[:1]}{HIDDEN}@{domain or HIDDEN}"


def mask_phone(phone: str) -> str:
    """``•••• 00``: the last two digits only."""
    digits = "".join(c for c in phone if c.isdigit())
    return f"•••• {digits[-2:]}" if digits else HIDDEN


def mask_tail(value: str, keep: int = 4) -> str:
    """``••••cdef``: the last ``keep`` characters of a token, and no more than a quarter."""
    shown = min(keep, len(value) // 4)
    return f"••••{value[-shown:]}" if shown else HIDDEN


def _masked(name: str, value: Any, sensitivity: Sensitivity) -> str:
    """A marked field as a summary may show it."""
    if sensitivity is Sensitivity.CARD:
        return f"card {mask_tail(str(value))}"
    if name == "email":
        return f"email {mask_email(str(value))}"
    if name == "phone":
        return f"phone {mask_phone(str(value))}"
    if name == "dob" and isinstance(value, date):
        return f"born {value.year}"
    if name == "deviceId":
        return f"device {mask_tail(str(value), 2)}"
    return f"{name} given"


def _plain(value: Any) -> str:
    if isinstance(value, BaseModel):  # its own marked fields masked too
        return f"({fields_summary(value)})"
    if isinstance(value, list | tuple):
        return f"{len(value)} item{'' if len(value) == 1 else 's'}"
    if hasattr(value, "value"):  # an enum
        return str(value.value)
    return str(value)


def fields_summary(payload: BaseModel) -> str:
    """The payload's fields that were given (``name value``), marked ones masked."""
    marked = sensitive_fields(type(payload))
    parts = []
    for attribute, info in type(payload).model_fields.items():
        value = getattr(payload, attribute)
        if value is None or attribute not in payload.model_fields_set:
            continue
        name = info.alias or attribute
        sensitivity = marked.get(name)
        parts.append(
            _masked(name, value, sensitivity) if sensitivity else f"{name} {_plain(value)}"
        )
    return ", ".join(parts)


def _transaction(p: TransactionPosted) -> str:
    where = f" at {p.merchant}" if p.merchant else ""
    country = f" ({p.location.country})" if p.location else ""
    card = f", card {mask_tail(p.card_token)}" if p.card_token else ""
    return (
        f"{p.direction.value} {p.amount} {p.currency} via {p.channel.value}{where}{country}, "
        f"account {p.account_id}{card}"
    )


def _profile(p: CustomerRegistered | CustomerProfileUpdated) -> str:
    verb = "registered" if isinstance(p, CustomerRegistered) else "profile updated"
    given = fields_summary(p)
    return f"{verb}: {given}" if given else verb


def _login(p: CustomerLogin) -> str:
    how = f" with {p.auth_method.value}" if p.auth_method else ""
    where = f" from {p.ip_country}" if p.ip_country else ""
    device = f", device {mask_tail(p.device_id, 2)}" if p.device_id else ""
    return f"login via {p.channel.value}{how}{where}: {p.outcome.value}{device}"


def _consent(p: CustomerConsentChanged) -> str:
    changes = p.consent.model_dump(by_alias=True, exclude_none=True)
    said = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in changes.items())
    return f"consent changed: {said or 'nothing'}"


def _device(p: CustomerDeviceSeen) -> str:
    platform = f" ({p.platform})" if p.platform else ""
    return f"device {mask_tail(p.device_id, 2)} seen{platform}"


def _credit_score(p: CreditScoreReceived) -> str:
    return f"credit score {p.score} from {p.bureau}, {p.delinquencies} delinquencies"


def _risk(p: RiskScoreUpdated) -> str:
    top = f"; top factor {p.reasons[0].feature}" if p.reasons else ""
    return f"risk score {p.score:.3f} (model {p.model_version}){top}"


def _alert(p: FraudAlertRaised) -> str:
    why = f": {'; '.join(p.reasons)}" if p.reasons else ""
    return f"{p.severity.value} fraud alert on transaction {p.transaction_id}{why}"


def _alert_status(p: FraudAlertStatusChanged) -> str:
    who = f" by {p.analyst}" if p.analyst else ""
    note = f": {p.note}" if p.note else ""
    return f"alert {p.alert_id[:8]} {p.status.value}{who}{note}"


def _report(p: FraudReported) -> str:
    card = f", card {mask_tail(p.card_token)}" if p.card_token else ""
    return f"transaction {p.transaction_id} reported as fraud ({p.kind.value}){card}"


def _account_opened(p: AccountOpened) -> str:
    return f"{p.type.value} account {p.account_id} opened in {p.currency}, balance {p.balance}"


def _balance(p: AccountBalanceChanged) -> str:
    why = f" ({p.reason})" if p.reason else ""
    return f"account {p.account_id} balance {p.balance}{why}"


def _account_status(p: AccountStatusChanged) -> str:
    why = f" ({p.reason})" if p.reason else ""
    return f"account {p.account_id} {p.status.value}{why}"


def _missed(p: CreditPaymentMissed) -> str:
    return (
        f"payment missed on {p.facility_id}: {p.amount_due} {p.currency} due, "
        f"{p.days_past_due} days past due"
    )


def _paid(p: CreditPaymentMade) -> str:
    late = " (late)" if p.late else ""
    return (
        f"payment of {p.amount} {p.currency} on {p.facility_id}{late}, "
        f"{p.days_past_due} days past due after it"
    )


def _defaulted(p: CreditDefaulted) -> str:
    return (
        f"{p.facility_id} in default: {p.outstanding} {p.currency} outstanding, "
        f"{p.days_past_due} days past due"
    )


def _charged_off(p: CreditChargedOff) -> str:
    return f"{p.facility_id} charged off: {p.amount} {p.currency} written off"


_SUMMARIES: dict[type[BaseModel], Callable[[Any], str]] = {
    TransactionPosted: _transaction,
    CustomerRegistered: _profile,
    CustomerProfileUpdated: _profile,
    CustomerLogin: _login,
    CustomerConsentChanged: _consent,
    CustomerDeviceSeen: _device,
    CreditScoreReceived: _credit_score,
    RiskScoreUpdated: _risk,
    FraudAlertRaised: _alert,
    FraudAlertStatusChanged: _alert_status,
    FraudReported: _report,
    AccountOpened: _account_opened,
    AccountBalanceChanged: _balance,
    AccountStatusChanged: _account_status,
    CreditPaymentMissed: _missed,
    CreditPaymentMade: _paid,
    CreditDefaulted: _defaulted,
    CreditChargedOff: _charged_off,
}


def summarize(event: Event) -> str:
    """One line about ``event``, personal and card data masked, at most ``MAX_SUMMARY``
    characters."""
    payload = event.payload
    tell = _SUMMARIES.get(type(payload))
    text = tell(payload) if tell is not None else fields_summary(payload) or event.type
    return text if len(text) <= MAX_SUMMARY else f"{text[: MAX_SUMMARY - 1]}…"
