"""How each customer event changes the customer twin.

Every rule is total: an event that arrives before the facts it refers to (a transaction on
an account not yet opened, an alert update for an alert not seen) still applies, so a
projector never stalls on the order in which sources deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from banktwin.domain.customer import (
    Account,
    Behaviour,
    ConsentFlags,
    CreditScore,
    CustomerTwin,
    Device,
    FraudAlert,
    RiskScore,
    ScoreReason,
)
from banktwin.domain.events import Event
from banktwin.domain.evolve import evolve, evolved
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    AccountStatusChanged,
    Direction,
    TransactionPosted,
)
from banktwin.domain.payloads.customer import (
    CreditScoreReceived,
    CustomerConsentChanged,
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    CustomerRegistered,
    LoginOutcome,
)
from banktwin.domain.payloads.insight import (
    AlertStatus,
    FraudAlertRaised,
    FraudAlertStatusChanged,
    RiskScoreUpdated,
)
from banktwin.domain.spending import add_debit

NO_CURRENCY = "XXX"
"""ISO 4217's code for "no currency": an account known only from a balance or status change."""
KNOWN_DEVICES = 10

Changes = dict[str, Any]
CustomerRule = Callable[[CustomerTwin, Event], Changes]
"""A rule returns the fields it changes; one copy of the twin is made per event."""


def new_customer(customer_id: str, at: datetime) -> CustomerTwin:
    """The twin of a customer the log has not mentioned before."""
    return CustomerTwin(customer_id=customer_id, created_at=at, last_updated=at)


def _registered(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerRegistered, e.payload)
    consent = ConsentFlags(
        p.consent.processing, p.consent.marketing, p.consent.profiling, p.consent.data_sharing
    )
    return {
        "registered": True,
        "name": p.name,
        "dob": p.dob,
        "email": p.email,
        "address": p.address,
        "phone": p.phone,
        "country": p.country,
        "segment": p.segment.value,
        "consent": consent,
        "consent_recorded": True,
        "created_at": min(c.created_at, e.occurred_at),
    }


def _profile_updated(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerProfileUpdated, e.payload)
    changes = {name: getattr(p, name) for name in p.model_fields_set}
    if "segment" in changes and changes["segment"] is not None:
        changes["segment"] = changes["segment"].value
    return changes


def _consent_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerConsentChanged, e.payload)
    changes = {k: v for k, v in p.consent.model_dump(by_alias=False).items() if v is not None}
    return {"consent": replace(c.consent, **changes), "consent_recorded": True}


def _account_index(accounts: tuple[Account, ...], account_id: str) -> int:
    """Where the account is in ``accounts``, or ``-1``."""
    return next((i for i, a in enumerate(accounts) if a.account_id == account_id), -1)


def _with_account(c: CustomerTwin, account: Account) -> tuple[Account, ...]:
    return _with_account_at(c.accounts, _account_index(c.accounts, account.account_id), account)


def _with_account_at(
    accounts: tuple[Account, ...], index: int, account: Account
) -> tuple[Account, ...]:
    """``accounts`` with the one at ``index`` replaced (``-1``: ``account`` added)."""
    if index < 0:
        return (*accounts, account)
    return (*accounts[:index], account, *accounts[index + 1 :])


def _account_or_placeholder(c: CustomerTwin, account_id: str, e: Event, currency: str) -> Account:
    return c.account(account_id) or Account(
        account_id=account_id,
        type=None,
        currency=currency,
        balance=Decimal("0.00"),
        status="active",
        opened_at=None,
        updated_at=e.occurred_at,
    )


def _later(updated_at: datetime, e: Event) -> datetime:
    """An account's new ``updated_at``: a late event (occurred before the account's last
    change) changes the account but does not move its time back."""
    return e.occurred_at if e.occurred_at > updated_at else updated_at


