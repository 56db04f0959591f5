"""Injected fraud: labelled in the ground truth for every scenario, invisible in the activity
(the labels reach the bank only later, as ``fraud.reported``: test_fraud_reports.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import cast

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.customer import AuthMethod, CustomerLogin, LoginOutcome
from banktwin.sim import FraudLabel, GroundTruthStore, LabelRole, Scenario, ScenarioInstance
from banktwin.wire import events_to_ndjson
from tests.unit.sim.sim_fixtures import Backfill

TELLTALE_WORDS = ("fraud", "skim", "compromis", "takeover", "scenario", "stolen", "clone", "label")


def _labelled(backfill: Backfill, scenario: Scenario) -> list[tuple[FraudLabel, Event]]:
    """The scenario's labelled events, in the order they were generated."""
    position = {e.event_id: i for i, e in enumerate(backfill.events)}
    labels = sorted(backfill.truth.labels(scenario), key=lambda x: position[x.event_id])
    return [(label, backfill.events[position[label.event_id]]) for label in labels]


def test_every_scenario_has_instances_and_fraudulent_transactions(backfill: Backfill) -> None:
    for scenario in Scenario:
        assert backfill.truth.instances(scenario), scenario
        assert backfill.truth.count(scenario) > 0, scenario


def test_labels_point_at_real_events_with_matching_transactions(backfill: Backfill) -> None:
    by_id = {e.event_id: e for e in backfill.events}
    labels = backfill.truth.labels()

    assert labels
    for label in labels:
        event = by_id[label.event_id]
        assert event.subject_id == label.customer_id
        if label.transaction_id is not None:
            assert cast(TransactionPosted, event.payload).transaction_id == label.transaction_id
        else:
            assert event.type != "transaction.posted"


def test_fraud_share_of_transactions_is_near_the_configured_rate(backfill: Backfill) -> None:
    transactions = [e for e in backfill.events if e.type == "transaction.posted"]
    share = backfill.truth.count() / len(transactions)

    assert 0.3 * backfill.config.fraud_rate < share < 2.5 * backfill.config.fraud_rate


def test_is_fraud_answers_for_fraud_only(backfill: Backfill) -> None:
    truth = backfill.truth
    fraud = {x.transaction_id for x in truth.labels(role=LabelRole.FRAUD) if x.transaction_id}
    compromise_points = {x.transaction_id for x in truth.labels(role="compromise")}

    assert compromise_points and compromise_points.isdisjoint(fraud)
    for event in backfill.events:
        if isinstance(event.payload, TransactionPosted):
            assert truth.is_fraud(event.payload.transaction_id) == (
                event.payload.transaction_id in fraud
            )


def test_only_the_late_reports_tell_of_the_fraud(backfill: Backfill) -> None:
    activity = [e for e in backfill.events if e.type != "fraud.reported"]
    wire = events_to_ndjson(activity).decode().lower()

    for word in TELLTALE_WORDS:
        assert word not in wire, word


def test_account_takeover_is_a_new_device_login_then_transfers_out(backfill: Backfill) -> None:
    incidents: dict[str, list[Event]] = defaultdict(list)
    for label, event in _labelled(backfill, Scenario.ACCOUNT_TAKEOVER):
        incidents[label.scenario_instance_id].append(event)

    transfers_seen = False
    for events in incidents.values():
        assert events[0].type == "customer.login"
        assert "customer.device_seen" in {e.type for e in events}
        for event in events:
            if isinstance(event.payload, TransactionPosted) and event.payload.direction == "debit":
                assert event.payload.channel in ("mobile", "online_banking")
                transfers_seen |= event.payload.merchant_category == "4829"
    assert transfers_seen


def test_a_takeover_signs_in_after_refusals_perhaps_a_lock_out_and_a_challenge(
    backfill: Backfill,
) -> None:
    logins: dict[str, list[CustomerLogin]] = defaultdict(list)
    for label, event in _labelled(backfill, Scenario.ACCOUNT_TAKEOVER):
        if event.type == "customer.login":
            logins[label.scenario_instance_id].append(cast(CustomerLogin, event.payload))

    shapes = set()
    for attempts in logins.values():
        *refused, challenged, succeeded = (p.outcome for p in attempts)
        assert (challenged, succeeded) == (LoginOutcome.CHALLENGED, LoginOutcome.SUCCEEDED)
        assert refused.count(LoginOutcome.LOCKED) <= 1
        assert all(o is LoginOutcome.FAILED for o in refused[:-1])
        assert attempts[-1].auth_method is AuthMethod.OTP
        assert {p.auth_method for p in attempts[:-1]} == {AuthMethod.PASSWORD}
        shapes.add(refused[-1] if refused else None)
    assert shapes == {None, LoginOutcome.FAILED, LoginOutcome.LOCKED}


def test_card_testing_is_tiny_online_charges_then_a_large_one(backfill: Backfill) -> None:
    incidents: dict[str, list[TransactionPosted]] = defaultdict(list)
    for label, event in _labelled(backfill, Scenario.CARD_TESTING):
        incidents[label.scenario_instance_id].append(cast(TransactionPosted, event.payload))

    for payments in incidents.values():
        assert all(p.channel == "ecommerce" for p in payments)
        assert len({p.card_token for p in payments}) == 1
        assert sum(p.amount < 5 for p in payments) >= 5
    assert any(p.amount >= 100 for payments in incidents.values() for p in payments)


def test_skimmed_cards_are_used_elsewhere_later(backfill: Backfill) -> None:
    visits: dict[str, TransactionPosted] = {}
    later: list[tuple[str, TransactionPosted]] = []
    for label, event in _labelled(backfill, Scenario.COMPROMISED_TERMINAL):
        payment = cast(TransactionPosted, event.payload)
        assert payment.card_token is not None
        if label.role is LabelRole.COMPROMISE:
            visits[payment.card_token] = payment
        else:
            later.append((payment.card_token, payment))

    terminals = {v.terminal_id for v in visits.values()}
    assert len(terminals) <= len(backfill.truth.instances("compromised_terminal"))
    assert later
    for card, payment in later:
        assert card in visits
        assert payment.terminal_id != visits[card].terminal_id


def test_compromised_card_is_a_burst_on_one_card(backfill: Backfill) -> None:
    incidents: dict[str, list[Event]] = defaultdict(list)
    for label, event in _labelled(backfill, Scenario.COMPROMISED_CARD):
        incidents[label.scenario_instance_id].append(event)

    for events in incidents.values():
        payments = [cast(TransactionPosted, e.payload) for e in events]
        assert len({p.card_token for p in payments}) == 1
        assert all(p.amount >= 20 for p in payments)
        assert events[-1].occurred_at - events[0].occurred_at <= timedelta(minutes=40 * len(events))


def test_ground_truth_store_is_idempotent_and_persistent(tmp_path: Path) -> None:
    path = tmp_path / "truth.db"
    label = FraudLabel("e1", "TX1", "c1", Scenario.CARD_TESTING, "i1", "2025-01-01T00:00:00+00:00")
    instance = ScenarioInstance("i1", Scenario.CARD_TESTING, "c1", "2025-01-01T00:00:00+00:00", "x")
    with GroundTruthStore(path) as truth:
        truth.record([label], [instance])
        truth.record([label], [instance])
    with GroundTruthStore(path) as truth:
        assert truth.labels() == [label]
        assert truth.instances() == [instance]
        assert truth.count() == 1 and truth.count(Scenario.ACCOUNT_TAKEOVER) == 0
        assert truth.is_fraud("TX1") and not truth.is_fraud("TX2")
