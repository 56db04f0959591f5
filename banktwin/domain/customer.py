"""The customer twin: profile, consent, accounts, activity aggregates, behaviour and scores.

The transactions themselves are rows the store keeps beside the twin (``records.py``), read
newest first: a twin that carried its recent transactions was twice the size, and writing it
was most of a projector's cost (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from banktwin.domain.spending import NO_SPENDING, SpendingLedger


@dataclass(frozen=True, slots=True)
class ConsentFlags:
    processing: bool = False
    marketing: bool = False
    profiling: bool = False
    data_sharing: bool = False


class Account(NamedTuple):
    account_id: str
    type: str | None
    """``None`` until ``account.opened`` arrives (a transaction may come first)."""
    currency: str
    balance: Decimal
    status: str
    opened_at: datetime | None
    updated_at: datetime


class Device(NamedTuple):
    device_id: str
    platform: str | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Behaviour:
    """Behavioural signals the fraud and risk engines read."""

    login_count: int = 0
    failed_login_count: int = 0
    """Logins refused: wrong credentials, or the account locked."""
    locked_out_at: datetime | None = None
    """When a login last ended with the account locked (after failed attempts): a takeover
    often starts with one, then a login from a new device."""
    last_login_at: datetime | None = None
    last_login_channel: str | None = None
    last_login_country: str | None = None
    devices: tuple[Device, ...] = ()
    """Known devices, most recently seen first (bounded)."""
    last_new_device_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CreditScore:
    score: int
    bureau: str
    delinquencies: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ScoreReason:
    feature: str
    contribution: float
    value: str | float | int | None = None


@dataclass(frozen=True, slots=True)
class RiskScore:
    score_id: str
    score: float
    model_version: str
    scored_at: datetime
    reasons: tuple[ScoreReason, ...] = ()


@dataclass(frozen=True, slots=True)
class FraudAlert:
    alert_id: str
    customer_id: str
    transaction_id: str
    severity: str
    status: str
    score: float | None
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]
    raised_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerTwin:
    customer_id: str
    created_at: datetime
    last_updated: datetime
    registered: bool = False
    """``customer.registered`` has been applied (events may arrive before it)."""
    name: str | None = None
    dob: date | None = None
    email: str | None = None
    address: str | None = None
    phone: str | None = None
    country: str | None = None
    segment: str | None = None
    consent: ConsentFlags = field(default_factory=ConsentFlags)
    consent_recorded: bool = False
    accounts: tuple[Account, ...] = ()
    spending: SpendingLedger = NO_SPENDING
    """Debits per minute and currency over the last 30 days."""
    transaction_count: int = 0
    last_transaction_at: datetime | None = None
    channel_counts: tuple[tuple[str, int], ...] = ()
    """Transactions per channel (sorted by channel)."""
    country_counts: tuple[tuple[str, int], ...] = ()
    """Transactions per merchant country (sorted by country)."""
    behaviour: Behaviour = field(default_factory=Behaviour)
    credit: CreditScore | None = None
    risk: RiskScore | None = None
    open_alerts: tuple[FraudAlert, ...] = ()
    alert_count: int = 0
    events_applied: int = 0

    def account(self, account_id: str) -> Account | None:
        for account in self.accounts:
            if account.account_id == account_id:
                return account
        return None
