"""What the risk features are made of: each customer's facts, folded from the log, each kept
with the time it occurred.

The fold keeps facts, not aggregates: every transaction, balance, login, bureau report,
servicing event, loan application and fraud signal goes into a time-ordered list of its
customer (:class:`Timeline`), and the features as of a moment
(:func:`banktwin.risk.features.features_as_of`) are computed from the facts that occurred at
or before it. So a feature as of ``T`` cannot see an event after ``T`` however early that
event arrived, and the facts (and with them the features) are the same in any arrival order:
ties at one instant are ordered by value, never by arrival.

Loan applications are subjects of their own; ``loan.submitted`` names the customer, so an
application's facts are linked to the customer when it arrives (decisions that arrive first
wait in the book's ``applications``). Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Generic, NamedTuple, TypeVar, cast

from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    AccountStatusChanged,
    Direction,
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
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.domain.payloads.insight import (
    AlertStatus,
    FraudAlertRaised,
    FraudAlertStatusChanged,
)
from banktwin.domain.payloads.loan import LoanDecided, LoanSubmitted

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a time with an offset."""
    return (moment - _EPOCH) // _MICROSECOND


def cents(amount: Decimal) -> int:
    """An amount of money as whole cents."""
    return int(amount.scaleb(2))


class Timeline(Generic[T]):
    """Facts in order of their time, then of their value (so ties never depend on arrival).

    ``times`` and ``items`` are parallel lists; an in-order stream only ever appends.
    """

    __slots__ = ("items", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.items: list[T] = []

    def __len__(self) -> int:
        return len(self.times)

    def add(self, at: int, item: T) -> None:
        """Insert ``item`` that occurred at ``at`` at its place."""
        times, items = self.times, self.items
        if not times or times[-1] < at:
            times.append(at)
            items.append(item)
            return
        low, high = bisect_left(times, at), bisect_right(times, at)
        index = bisect_right(items, item, low, high)  # type: ignore[call-overload]
        times.insert(index, at)
        items.insert(index, item)

    def until(self, at: int) -> int:
        """How many facts occurred at or before ``at`` (they are ``items[:n]``)."""
        return bisect_right(self.times, at)

    def span(self, after: int, until: int) -> tuple[int, int]:
        """The index range of the facts with ``after < time <= until``."""
        return bisect_right(self.times, after), bisect_right(self.times, until)

    def count(self, after: int, until: int) -> int:
        """How many facts occurred in ``(after, until]``."""
        low, high = self.span(after, until)
        return high - low

    def last(self, at: int) -> tuple[int, T] | None:
        """The newest fact at or before ``at`` (at one instant, the greatest), with its time."""
        n = self.until(at)
        return None if n == 0 else (self.times[n - 1], self.items[n - 1])


class Txn(NamedTuple):
    """A posted transaction, as the features read it."""

    cents: int
    credit: bool
    account_id: str
    channel: str
    mcc: str
    """``""`` when none."""
    card: bool
    """Paid with a card (a card token on the transaction)."""
    country: str
    """Where it happened (``""``: not said)."""


class AccountFacts:
    """An account's openings, absolute balances, transactions and statuses, with their times."""

    __slots__ = ("_prefix", "anchors", "deltas", "openings", "statuses")

    def __init__(self) -> None:
        self.openings: Timeline[tuple[str, int]] = Timeline()
        """(type, opening balance in cents)."""
        self.anchors: Timeline[tuple[int, int]] = Timeline()
        """Absolute balances: (0 for an opening, 1 for a balance change, cents). At one
        instant, a change wins over an opening, then the greater balance (as in the twin)."""
        self.deltas: Timeline[int] = Timeline()
        """Signed cents each transaction moves the balance by."""
        self.statuses: Timeline[str] = Timeline()
        self._prefix: list[int] | None = None

    def add_delta(self, at: int, signed_cents: int) -> None:
        self.deltas.add(at, signed_cents)
        self._prefix = None

    def balance_at(self, at: int) -> int:
        """The balance (cents) at ``at``: the newest absolute balance then, plus the
        transactions after it (one at an opening's instant comes after the opening, one at a
        balance change's instant is inside it)."""
        prefix = self._prefix
        if prefix is None:
            prefix = [0]
            for delta in self.deltas.items:
                prefix.append(prefix[-1] + delta)
            self._prefix = prefix
        times = self.deltas.times
        upto = prefix[bisect_right(times, at)]
        anchor = self.anchors.last(at)
        if anchor is None:
            return upto
        anchor_at, (kind, balance) = anchor
        start = bisect_left(times, anchor_at) if kind == 0 else bisect_right(times, anchor_at)
        return balance + upto - prefix[start]

    def type_at(self, at: int) -> str | None:
        """The type the newest opening at or before ``at`` gave (``None``: not opened yet)."""
        opening = self.openings.last(at)
        return None if opening is None else opening[1][0]

    def status_at(self, at: int) -> str:
        """The newest status at or before ``at`` (``active`` when never set)."""
        status = self.statuses.last(at)
        return "active" if status is None else status[1]


@dataclass(eq=False)
class LoanFacts:
    """A loan application's submissions (amount in cents) and decisions."""

    submitted: Timeline[int] = field(default_factory=Timeline)
    decided: Timeline[str] = field(default_factory=Timeline)


class ServicingFact(NamedTuple):
    """A credit-servicing event of one of the customer's facilities."""

    facility_id: str
    days_past_due: int
    kind: str
    """``missed``, ``paid``, ``paid_late``, ``defaulted`` or ``charged_off``."""


@dataclass(eq=False)
class CustomerFacts:
    """Everything the risk features read about one customer, each fact with its time."""

    customer_id: str
    first_event_at: int | None = None
    """When the earliest of the customer's events occurred."""
    registered: Timeline[int] = field(default_factory=Timeline)
    segments: Timeline[str] = field(default_factory=Timeline)
    """Segment values set (``""``: cleared), last writer wins."""
    countries: Timeline[str] = field(default_factory=Timeline)
    profile_changes: Timeline[int] = field(default_factory=Timeline)
    accounts: dict[str, AccountFacts] = field(default_factory=dict)
    transactions: Timeline[Txn] = field(default_factory=Timeline)
    logins: Timeline[tuple[str, str]] = field(default_factory=Timeline)
    """(outcome, channel)."""
    device_first_seen: dict[str, int] = field(default_factory=dict)
    bureau: Timeline[tuple[int, int]] = field(default_factory=Timeline)
    """(score, delinquencies)."""
    servicing: Timeline[ServicingFact] = field(default_factory=Timeline)
    alerts_raised: Timeline[str] = field(default_factory=Timeline)
    alerts_confirmed: Timeline[str] = field(default_factory=Timeline)
    fraud_reports: Timeline[tuple[str, str]] = field(default_factory=Timeline)
    loans: dict[str, LoanFacts] = field(default_factory=dict)

    def account(self, account_id: str) -> AccountFacts:
        known = self.accounts.get(account_id)
        if known is None:
            known = self.accounts[account_id] = AccountFacts()
        return known

    def seen_device(self, device_id: str, at: int) -> None:
        first = self.device_first_seen.get(device_id)
        if first is None or at < first:
            self.device_first_seen[device_id] = at


class RiskBook:
    """Every customer's facts, folded event by event in any order (see the module)."""

    def __init__(self) -> None:
        self.customers: dict[str, CustomerFacts] = {}
        self.applications: dict[str, LoanFacts] = {}

    def customer(self, customer_id: str) -> CustomerFacts:
        """The facts of ``customer_id`` (empty for a customer not seen)."""
        known = self.customers.get(customer_id)
        if known is None:
            known = self.customers[customer_id] = CustomerFacts(customer_id)
        return known

    def fold(self, event: Event) -> None:
        """Add the facts of one event."""
        at = to_micros(event.occurred_at)
        kind = EVENT_KINDS.get(event.type)
        if event.subject_kind is SubjectKind.LOAN:
            self._fold_loan(event, at)
            return
        if event.subject_kind is not SubjectKind.CUSTOMER:
            return
        c = self.customer(event.subject_id)
        if c.first_event_at is None or at < c.first_event_at:
            c.first_event_at = at
        if kind is not None:
            kind(c, event.payload, at)

    def _fold_loan(self, event: Event, at: int) -> None:
        loan = self.applications.get(event.subject_id)
        if loan is None:
            loan = self.applications[event.subject_id] = LoanFacts()
        p = event.payload
        if isinstance(p, LoanSubmitted):
            loan.submitted.add(at, cents(p.amount))
            self.customer(p.customer_id).loans[event.subject_id] = loan
        elif isinstance(p, LoanDecided):
            loan.decided.add(at, p.decision.value)


def _registered(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(CustomerRegistered, payload)
    c.registered.add(at, 0)
    c.segments.add(at, p.segment.value)
    c.countries.add(at, p.country or "")


def _profile_updated(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(CustomerProfileUpdated, payload)
    c.profile_changes.add(at, len(p.model_fields_set))
    if "segment" in p.model_fields_set:
        c.segments.add(at, "" if p.segment is None else p.segment.value)
    if "country" in p.model_fields_set:
        c.countries.add(at, p.country or "")


def _login(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(CustomerLogin, payload)
    c.logins.add(at, (p.outcome.value, p.channel.value))
    if p.device_id is not None:
        c.seen_device(p.device_id, at)


def _device_seen(c: CustomerFacts, payload: object, at: int) -> None:
    c.seen_device(cast(CustomerDeviceSeen, payload).device_id, at)


def _credit_score(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(CreditScoreReceived, payload)
    c.bureau.add(at, (p.score, p.delinquencies))


def _opened(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(AccountOpened, payload)
    account = c.account(p.account_id)
    balance = cents(p.balance)
    account.openings.add(at, (p.type.value, balance))
    account.anchors.add(at, (0, balance))
    account.statuses.add(at, p.status.value)


def _balance_changed(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(AccountBalanceChanged, payload)
    c.account(p.account_id).anchors.add(at, (1, cents(p.balance)))


def _status_changed(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(AccountStatusChanged, payload)
    c.account(p.account_id).statuses.add(at, p.status.value)


def _posted(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(TransactionPosted, payload)
    amount = cents(p.amount)
    credit = p.direction is Direction.CREDIT
    c.account(p.account_id).add_delta(at, amount if credit else -amount)
    txn = Txn(
        amount,
        credit,
        p.account_id,
        p.channel.value,
        p.merchant_category or "",
        p.card_token is not None,
        "" if p.location is None else p.location.country,
    )
    c.transactions.add(at, txn)
    if p.device_id is not None:
        c.seen_device(p.device_id, at)


def _servicing(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(CreditPaymentMissed | CreditPaymentMade | CreditDefaulted | CreditChargedOff, payload)
    if isinstance(p, CreditPaymentMissed):
        kind = "missed"
    elif isinstance(p, CreditPaymentMade):
        kind = "paid_late" if p.late else "paid"
    elif isinstance(p, CreditDefaulted):
        kind = "defaulted"
    else:
        kind = "charged_off"
    c.servicing.add(at, ServicingFact(p.facility_id, p.days_past_due, kind))


def _alert_raised(c: CustomerFacts, payload: object, at: int) -> None:
    c.alerts_raised.add(at, cast(FraudAlertRaised, payload).alert_id)


def _alert_status(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(FraudAlertStatusChanged, payload)
    if p.status is AlertStatus.CONFIRMED_FRAUD:
        c.alerts_confirmed.add(at, p.alert_id)


def _fraud_reported(c: CustomerFacts, payload: object, at: int) -> None:
    p = cast(FraudReported, payload)
    c.fraud_reports.add(at, (p.transaction_id, p.kind.value))


EVENT_KINDS = {
    "customer.registered": _registered,
    "customer.profile_updated": _profile_updated,
    "customer.login": _login,
    "customer.device_seen": _device_seen,
    "credit.score_received": _credit_score,
    "account.opened": _opened,
    "account.balance_changed": _balance_changed,
    "account.status_changed": _status_changed,
    "transaction.posted": _posted,
    "credit.payment_missed": _servicing,
    "credit.payment_made": _servicing,
    "credit.defaulted": _servicing,
    "credit.charged_off": _servicing,
    "fraud.alert_raised": _alert_raised,
    "fraud.alert_status_changed": _alert_status,
    "fraud.reported": _fraud_reported,
}
"""The customer events whose facts the features read (``risk.score_updated`` is left out on
purpose: the model's own past output is no evidence of a loss)."""
