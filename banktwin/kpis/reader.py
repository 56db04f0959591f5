"""Reading the KPIs: every partition's aggregates added up, over a window of time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from banktwin.domain.completeness import COMPLETENESS_CHECKS, COMPLETENESS_TARGET
from banktwin.kpis import documents as docs
from banktwin.kpis.aggregates import (
    SEVERITIES,
    Snapshot,
    Totals,
    TransactionSums,
    hour_of,
    minute_of,
)
from banktwin.kpis.alert_rate import BASELINE_HOURS, FraudAlertRate, fraud_alert_rate
from banktwin.kpis.engine import KPI_CONSUMER
from banktwin.kpis.outcomes import (
    CLOSED,
    CONFIRMED,
    FALSE_POSITIVE,
    RISK_BUCKETS,
    FraudOutcomes,
    RiskDistribution,
)
from banktwin.store.kv import KeyValueStore


@dataclass(frozen=True, slots=True)
class Completeness:
    """Data completeness across all customers (the seed's KPI: 95 %)."""

    customers: int
    complete_customers: int
    percent: float
    """Facts known, as a percent of the facts a complete profile has, over all customers."""

    @classmethod
    def of(cls, customers: int, facts: int, complete: int) -> Completeness:
        possible = customers * len(COMPLETENESS_CHECKS)
        percent = round(100.0 * facts / possible, 2) if possible else 0.0
        return cls(customers, complete, percent)

    @property
    def meets_target(self) -> bool:
        return self.customers > 0 and self.percent >= COMPLETENESS_TARGET


@dataclass(frozen=True, slots=True)
class EventCount:
    minute: str
    type: str
    source: str
    count: int


@dataclass(frozen=True, slots=True)
class TransactionSum:
    hour: str
    channel: str
    direction: str
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class HourSample:
    hour: str
    completeness: Completeness
    open_alerts: dict[str, int]


@dataclass(frozen=True, slots=True)
class KpiReport:
    """The KPIs at one moment: running totals and the series of the requested windows."""

    completeness: Completeness
    open_alerts: dict[str, int]
    events: int
    transactions: int
    events_per_minute: list[EventCount]
    transactions_per_hour: list[TransactionSum]
    history: list[HourSample]
    fraud_alert_rate: FraudAlertRate
    fraud_outcomes: FraudOutcomes
    risk_scores: RiskDistribution


def _outcomes(totals: Totals) -> FraudOutcomes:
    return FraudOutcomes(
        raised=totals.alerts_raised,
        open=sum(totals.open_alerts.values()),
        confirmed_fraud=totals.outcomes.get(CONFIRMED, 0),
        false_positives=totals.outcomes.get(FALSE_POSITIVE, 0),
        closed_without_verdict=totals.outcomes.get(CLOSED, 0),
        counted_since=totals.outcomes_since or None,
    )


def _with_all_severities(counts: dict[str, int]) -> dict[str, int]:
    return {s: counts.get(s, 0) for s in SEVERITIES} | {
        s: n for s, n in counts.items() if s not in SEVERITIES
    }


class KpiReader:
    """Queries over the KPI engine's state (read-only: the engine is its only writer)."""

    def __init__(self, store: KeyValueStore, partitions: int, consumer: str = KPI_CONSUMER):
        self._store = store
        self._partitions = range(partitions)
        self._consumer = consumer

    def report(self, now: datetime, *, minutes: int = 60, hours: int = 48) -> KpiReport:
        """Totals now; events per minute over the last ``minutes`` (by arrival); transactions
        per hour, the hourly history and the alerts raised per hour over the last ``hours`` (by
        occurrence)."""
        now = now.astimezone(UTC)
        totals = self._totals()
        since_hour = hour_of(now - timedelta(hours=hours - 1))
        return KpiReport(
            completeness=Completeness.of(totals.customers, totals.facts, totals.complete_customers),
            open_alerts=_with_all_severities(totals.open_alerts),
            events=totals.events,
            transactions=totals.transactions,
            events_per_minute=self._events(minute_of(now - timedelta(minutes=minutes - 1))),
            transactions_per_hour=self._transactions(since_hour),
            history=self._history(since_hour),
            fraud_alert_rate=self._alert_rate(now, hours, totals.raised_since),
            fraud_outcomes=_outcomes(totals),
            risk_scores=RiskDistribution(tuple(totals.risk_buckets), totals.outcomes_since or None),
        )

    def fraud_alert_rate(self, now: datetime, *, hours: int = 48) -> FraudAlertRate:
        """Alerts raised in the last full hour and the current one against the trailing
        baseline (``kpis/alert_rate.py``), with the alerts raised per hour over the last
        ``hours``."""
        return self._alert_rate(now.astimezone(UTC), hours, self._totals().raised_since)

    def _alert_rate(self, now: datetime, hours: int, raised_since: str) -> FraudAlertRate:
        # The series' window or the baseline's, whichever starts earlier.
        since = min(now - timedelta(hours=hours - 1), now - timedelta(hours=BASELINE_HOURS + 1))
        raised: dict[str, dict[str, int]] = {}
        for stored, raw in self._scan(docs.RAISED, hour_of(since)):
            counts = raised.setdefault(docs.split_key(stored)[1].removeprefix(docs.RAISED), {})
            for severity, n in docs.decode_raised_counts(raw).items():
                counts[severity] = counts.get(severity, 0) + n
        first = self._first_hour()
        if first is not None and raised_since > first:  # a partition counted raises late
            first = raised_since
        return fraud_alert_rate(raised, first, now, hours)

    def _first_hour(self) -> str | None:
        """The first hour with any KPI data by occurrence (a snapshot, transactions or alerts
        raised), over all partitions."""
        firsts = []
        for p in self._partitions:
            for prefix in (docs.HISTORY, docs.TRANSACTIONS, docs.RAISED):
                end = docs.key(p, prefix + "\uffff")
                for stored, _ in self._store.scan(
                    self._consumer, docs.key(p, prefix), end, limit=1
                ):
                    firsts.append(docs.split_key(stored)[1].removeprefix(prefix))
        return min(firsts, default=None)

    def _totals(self) -> Totals:
        keys = [docs.key(p, docs.TOTALS) for p in self._partitions]
        total = Totals()
        for raw in self._store.get_many(self._consumer, keys).values():
            t = docs.decode_totals(raw)
            total.customers += t.customers
            total.facts += t.facts
            total.complete_customers += t.complete_customers
            total.events += t.events
            total.transactions += t.transactions
            total.raised_since = max(total.raised_since, t.raised_since)
            for severity, n in t.open_alerts.items():
                total.open_alerts[severity] = total.open_alerts.get(severity, 0) + n
            total.alerts_raised += t.alerts_raised
            for outcome, n in t.outcomes.items():
                total.outcomes[outcome] = total.outcomes.get(outcome, 0) + n
            for bucket, n in enumerate(t.risk_buckets[:RISK_BUCKETS]):
                total.risk_buckets[bucket] += n
            total.outcomes_since = max(total.outcomes_since, t.outcomes_since)
        return total

    def _scan(self, prefix: str, since: str) -> list[tuple[str, bytes]]:
        """Every partition's keys ``prefix + name`` with ``name >= since``."""
        found: list[tuple[str, bytes]] = []
        for p in self._partitions:
            start = docs.key(p, prefix + since)
            found += self._store.scan(self._consumer, start, docs.key(p, prefix + "\uffff"))
        return found

    def _events(self, since_minute: str) -> list[EventCount]:
        merged: dict[tuple[str, str, str], int] = {}
        for stored, raw in self._scan(docs.EVENTS, since_minute):
            minute = docs.split_key(stored)[1].removeprefix(docs.EVENTS)
            for (type_, source), n in docs.decode_event_counts(raw).items():
                k = (minute, type_, source)
                merged[k] = merged.get(k, 0) + n
        return [EventCount(m, t, s, n) for (m, t, s), n in sorted(merged.items())]

    def _transactions(self, since_hour: str) -> list[TransactionSum]:
        merged: dict[tuple[str, str, str, str], TransactionSums] = {}
        for stored, raw in self._scan(docs.TRANSACTIONS, since_hour):
            hour = docs.split_key(stored)[1].removeprefix(docs.TRANSACTIONS)
            for (channel, direction, currency), sums in docs.decode_transaction_sums(raw).items():
                merged.setdefault((hour, channel, direction, currency), TransactionSums()).add(sums)
        return [
            TransactionSum(h, c, d, cur, sums.count, sums.amount)
            for (h, c, d, cur), sums in sorted(merged.items())
        ]

    def _history(self, since_hour: str) -> list[HourSample]:
        """Per hour, every partition's snapshot at or before it, added up (a partition with no
        events in an hour still counts as it stood)."""
        per_partition: list[list[tuple[str, Snapshot]]] = []
        hours: set[str] = set()
        for p in self._partitions:
            before = self._store.scan(
                self._consumer,
                docs.key(p, docs.HISTORY),
                docs.key(p, docs.HISTORY + since_hour),
                limit=1,
                reverse=True,
            )
            inside = self._store.scan(
                self._consumer,
                docs.key(p, docs.HISTORY + since_hour),
                docs.key(p, docs.HISTORY + "\uffff"),
            )
            series = [
                (docs.split_key(k)[1].removeprefix(docs.HISTORY), docs.decode_snapshot(raw))
                for k, raw in [*before, *inside]
            ]
            hours.update(h for h, _ in series if h >= since_hour)
            per_partition.append(series)
        samples = []
        latest: list[Snapshot | None] = [None] * len(per_partition)
        next_index = [0] * len(per_partition)
        for hour in sorted(hours):
            for i, series in enumerate(per_partition):  # move each partition up to ``hour``
                while next_index[i] < len(series) and series[next_index[i]][0] <= hour:
                    latest[i] = series[next_index[i]][1]
                    next_index[i] += 1
            customers = facts = complete = 0
            alerts: dict[str, int] = {}
            for snapshot in latest:
                if snapshot is None:
                    continue
                customers += snapshot.customers
                facts += snapshot.facts
                complete += snapshot.complete_customers
                for severity, n in snapshot.open_alerts.items():
                    alerts[severity] = alerts.get(severity, 0) + n
            samples.append(
                HourSample(
                    hour, Completeness.of(customers, facts, complete), _with_all_severities(alerts)
                )
            )
        return samples
