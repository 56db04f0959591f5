"""Fraud reports: the ground truth reaches the bank as ``fraud.reported`` events, days or weeks
after the fraud, and only once their time has come."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import cast

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.fraud_report import FraudReported, FraudReportKind
from banktwin.sim import GroundTruthStore, LabelRole, SimConfig, Simulation
from banktwin.sim.fraud_reports import MAX_REPORT_DELAY, MIN_REPORT_DELAY, SOON
from banktwin.sim.timeline import DAY
from banktwin.wire import events_to_ndjson
from tests.unit.sim.sim_fixtures import END, SMALL, Backfill, make_backfill

MIN_DELAY = timedelta(microseconds=MIN_REPORT_DELAY)
MAX_DELAY = timedelta(microseconds=MAX_REPORT_DELAY)
LIVE = SimConfig(customers=60, branches=0, seed=3, history_days=10, fraud_rate=0.2)
"""A bank small enough to run on for longer than the longest delay."""


def _reports(events: list[Event]) -> list[tuple[Event, FraudReported]]:
    return [(e, cast(FraudReported, e.payload)) for e in events if e.type == "fraud.reported"]


def _transactions(events: list[Event]) -> dict[str, Event]:
    return {
        cast(TransactionPosted, e.payload).transaction_id: e
        for e in events
        if e.type == "transaction.posted"
    }


def test_every_report_names_a_fraudulent_transaction_the_simulator_emitted(
    backfill: Backfill,
) -> None:
    reports = _reports(backfill.events)
    transactions = _transactions(backfill.events)
    labels = {
        x.transaction_id: x for x in backfill.truth.labels(role=LabelRole.FRAUD) if x.transaction_id
    }

    assert reports
    for event, report in reports:
        posted = transactions[report.transaction_id]
        payment = cast(TransactionPosted, posted.payload)
        assert report.transaction_id in labels
        assert event.subject_id == posted.subject_id == labels[report.transaction_id].customer_id
        assert report.account_id == payment.account_id
        assert report.card_token == payment.card_token
        assert report.transaction_occurred_at == posted.occurred_at
        assert report.reason_code == labels[report.transaction_id].scenario.value
    assert len({r.transaction_id for _, r in reports}) == len(reports)  # one report each


def test_a_report_comes_after_its_transaction_within_the_delay_bounds(backfill: Backfill) -> None:
    transactions = _transactions(backfill.events)

    for event, report in _reports(backfill.events):
        fraud_at = transactions[report.transaction_id].occurred_at
        assert event.occurred_at > fraud_at
        assert MIN_DELAY <= event.occurred_at - fraud_at <= MAX_DELAY


def test_kinds_fit_the_fraud_and_a_victim_reports_an_incident_one_way(backfill: Backfill) -> None:
    labels = {x.transaction_id: x for x in backfill.truth.labels(role="fraud") if x.transaction_id}
    reports = _reports(backfill.events)
    kinds: dict[tuple[str, str], set[FraudReportKind]] = defaultdict(set)
    for _, report in reports:
        label = labels[report.transaction_id]
        kinds[label.scenario_instance_id, label.customer_id].add(report.kind)
        if report.kind is FraudReportKind.CHARGEBACK:
            assert report.card_token is not None  # only a card payment is charged back

    assert {report.kind for _, report in reports} == set(FraudReportKind)
    assert all(len(made) == 1 for made in kinds.values())


def test_the_backfill_holds_no_report_whose_time_has_not_come(backfill: Backfill) -> None:
    reports = _reports(backfill.events)
    frauds = {x.transaction_id for x in backfill.truth.labels(role="fraud") if x.transaction_id}

    assert all(event.occurred_at <= backfill.end for event, _ in reports)
    assert len(reports) < len(frauds)  # the frauds of the last days are not known yet


def test_live_mode_sends_each_report_when_the_clock_reaches_it(tmp_path: Path) -> None:
    truth = GroundTruthStore(tmp_path / "truth.db")
    sim = Simulation(LIVE, truth)
    backfilled = [e for batch in sim.backfill(end=END) for e in batch]
    posted = _transactions(backfilled)
    frauds = {x.transaction_id for x in truth.labels(role="fraud") if x.transaction_id in posted}

    live: list[Event] = []
    reached = END
    for day in range(1, MAX_REPORT_DELAY // DAY + 2):  # a day at a time, past the longest delay
        until = END + timedelta(days=day)
        sent = sim.advance_to(until)
        assert all(reached < e.occurred_at <= until for e, _ in _reports(sent))
        live += sent
        reached = until

    in_backfill = {r.transaction_id for _, r in _reports(backfilled)}
    reported = Counter(r.transaction_id for _, r in _reports(backfilled + live))
    assert in_backfill and in_backfill < frauds  # some were not known by the backfill's end
    assert frauds <= set(reported)  # and all of them are, once their time has come
    assert set(reported.values()) == {1}
    fraud_at = _transactions(backfilled + live)
    delays = [
        e.occurred_at - fraud_at[r.transaction_id].occurred_at
        for e, r in _reports(backfilled + live)
    ]
    soon = sum(d <= timedelta(days=SOON[1]) for d in delays)
    assert len(delays) > soon > 0.7 * len(delays)  # most within days, some after weeks


def test_reports_are_the_same_for_the_same_seed(backfill: Backfill) -> None:
    again, _, _ = make_backfill(SMALL, END)
    reports = [e for e, _ in _reports([e for batch in again for e in batch])]

    assert events_to_ndjson(reports) == events_to_ndjson([e for e, _ in _reports(backfill.events)])
