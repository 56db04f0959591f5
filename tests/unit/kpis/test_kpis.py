"""The KPI engine over a simulated bank: its figures agree with the twin and with the events
themselves, whichever way the partitions are split between consumers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.domain.completeness import data_completeness
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.kpis.engine import KpiEngine
from banktwin.kpis.reader import KpiReader, KpiReport
from banktwin.log.memory import InMemoryEventLog
from banktwin.projector.projector import Projector
from banktwin.store.kv_memory import InMemoryKeyValueStore
from banktwin.store.memory import InMemoryStateStore
from banktwin.store.port import TWIN_CONSUMER
from tests.factories import T0, event, new_id, registered
from tests.unit.sim.sim_fixtures import END, SMALL, make_backfill

PARTITIONS = 3
FAR = 24 * 90


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    batches, _, _ = make_backfill(SMALL, END)
    return [e for batch in batches for e in batch]


def logged(events: list[Event]) -> InMemoryEventLog:
    log = InMemoryEventLog(partitions=PARTITIONS)
    for i in range(0, len(events), 5000):
        log.append(events[i : i + 5000])
    return log


def report_of(log: InMemoryEventLog, kv: InMemoryKeyValueStore, now: datetime) -> KpiReport:
    return KpiReader(kv, PARTITIONS).report(now, minutes=1440, hours=FAR)


def test_the_kpis_agree_with_the_twin_and_with_the_events(bank: list[Event]) -> None:
    log, kv, store = logged(bank), InMemoryKeyValueStore(), InMemoryStateStore()
    Projector(log, store, batch_size=4000).run_until_caught_up()
    Consumer(log, KpiEngine(kv), batch_size=4000).run_until_caught_up()
    everything = [le.event for p in range(PARTITIONS) for le in log.read(p, 0, 10**6)]
    report = report_of(log, kv, datetime.now(UTC))  # events per minute: by arrival (now)
    history = report_of(log, kv, END)  # transactions and history: by occurrence (simulated)

    ids = {e.subject_id for e in everything if e.subject_kind is SubjectKind.CUSTOMER}
    customers = [store.customer(i) for i in sorted(ids)]
    scores = [data_completeness(c) for c in customers if isinstance(c, CustomerTwin)]
    assert len(scores) == len(ids) == report.completeness.customers
    assert report.completeness.percent == pytest.approx(sum(scores) / len(scores), abs=0.01)
    complete = sum(1 for score in scores if score == 100)
    assert report.completeness.complete_customers == complete

    assert report.events == len(everything) == sum(e.count for e in report.events_per_minute)
    by_type = Counter(e.type for e in everything)
    per_type: Counter[str] = Counter()
    for row in report.events_per_minute:
        per_type[row.type] += row.count
    assert per_type == by_type

    transactions = [e for e in everything if isinstance(e.payload, TransactionPosted)]
    assert report.transactions == len(transactions)
    amounts: dict[tuple[str, str], Decimal] = {}
    for e in transactions:
        assert isinstance(e.payload, TransactionPosted)
        key = (e.payload.channel.value, e.payload.currency)
        amounts[key] = amounts.get(key, Decimal(0)) + e.payload.amount
    reported: dict[tuple[str, str], Decimal] = {}
    for sums in history.transactions_per_hour:
        key = (sums.channel, sums.currency)
        reported[key] = reported.get(key, Decimal(0)) + sums.amount
    assert reported == amounts

    assert len(history.history) > 24 * (SMALL.history_days - 1), "every hour of the history"
    assert history.history[-1].completeness == report.completeness


def test_consumers_splitting_the_partitions_report_what_one_consumer_does(
    bank: list[Event],
) -> None:
    log = logged(bank)
    alone, split = InMemoryKeyValueStore(), InMemoryKeyValueStore()
    Consumer(log, KpiEngine(alone), batch_size=3000).run_until_caught_up()
    Consumer(log, KpiEngine(split), batch_size=1000, partitions=[0, 2]).run_until_caught_up()
    Consumer(log, KpiEngine(split), batch_size=5000, partitions=[1]).run_until_caught_up()
    for now in (datetime.now(UTC), END):
        assert report_of(log, split, now) == report_of(log, alone, now)


def test_counted_once_whatever_the_commits(bank: list[Event]) -> None:
    """Committing after every small read (many merges of stored counters) gives the same
    figures as committing rarely."""
    log = logged(bank[:20_000])
    rare, often = InMemoryKeyValueStore(), InMemoryKeyValueStore()
    Consumer(log, KpiEngine(rare), batch_size=50_000).run_until_caught_up()
    Consumer(log, KpiEngine(often), batch_size=700).run_until_caught_up()
    for now in (datetime.now(UTC), END):
        assert report_of(log, often, now) == report_of(log, rare, now)


def alert(cid: str, alert_id: str, severity: str, minutes: float) -> Event:
    return event(
        "fraud.alert_raised",
        cid,
        {"alertId": alert_id, "transactionId": "TX1", "severity": severity, "score": 0.9},
        minutes=minutes,
    )


def settle(cid: str, alert_id: str, status: str, minutes: float) -> Event:
    return event(
        "fraud.alert_status_changed", cid, {"alertId": alert_id, "status": status}, minutes=minutes
    )


def test_open_alerts_by_severity_follow_their_lifecycle_and_history_keeps_each_hour() -> None:
    log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
    cid, a, b, c, d = new_id(), new_id(), new_id(), new_id(), new_id()
    log.append(
        [
            registered(cid),
            alert(cid, a, "high", 1),
            alert(cid, a, "high", 2),  # the same alert again: counted once
            alert(cid, b, "critical", 3),
            alert(cid, c, "high", 4),
            settle(cid, d, "closed", 6),  # arrives before its raise, which lands settled
            alert(cid, d, "critical", 5),
            settle(cid, a, "investigating", 70),  # still open
            settle(cid, b, "false_positive", 75),
            settle(cid, b, "open", 80),  # a settled alert stays settled, as in the twin
            settle(new_id(), new_id(), "closed", 90),  # never raised: not counted
        ]
    )
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    report = KpiReader(kv, PARTITIONS).report(T0 + timedelta(hours=2), hours=5)
    assert report.open_alerts == {"low": 0, "medium": 0, "high": 2, "critical": 0}
    assert [h.hour for h in report.history] == ["2025-09-15T14", "2025-09-15T15"]
    assert report.history[0].open_alerts["critical"] == 1  # as the hour of 14:00 ended
    assert report.history[1].open_alerts == report.open_alerts


def test_a_consumer_resumes_from_its_committed_state() -> None:
    log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
    customers = [new_id() for _ in range(12)]
    log.append([registered(c) for c in customers[:6]])
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    log.append([registered(c) for c in customers[6:]])
    Consumer(log, KpiEngine(kv)).run_until_caught_up()  # a new process, from the store
    report = KpiReader(kv, PARTITIONS).report(datetime.now(UTC))
    assert report.completeness.customers == 12 and report.events == 12
    assert kv.positions("kpis") == log.end_offsets()
    assert kv.positions(TWIN_CONSUMER) == {}


def test_alerts_raised_are_counted_once_in_the_hour_of_their_earliest_raise() -> None:
    """Each alert once, whatever arrives first and however the work is committed: a repeated
    raise, a settling that arrives before its raise, and a resend stamped earlier than the
    raise counted first (the alert moves to the earlier hour)."""
    cid = new_id()
    a, b, c, d, e, f = (new_id() for _ in range(6))
    events = [
        registered(cid, minutes=-175),  # 11:05, the first hour with data
        alert(cid, a, "high", -115),  # 12:05
        alert(cid, e, "low", 115),  # 15:55: counted here first ...
        alert(cid, b, "critical", -30),  # 13:30
        alert(cid, e, "low", -5),  # ... until this raise of 13:55 arrives
        alert(cid, c, "high", 10),  # 14:10
        alert(cid, c, "high", 20),  # the same alert again
        settle(cid, d, "closed", 40),  # before its raise: still raised
        alert(cid, d, "medium", 30),
        settle(cid, new_id(), "closed", 45),  # never raised: not counted
        alert(cid, f, "high", 50),
        alert(cid, new_id(), "low", 65),  # 15:05, the current hour
    ]
    for batch_size in (1, 3, 100):
        log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
        log.append(events)
        Consumer(
            log, KpiEngine(kv), batch_size=batch_size, catch_up_commit_s=0
        ).run_until_caught_up()
        rate = (
            KpiReader(kv, PARTITIONS).report(T0 + timedelta(minutes=70), hours=5).fraud_alert_rate
        )
        assert [(h.hour[-2:], h.alerts) for h in rate.per_hour] == [
            ("11", 0),
            ("12", 1),
            ("13", 2),
            ("14", 3),
            ("15", 1),
        ]
        assert rate.last_hour.by_severity == {"low": 0, "medium": 1, "high": 2, "critical": 0}
        # 11:00 to 13:00: 3 alerts in 3 hours; 3 in the last hour: 3x the baseline
        assert (rate.baseline_since, rate.baseline_hours, rate.baseline) == (
            "2025-09-15T11",
            3,
            1.0,
        )
        assert (rate.ratio, rate.exceeds) == (3.0, True)
        assert rate.current_hour.alerts == 1
        assert rate == KpiReader(kv, PARTITIONS).fraud_alert_rate(
            T0 + timedelta(minutes=70), hours=5
        )
