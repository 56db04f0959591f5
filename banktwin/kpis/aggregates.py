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
  hour, so the dashboard can draw completeness and open alerts over time;
- **fraud-alert outcomes** (raised, confirmed fraud, false positives, closed without a
  verdict) and **the risk-score distribution** (customers by their latest score, in buckets of
  0.1), kept in the totals from each alert's state and each customer's latest score
  (``kpis/outcomes.py``).

The totals, transactions per hour and alerts raised per hour are the same in any order of
arrival, as the twin is (each customer's facts keep the time of each profile fact's last write;
an alert is open from its raise until settled, whichever arrives first, and counted raised in
the hour of its earliest raise; its verdict is its newest; a customer's latest risk score is
the newest); events per minute and the history are by arrival (docs/events.md, "Arrival
order").
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
from banktwin.domain.payloads.insight import (
    FraudAlertRaised,
    FraudAlertStatusChanged,
    RiskScoreUpdated,
)
from banktwin.kpis.outcomes import (
    OPEN,
    RISK_BUCKETS,
    VERDICTS,
    RiskMark,
    outcome_of,
    replaces_risk,
    replaces_verdict,
    risk_bucket,
)

ALERT_EVENT_TYPES = frozenset({"fraud.alert_raised", "fraud.alert_status_changed"})
RISK_EVENT_TYPE = "risk.score_updated"
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
    alerts_raised: int = 0
    """Alerts raised, each once (those whose outcomes are counted)."""
    outcomes: dict[str, int] = field(default_factory=dict)
    """Settled alerts by outcome: confirmed fraud, false positive, closed without a verdict."""
    risk_buckets: list[int] = field(default_factory=lambda: [0] * RISK_BUCKETS)
    """Customers by the bucket of their latest risk score."""
    outcomes_since: str = ""
    """As ``raised_since``, for the alerts' outcomes and the risk scores: ``""`` when counted
    from the first event; the hour after the watermark for KPIs kept before they were."""

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
            self.alerts_raised,
            dict(self.outcomes),
            list(self.risk_buckets),
            self.outcomes_since,
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
    verdict: str | None = None
    """Its newest verdict (``confirmed_fraud`` or ``false_positive``), if any."""
    verdict_at: datetime | None = None
    counted: bool = True
    """Whether its outcome is in the totals' outcomes: not for an alert raised before they
    were kept (its verdict is unknown)."""

    @property
    def outcome(self) -> str | None:
        """Open, its verdict, or closed (``None``: not raised yet, or not counted)."""
        return outcome_of(self.severity, self.open, self.verdict) if self.counted else None


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
    risk: dict[str, RiskMark | None] = field(default_factory=dict)
    """Each customer's latest risk score (``None``: none stored)."""
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
    """Which customers, alerts and risk scores changed (``customer/…``, ``alert/…``,
    ``risk/…``)."""
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
        elif kind == RISK_EVENT_TYPE:
            self._count_risk(event)

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
            raised = (
                AlertState(severity, True, hour)
                if alert is None
                else AlertState(severity, alert.open, hour, alert.verdict, alert.verdict_at)
            )
            self.alerts[p.alert_id] = raised
            self._count_raised(hour, severity, 1)
            if raised.open:
                open_alerts = self.totals.open_alerts
                open_alerts[severity] = open_alerts.get(severity, 0) + 1
            self._count_outcome(None, raised.outcome)
            self.changed.add(f"alert/{p.alert_id}")
            return
        if p.status.is_open:
            return  # still open: the counts do not tell open statuses apart
        if alert is None:  # settled before its raise arrived: the raise lands settled
            alert = self.alerts[p.alert_id] = AlertState(None, open=False)
            self.changed.add(f"alert/{p.alert_id}")
        before = alert.outcome
        if alert.open:  # settling is final
            alert.open = False
            if alert.severity is not None:
                open_alerts = self.totals.open_alerts
                open_alerts[alert.severity] = open_alerts.get(alert.severity, 0) - 1
            self.changed.add(f"alert/{p.alert_id}")
        status, at = p.status.value, event.occurred_at
        if status in VERDICTS and replaces_verdict(status, at, alert.verdict, alert.verdict_at):
            alert.verdict, alert.verdict_at = status, at
            self.changed.add(f"alert/{p.alert_id}")
        self._count_outcome(before, alert.outcome)

    def _count_outcome(self, before: str | None, after: str | None) -> None:
        """Move an alert from one outcome to another in the totals (open alerts are counted
        by severity elsewhere)."""
        if before == after:
            return
        totals = self.totals
        if before is None:
            totals.alerts_raised += 1
        elif before != OPEN:
            left = totals.outcomes.get(before, 0) - 1
            if left:
                totals.outcomes[before] = left
            else:  # no zeros kept: the totals are the same whatever the order
                del totals.outcomes[before]
        if after is not None and after != OPEN:
            totals.outcomes[after] = totals.outcomes.get(after, 0) + 1

    def _count_risk(self, event: Event) -> None:
        """The customer's latest risk score, in its bucket (moved from the one it replaces)."""
        p = event.payload
        assert isinstance(p, RiskScoreUpdated)
        customer = event.subject_id
        known = self.risk.get(customer)
        mark = RiskMark(p.score, event.occurred_at, p.score_id)
        if not replaces_risk(mark, known):
            return
        buckets = self.totals.risk_buckets
        if known is not None:
            buckets[risk_bucket(known.score)] -= 1
        buckets[risk_bucket(mark.score)] += 1
        self.risk[customer] = mark
        self.changed.add(f"risk/{customer}")

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


def keys_needed(event: Event) -> tuple[str | None, str | None, str | None]:
    """The customer, alert and customer's risk score whose stored state folding ``event``
    reads, if any (the customer's id for the last)."""
    customer = event.subject_id if event.subject_kind is SubjectKind.CUSTOMER else None
    alert = None
    if event.type in ALERT_EVENT_TYPES:
        payload = event.payload
        assert isinstance(payload, FraudAlertRaised | FraudAlertStatusChanged)
        alert = payload.alert_id
    risk = event.subject_id if event.type == RISK_EVENT_TYPE else None
    return customer, alert, risk
