"""How the KPI engine stores a customer's facts and an alert's state, and that a store written
before the facts kept their times, or before alerts raised per hour were counted, keeps working
without a rebuild."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.completeness import ALL_FACTS, FACT_BITS, NO_FACTS, CustomerFacts
from banktwin.domain.events import Event
from banktwin.kpis import documents as docs
from banktwin.kpis.aggregates import AlertState, Totals
from banktwin.kpis.engine import KPI_CONSUMER, KpiEngine
from banktwin.kpis.outcomes import RiskMark
from banktwin.kpis.reader import KpiReader
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import T0, event, new_id, registered

AT = 1_757_944_800_000_000  # 2025-09-15T14:00Z in epoch microseconds


@pytest.mark.parametrize(
    ("facts", "stored"),
    [
        (NO_FACTS, b"0"),
        (CustomerFacts(FACT_BITS["accounts"]), b"64"),  # no profile fact written yet
        (CustomerFacts(ALL_FACTS, (AT,) * 5), b"[255,%d]" % AT),  # one registration
        (
            CustomerFacts(31, (AT, AT, AT + 1, None, AT)),
            b"[31,%d,%d,%d,null,%d]" % (AT, AT, AT + 1, AT),
        ),
    ],
)
def test_facts_are_stored_compactly_and_read_back(facts: CustomerFacts, stored: bytes) -> None:
    assert docs.encode_facts(facts) == stored
    assert docs.decode_facts(stored) == facts


def test_a_mask_stored_before_times_were_kept_reads_with_unknown_times() -> None:
    assert docs.decode_facts(b"255") == CustomerFacts(ALL_FACTS, (None,) * 5)


def test_an_alert_settled_before_its_raise_is_stored_without_severity() -> None:
    assert docs.decode_alert(docs.encode_alert(AlertState(None, False))) == AlertState(None, False)
    assert docs.decode_alert(b"[null,false]") == AlertState(None, False)  # as stored before
    before = docs.decode_alert(b'["high",true]')  # as stored before: outcome not counted
    assert before == AlertState("high", True, counted=False)
    assert docs.encode_alert(before) == b'["high",true]'


def test_an_alert_keeps_the_hour_it_is_counted_raised_in_and_its_verdict() -> None:
    state = AlertState("high", False, "2025-09-15T13")
    assert docs.encode_alert(state) == b'["high",false,"2025-09-15T13",null,null]'
    assert docs.decode_alert(docs.encode_alert(state)) == state
    judged = AlertState("high", False, "2025-09-15T13", "confirmed_fraud", T0)
    assert docs.encode_alert(judged) == (
        b'["high",false,"2025-09-15T13","confirmed_fraud",%d]' % AT
    )
    assert docs.decode_alert(docs.encode_alert(judged)) == judged
    older = AlertState("low", False, "2025-09-15T13", counted=False)  # stored before outcomes
    assert docs.encode_alert(older) == b'["low",false,"2025-09-15T13"]'
    assert docs.decode_alert(docs.encode_alert(older)) == older


def test_a_customer_s_latest_risk_score_reads_back() -> None:
    mark = RiskMark(0.37, T0, "0192b6e0-0000-7000-9000-000000000001")
    stored = docs.encode_risk(mark)
    assert stored == b'[0.37,%d,"0192b6e0-0000-7000-9000-000000000001"]' % AT
    assert docs.decode_risk(stored) == mark


def test_totals_stored_before_raises_were_counted_count_them_from_the_next_hour() -> None:
    before = (
        b'{"customers":1,"facts":8,"complete":1,"events":3,"transactions":0,'
        b'"openAlerts":{"high":1},"watermark":"2025-09-15T14:20:00Z"}'
    )
    assert docs.decode_totals(before).raised_since == "2025-09-15T15"
    assert docs.decode_totals(None).raised_since == ""  # a new partition counts from the start
    fresh = Totals(watermark=T0)
    assert docs.decode_totals(docs.encode_totals(fresh)) == fresh
    counted = Totals(
        watermark=T0,
        alerts_raised=4,
        outcomes={"confirmed_fraud": 1, "closed": 1},
        risk_buckets=[0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
    )
    assert docs.decode_totals(docs.encode_totals(counted)) == counted


def test_totals_stored_before_outcomes_were_counted_count_them_from_the_next_hour() -> None:
    before = (
        b'{"customers":1,"facts":8,"complete":1,"events":3,"transactions":0,'
        b'"openAlerts":{"high":1},"watermark":"2025-09-15T14:20:00Z",'
        b'"raisedSince":""}'
    )
    totals = docs.decode_totals(before)
    assert (totals.raised_since, totals.outcomes_since) == ("", "2025-09-15T15")
    assert (totals.alerts_raised, totals.outcomes, totals.risk_buckets) == (0, {}, [0] * 10)


def test_a_store_of_the_older_format_keeps_working() -> None:
    """A customer's facts stored as a bare mask: the first profile write replaces each fact
    whatever its time (the mask's times are unknown), and keeps its own time from then on."""
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    cid = new_id()
    log.append([registered(cid, minutes=10)])
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    positions = kv.positions(KPI_CONSUMER)
    key = docs.key(0, docs.CUSTOMER + cid)
    kv.commit(Checkpoint(KPI_CONSUMER, positions, positions), {key: b"63"})  # as stored before

    update = "customer.profile_updated"
    log.append(
        [
            event(update, cid, {"email": None}, minutes=5),  # older than the registration
            event(update, cid, {"email": "jane@example.com"}, minutes=4),  # older still
        ]
    )
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    facts = docs.decode_facts(kv.get_many(KPI_CONSUMER, [key])[key])
    assert facts.mask == 63 & ~FACT_BITS["email"]
    assert facts.times[2] is not None and facts.times[0] is None
    completeness = KpiReader(kv, 1).report(T0).completeness
    assert (completeness.customers, completeness.percent) == (1, 62.5)  # 5 facts of 8


def alert(cid: str, alert_id: str, severity: str, minutes: float) -> Event:
    payload = {"alertId": alert_id, "transactionId": "TX1", "severity": severity}
    return event("fraud.alert_raised", cid, payload, minutes=minutes)


def test_a_store_from_before_raises_were_counted_keeps_its_baseline_to_the_hours_it_counted() -> (
    None
):
    """Totals and an alert as an older build stored them: a resend of that alert is not counted,
    and the baseline starts at the hour after the watermark, not at the older history (whose
    hours had no raised counts, and would read as quiet)."""
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    cid, old_alert = new_id(), new_id()
    log.append([registered(cid, minutes=-600), alert(cid, old_alert, "high", -1)])  # 04:00, 13:59
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    positions = kv.positions(KPI_CONSUMER)
    totals_key, alert_key = docs.key(0, docs.TOTALS), docs.key(0, docs.ALERT + old_alert)
    totals = docs.decode_totals(kv.get_many(KPI_CONSUMER, [totals_key])[totals_key])
    as_before = {
        "customers": totals.customers,
        "facts": totals.facts,
        "complete": totals.complete_customers,
        "events": totals.events,
        "transactions": totals.transactions,
        "openAlerts": totals.open_alerts,
        "watermark": "2025-09-15T13:59:00Z",
    }
    raised_key = docs.key(0, docs.RAISED + "2025-09-15T13")
    kv.commit(
        Checkpoint(KPI_CONSUMER, positions, positions),
        {
            totals_key: msgspec.json.encode(as_before),
            alert_key: b'["high",true]',
            raised_key: None,  # not counted then
        },
    )
    log.append(
        [
            alert(cid, old_alert, "high", 5),  # a resend: raised before, not counted
            alert(cid, new_id(), "low", 10),  # 14:10
            alert(cid, new_id(), "low", 70),  # 15:10
        ]
    )
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    rate = KpiReader(kv, 1).fraud_alert_rate(T0 + timedelta(hours=2, minutes=5), hours=3)
    assert [h.alerts for h in rate.per_hour] == [1, 1, 0]  # 14:00, 15:00, 16:00
    # counted from 14:00 on: one hour (14:00) before the last full one (15:00), 1 alert
    assert (rate.baseline_since, rate.baseline_hours, rate.baseline) == ("2025-09-15T14", 1, 1.0)
    assert (rate.ratio, rate.exceeds) == (1.0, False)