def _account_opened(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountOpened, e.payload)
    existing = c.account(p.account_id)
    if existing is not None:  # a transaction came first: keep the balance it moved
        account = existing._replace(
            type=p.type.value, currency=p.currency, status=p.status.value, opened_at=e.occurred_at
        )
    else:
        account = Account(
            p.account_id,
            p.type.value,
            p.currency,
            p.balance,
            p.status.value,
            e.occurred_at,
            e.occurred_at,
        )
    return {"accounts": _with_account(c, account)}


def _balance_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountBalanceChanged, e.payload)
    account = _account_or_placeholder(c, p.account_id, e, NO_CURRENCY)
    account = account._replace(balance=p.balance, updated_at=_later(account.updated_at, e))
    return {"accounts": _with_account(c, account)}


def _status_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountStatusChanged, e.payload)
    account = _account_or_placeholder(c, p.account_id, e, NO_CURRENCY)
    account = account._replace(status=p.status.value, updated_at=_later(account.updated_at, e))
    return {"accounts": _with_account(c, account)}


def _bump(counts: tuple[tuple[str, int], ...], key: str) -> tuple[tuple[str, int], ...]:
    """Counts with ``key`` one higher, kept sorted by key (a handful of keys: a scan is fastest)."""
    for i, (k, n) in enumerate(counts):
        if k == key:
            return (*counts[:i], (k, n + 1), *counts[i + 1 :])
    return tuple(sorted((*counts, (key, 1))))


def _transaction_posted(c: CustomerTwin, e: Event) -> Changes:
    p = cast(TransactionPosted, e.payload)
    at = e.occurred_at
    accounts = c.accounts
    index = _account_index(accounts, p.account_id)
    account = (
        accounts[index] if index >= 0 else _account_or_placeholder(c, p.account_id, e, p.currency)
    )
    debit = p.direction is Direction.DEBIT
    balance = account.balance - p.amount if debit else account.balance + p.amount
    channel = p.channel.value
    country = p.location.country if p.location else None
    changes: Changes = {
        "accounts": _with_account_at(
            accounts,
            index,
            Account(
                account.account_id,
                account.type,
                account.currency,
                balance,
                account.status,
                account.opened_at,
                at if at > account.updated_at else account.updated_at,  # _later, inlined
            ),
        ),
        "transaction_count": c.transaction_count + 1,
        "channel_counts": _bump(c.channel_counts, channel),
        "last_transaction_at": at
        if c.last_transaction_at is None or at > c.last_transaction_at
        else c.last_transaction_at,
    }
    if debit:
        changes["spending"] = add_debit(c.spending, at, p.currency, p.amount)
    if country:
        changes["country_counts"] = _bump(c.country_counts, country)
    if p.device_id:
        changes["behaviour"] = _seen_device(c.behaviour, p.device_id, None, at)
    return changes


def _seen_device(b: Behaviour, device_id: str, platform: str | None, at: datetime) -> Behaviour:
    """Behaviour with the device moved to the front; a new device is remembered as such."""
    devices = b.devices
    for i, known in enumerate(devices):
        if known.device_id == device_id:
            device = Device(
                device_id,
                platform or known.platform,
                known.first_seen,
                known.last_seen if known.last_seen > at else at,
            )
            return evolve(b, devices=(device, *devices[:i], *devices[i + 1 :]))
    device = Device(device_id, platform, at, at)
    return evolve(b, devices=(device, *devices)[:KNOWN_DEVICES], last_new_device_at=at)


def _device_seen(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CustomerDeviceSeen, e.payload)
    return {"behaviour": _seen_device(c.behaviour, p.device_id, p.platform, e.occurred_at)}


