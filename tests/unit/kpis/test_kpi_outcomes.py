"""What the fraud alerts came to and how the risk scores are spread, through the KPI engine,
the key-value store and the reader: counted once per alert and per customer, across commits,
and a store kept before these counts still reads (counted from the next hour)."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event
from banktwin.kpis import documents as docs
from banktwin.kpis.engine import KPI_CONSUMER, KpiEngine
from banktwin.kpis.outcomes import risk_bucket
from banktwin.kpis.reader import KpiReader, KpiReport
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import T0, event, new_id, registered

PARTITIONS = 2


def raised(customer: str, alert_id: str, minutes: float = 0) -> Event:
    payload = {"alertId": alert_id, "transactionId": "TX1", "severity": "high"}
    return event("fraud.alert_raised", customer, payload, minutes=minutes)


def status(customer: str, alert_id: str, to: str, minutes: float) -> Event:
    payload = {"alertId": alert_id, "status": to, "analyst": "ana"}
    return event("fraud.alert_status_changed", customer, payload, minutes=minutes)


def scored(customer: str, score: float, minutes: float, score_id: str | None = None) -> Event:
    payload = {"scoreId": score_id or new_id(), "score": score, "modelVersion": "RiskScore/1"}
    return event("risk.score_updated", customer, payload, minutes=minutes)


def run(log: InMemoryEventLog, kv: InMemoryKeyValueStore, batch_size: int = 1000) -> KpiReport:
    Consumer(log, KpiEngine(kv), batch_size=batch_size, catch_up_commit_s=0).run_until_caught_up()
    return KpiReader(kv, PARTITIONS).report(T0 + timedelta(hours=1))


def test_each_alert_counts_once_with_its_newest_verdict_and_precision_follows() -> None:
    c1, c2 = new_id(), new_id()
    a = [new_id() for _ in range(6)]
    log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
    log.append(
        [
            raised(c1, a[0]),
            status(c1, a[0], "investigating", 1),
            status(c1, a[0], "confirmed_fraud", 2),
            status(c1, a[0], "closed", 3),  # closed after its verdict: still confirmed
            raised(c1, a[1]),
            status(c1, a[1], "false_positive", 2),
            raised(c2, a[2]),
            raised(c2, a[2], 1),  # raised again: one alert
            status(c2, a[2], "closed", 4),  # no verdict
            raised(c2, a[3]),  # still open
            status(c2, a[4], "confirmed_fraud", 1),  # its raise comes later
            raised(c2, a[5]),
            status(c2, a[5], "investigating", 1),  # open
        ]
    )
    outcomes = run(log, kv, batch_size=3).fraud_outcomes
    assert (outcomes.raised, outcomes.open) == (5, 2)
    assert (outcomes.confirmed_fraud, outcomes.false_positives) == (1, 1)
    assert outcomes.closed_without_verdict == 1 and outcomes.precision == 0.5
    assert outcomes.counted_since is None

    log.append(
        [
            raised(c2, a[4], 0),  # lands confirmed
            status(c2, a[3], "investigating", 5),
            status(c2, a[3], "false_positive", 6),
            status(c1, a[1], "confirmed_fraud", 7),  # a later verdict replaces the first
        ]
    )
    outcomes = run(log, kv).fraud_outcomes
    assert (outcomes.raised, outcomes.open, outcomes.closed_without_verdict) == (6, 1, 1)
    assert (outcomes.confirmed_fraud, outcomes.false_positives) == (3, 1)
    assert outcomes.precision == 0.75


def test_no_verdict_yet_has_no_precision() -> None:
    log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
    customer = new_id()
    log.append([raised(customer, new_id())])
    outcomes = run(log, kv).fraud_outcomes
    assert (outcomes.raised, outcomes.open, outcomes.precision) == (1, 1, None)


def test_each_customer_counts_once_in_the_bucket_of_its_latest_score() -> None:
    log, kv = InMemoryEventLog(partitions=PARTITIONS), InMemoryKeyValueStore()
    c1, c2, c3 = new_id(), new_id(), new_id()
    log.append(
        [
            registered(c1),
            scored(c1, 0.05, 1),
            scored(c2, 0.95, 1),
            scored(c3, 1.0, 1),  # 1 is in the last bucket
        ]
    )
    risk = run(log, kv, batch_size=2).risk_scores
    assert risk.buckets == (1, 0, 0, 0, 0, 0, 0, 0, 0, 2) and risk.customers == 3

    log.append(
        [
            scored(c1, 0.42, 5),  # moves from bucket 0 to 4
            scored(c2, 0.15, 0),  # older than its score: changes nothing
            scored(c3, 0.3, 1, score_id="ffffffff-0000-7000-9000-000000000000"),  # a tie: the
        ]  # greater score id wins
    )
    risk = run(log, kv).risk_scores
    assert risk.buckets == (0, 0, 0, 1, 1, 0, 0, 0, 0, 1) and risk.customers == 3
    stored = docs.key(log.partition_of(c1), docs.RISK + c1)
    assert docs.decode_risk(kv.get_many(KPI_CONSUMER, [stored])[stored]).score == 0.42


def test_buckets_are_tenths_with_one_in_the_last() -> None:
    assert [risk_bucket(s) for s in (0.0, 0.0999, 0.1, 0.3, 0.7, 0.9, 0.99, 1.0)] == [
        0,
        0,
        1,
        3,
        7,
        9,
        9,
        9,
    ]


def test_kpis_kept_before_outcomes_were_counted_count_them_from_the_next_hour() -> None:
    """Totals and an alert as the previous build stored them: the alert raised then is left
    out of the outcomes (its verdict is not known), later ones count, and the report says
    from which hour."""
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    customer, old_alert = new_id(), new_id()
    log.append([raised(customer, old_alert, -5)])  # 13:55
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    positions = kv.positions(KPI_CONSUMER)
    totals_key = docs.key(0, docs.TOTALS)
    stored = msgspec.json.decode(kv.get_many(KPI_CONSUMER, [totals_key])[totals_key])
    for new in ("alertsRaised", "outcomes", "riskBuckets", "outcomesSince"):
        del stored[new]
    alert_key = docs.key(0, docs.ALERT + old_alert)
    kv.commit(
        Checkpoint(KPI_CONSUMER, positions, positions),
        {totals_key: msgspec.json.encode(stored), alert_key: b'["high",true,"2025-09-15T13"]'},
    )
    new_alert = new_id()
    log.append(
        [
            status(customer, old_alert, "false_positive", 10),
            raised(customer, new_alert, 20),
            status(customer, new_alert, "confirmed_fraud", 30),
        ]
    )
    report = KpiReader(kv, 1).report(T0 + timedelta(hours=1))
    assert report.fraud_outcomes.counted_since == "2025-09-15T14"
    outcomes = run(log, kv).fraud_outcomes
    assert (outcomes.raised, outcomes.confirmed_fraud, outcomes.false_positives) == (1, 1, 0)
    assert outcomes.open == 0 and outcomes.precision == 1.0
