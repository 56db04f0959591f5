"""The customer twin: profile, consent, accounts, activity aggregates, behaviour and scores.

Every field is a function of the set of events applied, not of their order (docs/events.md,
"Arrival order"): absolute values carry the time they were set, collections are kept in an
order of their own (ids, times).

The transactions themselves are rows the store keeps beside the twin (``records.py``), read
newest first: the twin is written whole at every commit that changes it, so it holds their
aggregates only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from banktwin.domain.balance import NO_BOOK, BalanceBook
from banktwin.domain.events import Event
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
    """The opening's; until it arrives, the transactions' (``XXX`` if none yet)."""
    balance: Decimal
    """What ``book`` makes (kept here, as it is read far more often than it changes)."""
    status: str
    opened_at: datetime | None
    """When the account opened (the newest ``account.opened``'s time); it also times the
    type and currency the opening gave."""
    updated_at: datetime
    status_at: datetime | None = None
    """When ``status`` was set (``None``: never, the account is taken as active)."""
    book: BalanceBook = NO_BOOK


class Device(NamedTuple):
    device_id: str
    platform: str | None
    first_seen: datetime
    last_seen: datetime
    platform_at: datetime | None = None
    """When the sighting that named ``platform`` occurred."""


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
    """Known devices, most recently seen first (then by id, descending); the
    ``KNOWN_DEVICES`` seen last are kept."""
    last_new_device_at: datetime | None = None
    """When the newest of the known devices was first seen."""


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


class AlertMark(NamedTuple):
    """The status of an alert that is not in the open list: settled (and so final), or set
    by a status change that arrived before the alert was raised."""

    alert_id: str
    status: str
    at: datetime
    raised: bool
    """The alert has been raised (a settled alert: a repeated raise is not counted again)."""


class FraudReportMark(NamedTuple):
    """A fraud report the twin has counted: its identity (transaction and kind) and when the
    bank first learned it (the earliest ``occurredAt`` among the reports of it)."""

    transaction_id: str
    kind: str
    reported_at: datetime


class Facility(NamedTuple):
    """A credit facility (a loan or credit line, by its account id) as its servicing events
    (``credit.*``) leave it. ``days_past_due`` is the newest event's (the greater at one
    instant); the default and the charge-off are the first ones (the earliest, the greater
    amount at one instant), so every arrival order gives the same facility."""

    facility_id: str
    currency: str
    days_past_due: int
    """Days past due as the newest servicing event left them (at ``status_at``); arrears keep
    ageing until a payment (:func:`banktwin.domain.credit_servicing_rules.days_past_due_at`)."""
    status_at: datetime
    """When the newest servicing event of the facility occurred."""
    missed_payments: int = 0
    """``credit.payment_missed`` events applied."""
    late_payments: int = 0
    """``credit.payment_made`` events of late payments (arrears settled) applied."""
    defaulted_at: datetime | None = None
    defaulted_amount: Decimal | None = None
    """The outstanding balance at default (the exposure at default)."""
    charged_off_at: datetime | None = None
    charged_off_amount: Decimal | None = None


class FieldTimes(NamedTuple):
    """When each profile field and consent flag got its value (the ``occurredAt`` of the
    event that set it; ``None``: never set)."""

    name: datetime | None = None
    dob: datetime | None = None
    email: datetime | None = None
    address: datetime | None = None
    phone: datetime | None = None
    country: datetime | None = None
    segment: datetime | None = None
    processing: datetime | None = None
    marketing: datetime | None = None
    profiling: datetime | None = None
    data_sharing: datetime | None = None


NO_TIMES = FieldTimes()
PROFILE_FIELDS = ("name", "dob", "email", "address", "phone", "country", "segment")
CONSENT_FLAGS = ("processing", "marketing", "profiling", "data_sharing")


@dataclass(frozen=True)
class CustomerTwin:
    customer_id: str
    created_at: datetime
    """The earliest ``occurredAt`` among the events applied."""
    last_updated: datetime
    """The latest ``occurredAt`` among the events applied."""
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
    field_times: FieldTimes = NO_TIMES
    accounts: tuple[Account, ...] = ()
    """Opened accounts by opening time (then id), then the ones not opened yet, by id."""
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
    """Newest raised first (then by id, descending), as the alerts table is listed."""
    alert_marks: tuple[AlertMark, ...] = ()
    """By alert id; the ``MAX_ALERT_MARKS`` newest are kept."""
    alert_count: int = 0
    fraud_reports: tuple[FraudReportMark, ...] = ()
    """Reported transactions, by transaction id, then kind; the ``MAX_FRAUD_REPORTS`` known
    last are kept."""
    fraud_report_count: int = 0
    """Distinct reports (a transaction and a kind) applied: a repeated report counts once."""
    last_fraud_report_at: datetime | None = None
    """When the newest fraud report became known."""
    facilities: tuple[Facility, ...] = ()
    """Credit facilities with servicing events, by id; the ``MAX_FACILITIES`` smallest ids are
    kept."""
    events_applied: int = 0

    def account(self, account_id: str) -> Account | None:
        for account in self.accounts:
            if account.account_id == account_id:
                return account
        return None


Changes = dict[str, Any]
"""The fields a customer rule changes: the twin is copied once per event, with all of them."""
CustomerRule = Callable[[CustomerTwin, Event], Changes]