def _login(c: CustomerTwin, e: Event) -> Changes:
    """A successful login counts as a login; a failed or locked-out one as a failed login (a
    lock-out also records when); a challenge not yet passed is neither."""
    p = cast(CustomerLogin, e.payload)
    b = c.behaviour
    outcome = p.outcome
    if outcome is LoginOutcome.CHALLENGED:
        return {}
    if outcome is not LoginOutcome.SUCCEEDED:
        refused: Changes = {"failed_login_count": b.failed_login_count + 1}
        if outcome is LoginOutcome.LOCKED:
            at, before = e.occurred_at, b.locked_out_at
            refused["locked_out_at"] = before if before is not None and before > at else at
        return {"behaviour": evolved(b, refused)}
    country = p.ip_country or (p.location.country if p.location else None)
    b = evolve(
        b,
        login_count=b.login_count + 1,
        last_login_at=e.occurred_at,
        last_login_channel=p.channel.value,
        last_login_country=country,
    )
    if p.device_id:
        b = _seen_device(b, p.device_id, None, e.occurred_at)
    return {"behaviour": b}


def _credit_score(c: CustomerTwin, e: Event) -> Changes:
    p = cast(CreditScoreReceived, e.payload)
    if c.credit is not None and c.credit.received_at > e.occurred_at:
        return {}  # an older report delivered late does not replace a newer one
    return {"credit": CreditScore(p.score, p.bureau, p.delinquencies, e.occurred_at)}


def _risk_score(c: CustomerTwin, e: Event) -> Changes:
    p = cast(RiskScoreUpdated, e.payload)
    if c.risk is not None and c.risk.scored_at > e.occurred_at:
        return {}
    reasons = tuple(ScoreReason(r.feature, r.contribution, r.value) for r in p.reasons)
    return {"risk": RiskScore(p.score_id, p.score, p.model_version, e.occurred_at, reasons)}


def raised_alert(e: Event) -> FraudAlert:
    """The open alert a ``fraud.alert_raised`` event describes."""
    p = cast(FraudAlertRaised, e.payload)
    return FraudAlert(
        alert_id=p.alert_id,
        customer_id=e.subject_id,
        transaction_id=p.transaction_id,
        severity=p.severity.value,
        status=AlertStatus.OPEN.value,
        score=p.score,
        reasons=tuple(p.reasons),
        rule_ids=tuple(p.rule_ids),
        raised_at=e.occurred_at,
        updated_at=e.occurred_at,
    )


def _alert_raised(c: CustomerTwin, e: Event) -> Changes:
    alert = raised_alert(e)
    if any(a.alert_id == alert.alert_id for a in c.open_alerts):
        return {}
    return {"open_alerts": (alert, *c.open_alerts), "alert_count": c.alert_count + 1}


def _alert_status_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(FraudAlertStatusChanged, e.payload)
    alerts: list[FraudAlert] = []
    for alert in c.open_alerts:
        if alert.alert_id == p.alert_id:
            if not p.status.is_open:
                continue  # settled: it leaves the open list (the alerts table keeps it)
            alert = replace(alert, status=p.status.value, updated_at=e.occurred_at)
        alerts.append(alert)
    return {"open_alerts": tuple(alerts)}


CUSTOMER_RULES: dict[str, CustomerRule] = {
    "customer.registered": _registered,
    "customer.profile_updated": _profile_updated,
    "customer.consent_changed": _consent_changed,
    "customer.login": _login,
    "customer.device_seen": _device_seen,
    "credit.score_received": _credit_score,
    "account.opened": _account_opened,
    "account.balance_changed": _balance_changed,
    "account.status_changed": _status_changed,
    "transaction.posted": _transaction_posted,
    "risk.score_updated": _risk_score,
    "fraud.alert_raised": _alert_raised,
    "fraud.alert_status_changed": _alert_status_changed,
}
"""The rule for each customer event type."""


def apply_customer_event(c: CustomerTwin | None, e: Event) -> CustomerTwin:
    """Apply one customer event; ``c`` is ``None`` for a customer not seen before."""
    twin = c or new_customer(e.subject_id, e.occurred_at)
    changes = CUSTOMER_RULES[e.type](twin, e)
    at = e.occurred_at
    changes["last_updated"] = at if at > twin.last_updated else twin.last_updated
    changes["events_applied"] = twin.events_applied + 1
    return evolved(twin, changes)
