"""The backfill: deterministic, valid, ordered, and covering its window."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from banktwin.domain.events import EVENT_TYPES, SubjectKind
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    TransactionPosted,
)
from banktwin.domain.payloads.branch import BranchOpened, QueueAbandoned, QueueJoined, QueueServed
from banktwin.domain.payloads.common import CENT
from banktwin.domain.payloads.customer import AuthMethod, CustomerLogin, LoginChannel, LoginOutcome
from banktwin.sim import SimConfig, Simulation
from banktwin.wire import events_to_ndjson
from tests.unit.sim.sim_fixtures import END, SMALL, Backfill, make_backfill

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_same_config_and_end_give_a_byte_identical_backfill(backfill: Backfill) -> None:
    again, _, _ = make_backfill(SMALL, END)

    assert events_to_ndjson([e for b in again for e in b]) == events_to_ndjson(backfill.events)


def test_batch_size_only_slices_the_same_stream(backfill: Backfill) -> None:
    batches, _, _ = make_backfill(SMALL, END, batch_size=777)

    assert max(len(b) for b in batches) <= 777
    assert [e.event_id for b in batches for e in b] == [e.event_id for e in backfill.events]


def test_another_seed_or_end_makes_other_events(backfill: Backfill) -> None:
    other_seed, _, _ = make_backfill(
        SimConfig(customers=100, branches=3, seed=2, history_days=14, fraud_rate=0.1), END
    )
    other_end, _, _ = make_backfill(SMALL, END + timedelta(hours=1))

    ids = {e.event_id for e in backfill.events}
    assert ids.isdisjoint(e.event_id for b in other_seed for e in b)
    assert ids.isdisjoint(e.event_id for b in other_end for e in b)


def test_every_event_revalidates_from_its_json(backfill: Backfill) -> None:
    for event in backfill.events:
        spec = EVENT_TYPES[event.type]
        json = event.payload.model_dump_json(exclude_unset=True)
        assert spec.payload.model_validate_json(json) == event.payload
        assert event.version == spec.version
        assert not spec.projector_only
        assert event.source == "banktwin.sim"
        assert event.occurred_at.utcoffset() == timedelta(0)


def test_event_ids_are_unique_uuid7s_of_the_event_time(backfill: Backfill) -> None:
    ids = [e.event_id for e in backfill.events]

    assert len(set(ids)) == len(ids)
    assert all(UUID7.match(i) for i in ids)
    for event in backfill.events:
        since_epoch = event.occurred_at - datetime(1970, 1, 1, tzinfo=UTC)
        assert uuid.UUID(event.event_id).int >> 80 == since_epoch // timedelta(milliseconds=1)


def test_events_of_each_subject_come_in_time_order(backfill: Backfill) -> None:
    last: dict[str, datetime] = {}
    for event in backfill.events:
        assert last.get(event.subject_id, event.occurred_at) <= event.occurred_at
        last[event.subject_id] = event.occurred_at


def test_registration_and_account_opening_come_before_other_customer_events(
    backfill: Backfill,
) -> None:
    by_customer = defaultdict(list)
    for event in backfill.events:
        if event.subject_kind is SubjectKind.CUSTOMER:
            by_customer[event.subject_id].append(event)

    assert len(by_customer) == SMALL.customers
    for events in by_customer.values():
        assert events[0].type == "customer.registered"
        opened: set[str] = set()
        for event in events:
            if event.type == "account.opened":
                opened.add(cast(AccountOpened, event.payload).account_id)
            elif event.type == "transaction.posted":
                assert cast(TransactionPosted, event.payload).account_id in opened


def test_backfill_covers_the_window_after_the_banks_history(backfill: Backfill) -> None:
    start, end = backfill.start, backfill.end
    history = [e for e in backfill.events if e.occurred_at < start]
    window = [e for e in backfill.events if e.occurred_at >= start]

    assert backfill.events[: len(history)] == history
    assert {e.type for e in history} >= {"customer.registered", "account.opened", "branch.opened"}
    assert min(e.occurred_at for e in history) < start - timedelta(days=365)
    assert max(e.occurred_at for e in window) <= end
    for day in range(SMALL.history_days):
        lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
        assert any(e.type == "transaction.posted" and lo <= e.occurred_at < hi for e in window)
    assert max(e.occurred_at for e in window) > end - timedelta(hours=1)


def test_ids_have_their_documented_shapes(backfill: Backfill) -> None:
    transactions = [
        cast(TransactionPosted, e.payload)
        for e in backfill.events
        if e.type == "transaction.posted"
    ]
    assert all(re.fullmatch(r"ACC\d{8}", t.account_id) for t in transactions)
    assert all(re.fullmatch(r"TX\d+", t.transaction_id) for t in transactions)
    assert all(
        re.fullmatch(r"tok_[0-9a-f]{24}", t.card_token) for t in transactions if t.card_token
    )
    assert all(re.fullmatch(r"dev_[0-9a-f]+", t.device_id) for t in transactions if t.device_id)
    assert all(UUID.match(e.subject_id) for e in backfill.events)
    assert len({t.transaction_id for t in transactions}) == len(transactions)


def test_the_estimate_is_close_to_the_real_count(backfill: Backfill) -> None:
    assert 0.75 * len(backfill.events) <= backfill.estimate <= 1.25 * len(backfill.events)


def test_every_customer_and_branch_event_kind_occurs(backfill: Backfill) -> None:
    made = {e.type for e in backfill.events}
    engine_facts = {
        "risk.score_updated",
        "fraud.alert_raised",
        "fraud.alert_status_changed",
        # the staged fraud engine's routing between its stages
        "fraud.entity_hop",
        "fraud.entity_label",
    }
    # the alert evaluator's, and the risk engine's drift
    operations = {"ops.alert_fired", "ops.alert_resolved", "model.drift_measured"}
    not_generated = {"loan.sla_breached", *engine_facts, *operations}
    # At believable rates a 100-customer bank rarely sees a loan default or charge-off:
    # test_loan_servicing.py finds them in a demo-size bank.
    rare = {"credit.defaulted", "credit.charged_off"}

    assert set(EVENT_TYPES) - not_generated - rare <= made <= set(EVENT_TYPES) - not_generated


def test_logins_are_current_with_every_outcome_and_a_way_in_that_fits_the_channel(
    backfill: Backfill,
) -> None:
    logins = [e for e in backfill.events if e.type == "customer.login"]
    assert all(e.version == EVENT_TYPES["customer.login"].version == 2 for e in logins)
    payloads = [cast(CustomerLogin, e.payload) for e in logins]
    assert {p.outcome for p in payloads} == set(LoginOutcome)
    methods: dict[LoginChannel, set[AuthMethod | None]] = defaultdict(set)
    for p in payloads:
        methods[p.channel].add(p.auth_method)
    assert methods[LoginChannel.MOBILE] == set(AuthMethod)  # an OTP passes a challenge
    assert methods[LoginChannel.WEB] == set(AuthMethod) - {AuthMethod.BIOMETRIC}
    assert set(methods) == {LoginChannel.MOBILE, LoginChannel.WEB}


def test_branch_details_first_and_every_ticket_settled_before_closing(backfill: Backfill) -> None:
    waiting: dict[str, set[str]] = defaultdict(set)
    seen_branches: set[str] = set()
    for event in backfill.events:
        branch, payload = event.subject_id, event.payload
        if event.type == "branch.opened" and branch not in seen_branches:
            opened = cast(BranchOpened, payload)
            assert opened.name and opened.open_hours and opened.services and opened.location
            seen_branches.add(branch)
        elif isinstance(payload, QueueJoined):
            waiting[branch].add(payload.ticket_id)
        elif isinstance(payload, QueueServed | QueueAbandoned):
            waiting[branch].remove(payload.ticket_id)
        elif event.type == "branch.closed":
            assert not waiting[branch]
    assert len(seen_branches) == SMALL.branches


def test_balances_stay_sensible(backfill: Backfill) -> None:
    kinds: dict[str, str] = {}
    balances: dict[str, Decimal] = {}
    for event in backfill.events:
        if isinstance(event.payload, AccountOpened):
            kinds[event.payload.account_id] = event.payload.type.value
            balances[event.payload.account_id] = event.payload.balance
        elif isinstance(event.payload, TransactionPosted):
            p = event.payload
            balances[p.account_id] += p.amount if p.direction == "credit" else -p.amount
        elif isinstance(event.payload, AccountBalanceChanged):
            interest = event.payload.balance - balances[event.payload.account_id]
            assert kinds[event.payload.account_id] == "savings" and event.payload.reason
            assert 0 < interest <= balances[event.payload.account_id] * Decimal("0.00125") + CENT
            balances[event.payload.account_id] = event.payload.balance
    savings = [b for a, b in balances.items() if kinds[a] == "savings"]
    checking = [b for a, b in balances.items() if kinds[a] == "checking"]

    assert all(b >= 0 for b in savings)
    assert sum(b >= 0 for b in checking) >= 0.9 * len(checking)


def test_backfill_runs_once_and_wants_an_aware_end() -> None:
    sim = Simulation(SimConfig(customers=3, branches=1, history_days=1))
    with pytest.raises(ValueError, match="time zone"):
        sim.backfill(end=datetime(2025, 1, 1))
    list(sim.backfill(end=datetime(2025, 1, 1, tzinfo=UTC)))
    with pytest.raises(RuntimeError, match="already started"):
        sim.backfill(end=datetime(2025, 1, 2, tzinfo=UTC))
