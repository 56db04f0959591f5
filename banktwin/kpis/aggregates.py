"""Bank-wide KPIs, as pure aggregates of events (no I/O: the engine loads and stores them).

Every aggregate belongs to one log partition: a partition's consumer is its only writer, so
consumers that split the partitions between processes never write the same key, and a reader
adds the partitions up. What is kept, per partition:

- **totals**: customers, the completeness facts they have (the seed's 95 % target), events and
  transactions counted, open fraud alerts by severity, and the event-time watermark;
- **events per minute** by type and source, by the log's recording time (what arrived when);
- **transactions per hour** by channel, direction and currency — count and amount — by the
  time they occurred;
- **fraud alerts raised per hour** by severity, by the time the alert was raised, each alert
  once however often it is raised (the fraud-alert rate and its baseline, ``kpis/alert_rate.py``);
- **history**: the totals each time the watermark (the latest occurrence time seen) leaves an
  hour, so the dashboard can draw completeness and open alerts over time.

The totals, transactions per hour and alerts raised per hour are the same in any order of
arrival, as the twin is (each customer's facts keep the time of each profile fact's last write;
an alert is open from its raise until settled, whichever arrives first, and counted raised in
the hour of its earliest raise); events per minute and the history are by arrival
(docs/events.md, "Arrival order").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from banktwin.domain.completeness import (
    ALL_FACTS,
    FACT_EVENT_TYPES,
    NO_FACTS,
    CustomerFacts,
    fact_count,
    facts_after,
)
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.insight import FraudAlertRaised, FraudAlertStatusChanged

ALERT_EVENT_TYPES = frozenset({"fraud.alert_raised", "fraud.alert_status_changed"})
SEVERITIES = ("low", "medium", "high", "critical")


def minute_of(moment: datetime) -> str:
    """The key of a minute: ``2026-11-30T09:41`` (UTC; fixed width, so keys sort by time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def hour_of(moment: datetime) -> str:
    """The key of an hour: ``2026-11-30T09`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


class _KeyCache:
    """Minute and hour keys by the time's whole minute or hour since the epoch: formatting a
    time costs a microsecond, and a batch has few distinct minutes but many events."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}
        self._hours: dict[int, str] = {}

    def minute(self, moment: datetime) -> str:
        n = int(moment.timestamp()) // 60
        key = self._minutes.get(n)
        if key is None:
            key = self._minutes[n] = minute_of(moment)
        return key

    def hour(self, moment: datetime) -> str:
        n = int(moment.timestamp()) // 3600
        key = self._hours.get(n)
        if key is None:
            key = self._hours[n] = hour_of(moment)
        return key


@dataclass
class Totals:
    """A partition's running totals."""

    customers: int = 0
    facts: int = 0
    """Completeness facts known, summed over the customers."""
    complete_customers: int = 0
    """Customers with every fact (the seed's profile completeness target is 95 %)."""
    events: int = 0
    transactions: int = 0
    open_alerts: dict[str, int] = field(default_factory=dict)
    watermark: datetime | None = None
    """The latest time an event of this partition occurred at."""
    raised_since: str = ""
    """The first hour whose raised alerts this partition counted in full: ``""`` when it
    counted them from its first event; the hour after its watermark when its KPIs were kept
    before alerts raised per hour were (until ``banktwin replay --consumers kpis``)."""

    def copy(self) -> Totals:
        return Totals(
            self.customers,
            self.facts,
            self.complete_customers,
            self.events,
            self.transactions,
            dict(self.open_alerts),
            self.watermark,
            self.raised_since,
        )


@dataclass
class Snapshot:
    """The totals that are drawn over time, as they stood when an hour ended."""

    customers: int
    facts: int
    complete_customers: int
    open_alerts: dict[str, int]

    @classmethod
    def of(cls, totals: Totals) -> Snapshot:
        return cls(
            totals.customers, totals.facts, totals.complete_customers, dict(totals.open_alerts)
        )


@dataclass
class AlertState:
    """What the open-alert counts need of one alert: whether it is open is whether it was
    raised and no settled status was seen for it (settling is final, docs/events.md, "Arrival
    order"), so it depends on the set of the alert's events, not on their order or times."""

    severity: str | None
    """``None``: not raised yet (a status change arrived first)."""
    open: bool
    """``False`` once a settled status is seen, raised or not."""
    raised_hour: str | None = None
    """The hour of its earliest raise seen, which it is counted raised in; ``None``: not raised
    yet, or raised before alerts raised per hour were kept (not in the hourly counts)."""


TransactionKey = tuple[str, str, str]
"""Channel, direction, currency."""


@dataclass
class TransactionSums:
    """How many transactions of one kind, and their amount."""

    count: int = 0
    amount: Decimal = Decimal(0)

    def add(self, other: TransactionSums) -> None:
        self.count += other.count
        self.amount += other.amount


@dataclass
class PartitionKpis:
    """One partition's aggregates that a batch of events touches, loaded by the engine
    before :meth:`count` runs (``None`` entries: not stored yet)."""

    totals: Totals
    customers: dict[str, CustomerFacts | None] = field(default_factory=dict)
    """Known facts per customer id (see ``domain/completeness.py``)."""
    alerts: dict[str, AlertState | None] = field(default_factory=dict)
    events_per_minute: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """Events counted since the last commit (added to what is stored when committed)."""
    transactions_per_hour: dict[str, dict[TransactionKey, TransactionSums]] = field(
        default_factory=dict
    )
    """Transactions counted since the last commit: count and amount (added on commit)."""
    alerts_raised_per_hour: dict[str, dict[str, int]] = field(default_factory=dict)
    """Alerts raised, by the hour of their raise and severity, counted since the last commit
    (added on commit; -1 where an earlier raise of a counted alert moved it to its hour)."""
    history: dict[str, Snapshot] = field(default_factory=dict)
    """Snapshots taken in this batch, by hour."""
    changed: set[str] = field(default_factory=set)
    """Which customers and alerts changed (``customer/…``, ``alert/…``)."""
    _keys: _KeyCache = field(default_factory=_KeyCache)

    def count(self, event: Event) -> None:
        """Fold one event into the aggregates. The customer and alert it names must be loaded
        (see :func:`keys_needed`)."""
        totals = self.totals
        self._advance_watermark(event.occurred_at)
        totals.events += 1
        assert event.recorded_at is not None, "events read from the log carry their recording"
        per_type = self.events_per_minute.setdefault(self._keys.minute(event.recorded_at), {})
        key = (event.type, event.source)
        per_type[key] = per_type.get(key, 0) + 1
        kind = event.type
        if event.subject_kind is SubjectKind.CUSTOMER:
            self._count_facts(event)
        if kind == "transaction.posted":
            self._count_transaction(event)
        elif kind in ALERT_EVENT_TYPES:
            self._count_alert(event)

    def _advance_watermark(self, occurred: datetime) -> None:
        totals = self.totals
        mark = totals.watermark
        if mark is None:
            totals.watermark = occurred
        elif occurred > mark:
            if self._keys.hour(occurred) != self._keys.hour(mark):
                # The hour of the watermark is over: keep how things stood at its end.
                self.history[self._keys.hour(mark)] = Snapshot.of(totals)
            totals.watermark = occurred

    def _count_facts(self, event: Event) -> None:
        """A customer is counted from their first event (as the twin has one from then), and
        their facts follow the events that change them."""
        customer = event.subject_id
        before = self.customers.get(customer)
        known = before or NO_FACTS
        after = facts_after(known, event) if event.type in FACT_EVENT_TYPES else known
        if after is before:
            return
        totals = self.totals
        if before is None:
            totals.customers += 1
        was, now = known.mask, after.mask
        if now != was:
            totals.facts += fact_count(now) - fact_count(was)
            totals.complete_customers += (now == ALL_FACTS) - (was == ALL_FACTS)
        self.customers[customer] = after
        self.changed.add(f"customer/{customer}")

    def _count_transaction(self, event: Event) -> None:
        p = event.payload
        assert isinstance(p, TransactionPosted)
        self.totals.transactions += 1
        hour = self.transactions_per_hour.setdefault(self._keys.hour(event.occurred_at), {})
        key = (p.channel.value, p.direction.value, p.currency)
        sums = hour.get(key)
        if sums is None:
            hour[key] = TransactionSums(1, p.amount)
        else:
            sums.count += 1
            sums.amount += p.amount

    def _count_alert(self, event: Event) -> None:
        """An alert is counted open from its raise (once, however often it is raised) until a
        settled status is seen, in whichever order the two arrive; other status changes move
        it between open statuses, which the counts do not tell apart. It is counted raised
        once, in the hour of its earliest raise, settled first or not."""
        p = event.payload
        assert isinstance(p, FraudAlertRaised | FraudAlertStatusChanged)
        alert = self.alerts.get(p.alert_id)
        if isinstance(p, FraudAlertRaised):
            hour = self._keys.hour(event.occurred_at)
            if alert is not None and alert.severity is not None:
                self._recount_raise(p.alert_id, alert, hour)  # raised before: counted once
                return
            severity = p.severity.value
            is_open = alert is None or alert.open
            self.alerts[p.alert_id] = AlertState(severity, is_open, hour)
            self._count_raised(hour, severity, 1)
            if is_open:
                open_alerts = self.totals.open_alerts
                open_alerts[severity] = open_alerts.get(severity, 0) + 1
            self.changed.add(f"alert/{p.alert_id}")
            return
        if p.status.is_open or (alert is not None and not alert.open):
            return  # settled already (final), or still open
        if alert is None:  # settled before its raise arrived: the raise lands settled
            self.alerts[p.alert_id] = AlertState(None, open=False)
        else:
            alert.open = False
            if alert.severity is not None:
                open_alerts = self.totals.open_alerts
                open_alerts[alert.severity] = open_alerts.get(alert.severity, 0) - 1
        self.changed.add(f"alert/{p.alert_id}")

    def _recount_raise(self, alert_id: str, alert: AlertState, hour: str) -> None:
        """A repeated raise: the alert moves to its hour if it is earlier than the one it is
        counted in, so it ends in the hour of its earliest raise whatever the order."""
        counted = alert.raised_hour
        if counted is None or hour >= counted:
            return  # raised before the hours were kept, or counted at or before this hour
        assert alert.severity is not None
        self._count_raised(counted, alert.severity, -1)
        self._count_raised(hour, alert.severity, 1)
        alert.raised_hour = hour
        self.changed.add(f"alert/{alert_id}")

    def _count_raised(self, hour: str, severity: str, n: int) -> None:
        counts = self.alerts_raised_per_hour.setdefault(hour, {})
        counts[severity] = counts.get(severity, 0) + n

    def close_batch(self) -> None:
        """Record the current hour's snapshot as it stands (later batches may update it)."""
        mark = self.totals.watermark
        if mark is not None:
            self.history[hour_of(mark)] = Snapshot.of(self.totals)


def keys_needed(event: Event) -> tuple[str | None, str | None]:
    """The customer and alert whose stored state folding ``event`` reads, if any."""
    customer = event.subject_id if event.subject_kind is SubjectKind.CUSTOMER else None
    alert = None
    if event.type in ALERT_EVENT_TYPES:
        payload = event.payload
        assert isinstance(payload, FraudAlertRaised | FraudAlertStatusChanged)
        alert = payload.alert_id
    return customer, alert
