"""Loan servicing in the simulated bank: believable default rates that fall with the credit
score, defaults and charge-offs from a demo-size run's first weeks, repayments that move
money, and a twin that records the outcomes."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from banktwin.domain.credit_servicing_rules import facility_status
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event
from banktwin.domain.payloads.account import AccountOpened, TransactionPosted
from banktwin.domain.payloads.credit import (
    CreditChargedOff,
    CreditDefaulted,
    CreditPaymentMade,
    CreditPaymentMissed,
)
from banktwin.domain.twin import fold
from banktwin.sim import GroundTruthStore, SimConfig, Simulation
from banktwin.sim.bank import build_bank
from banktwin.sim.credit_quality import (
    cure_probability,
    insolvency_probability,
    miss_probability,
)

END = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
DEMO = SimConfig(customers=2000, branches=2, seed=42, history_days=30)
"""The demo's bank (``banktwin demo``: 2,000 customers, 30 days, seed 42)."""
SERVICING = (
    "credit.payment_missed",
    "credit.payment_made",
    "credit.defaulted",
    "credit.charged_off",
)
FACILITY_TYPES = ("loan", "mortgage")


def band(score: int | None) -> str:
    if score is None:
        return "no file"
    return "subprime" if score < 620 else "near prime" if score < 700 else "prime"


def borrowers_of(events: list[Event]) -> set[str]:
    return {
        e.subject_id
        for e in events
        if isinstance(e.payload, AccountOpened) and e.payload.type.value in FACILITY_TYPES
    }


def test_more_risk_means_more_misses_fewer_cures_and_more_insolvency() -> None:
    qualities = [-2.0, -1.0, 0.0, 1.0, 2.0]
    misses = [miss_probability(q) for q in qualities]
    cures = [cure_probability(q) for q in qualities]
    insolvencies = [insolvency_probability(q) for q in qualities]
    assert misses == sorted(misses, reverse=True) and insolvencies == sorted(insolvencies)[::-1]
    assert cures == sorted(cures)
    assert miss_probability(0.0, cash=-1.0) > miss_probability(0.0) > miss_probability(0.0, 2.0)


def test_a_years_defaults_are_believable_and_fall_with_the_bureau_score(tmp_path: Path) -> None:
    """The servicing of the last year before the window, over a 5,000-customer bank: about
    2 % of borrowers default, several times more of the subprime than of the prime ones, and
    the ground truth's latent quality ranks who defaults."""
    config = SimConfig(customers=5000, branches=0, seed=1)
    scores = {c.customer_id: c.credit_score for c in build_bank(config).customers}
    with GroundTruthStore(tmp_path / "truth.db") as truth:
        past = Simulation(config, truth).advance_to(END)  # the bank's past only
        qualities = truth.credit_quality()
    year = END - timedelta(days=365)
    borrowers = Counter(band(scores[c]) for c in borrowers_of(past))
    defaulted = {
        e.subject_id for e in past if e.type == "credit.defaulted" and e.occurred_at > year
    }
    defaults = Counter(band(scores[c]) for c in defaulted)
    rate = {b: defaults[b] / borrowers[b] for b in borrowers}

    assert 0.01 < len(defaulted) / borrowers.total() < 0.05
    assert rate["prime"] < 0.015 < 0.04 < rate["subprime"]
    assert rate["subprime"] > 4 * rate["prime"] and rate["near prime"] > rate["prime"]
    missed = Counter(band(scores[e.subject_id]) for e in past if e.type == "credit.payment_missed")
    assert missed["subprime"] / borrowers["subprime"] > 3 * missed["prime"] / borrowers["prime"]

    assert set(qualities) == set(scores)
    at_risk = sorted(borrowers_of(past))
    worse = [-qualities[c].quality for c in at_risk]
    seen = [-qualities[c].observable for c in at_risk]
    outcome = [c in defaulted for c in at_risk]
    assert roc_auc(outcome, worse) > roc_auc(outcome, seen) > 0.7  # the hidden part matters


def roc_auc(positive: list[bool], score: list[float]) -> float:
    """The chance a positive scores above a negative (ties count half)."""
    pos = [s for s, p in zip(score, positive, strict=True) if p]
    neg = [s for s, p in zip(score, positive, strict=True) if not p]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.fixture(scope="module")
def demo() -> tuple[list[Event], datetime]:
    sim = Simulation(DEMO)
    events = [e for batch in sim.backfill(end=END) for e in batch]
    return events, END - timedelta(days=DEMO.history_days)


def test_a_demo_run_has_defaults_and_charge_offs_from_its_first_weeks(
    demo: tuple[list[Event], datetime],
) -> None:
    events, start = demo
    window = Counter(e.type for e in events if e.occurred_at >= start)
    past = Counter(e.type for e in events if e.occurred_at < start)
    borrowers = len(borrowers_of(events))

    assert window["credit.defaulted"] >= 2 and window["credit.charged_off"] >= 1
    assert past["credit.defaulted"] >= 5 and past["credit.charged_off"] >= 3  # the last year
    assert 500 < borrowers < 1500  # about two in five customers borrow
    yearly = (past["credit.defaulted"] + window["credit.defaulted"]) / borrowers * 365 / 395
    assert 0.005 < yearly < 0.06
    assert window["credit.payment_made"] > 10 * window["credit.payment_missed"] > 0


def test_outcomes_follow_each_facility_in_order(demo: tuple[list[Event], datetime]) -> None:
    events, _ = demo
    opened: dict[str, tuple[str, datetime]] = {}
    history: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        p = e.payload
        if isinstance(p, AccountOpened) and p.type.value in FACILITY_TYPES:
            opened[p.account_id] = (e.subject_id, e.occurred_at)
        elif e.type in SERVICING:
            facility = cast(CreditPaymentMissed, p).facility_id
            assert opened[facility][0] == e.subject_id  # the customer's own, opened before
            assert opened[facility][1] <= e.occurred_at
            history[facility].append(e)
    for servicing in history.values():
        kinds = [e.type for e in servicing]
        if "credit.charged_off" in kinds:
            assert kinds[-1] == "credit.charged_off" and kinds[-2] == "credit.defaulted"
            written_off = cast(CreditChargedOff, servicing[-1].payload)
            assert 30 <= written_off.days_past_due <= 180
            assert servicing[-1].occurred_at - servicing[-2].occurred_at >= timedelta(days=30)
        if "credit.defaulted" in kinds:
            default = cast(CreditDefaulted, servicing[kinds.index("credit.defaulted")].payload)
            assert default.days_past_due <= 90 and default.outstanding > 0
            assert kinds.count("credit.defaulted") == 1
        for e in servicing:
            if isinstance(e.payload, CreditPaymentMissed):
                assert 1 <= e.payload.days_past_due < 90


def test_a_repayment_moves_money_from_the_customer_to_the_facility(
    demo: tuple[list[Event], datetime],
) -> None:
    events, start = demo
    postings: dict[tuple[str, datetime], list[TransactionPosted]] = defaultdict(list)
    for e in events:
        if isinstance(e.payload, TransactionPosted):
            postings[e.subject_id, e.occurred_at].append(e.payload)
    paid = [e for e in events if e.type == "credit.payment_made" and e.occurred_at >= start]
    assert paid
    for e in paid:
        payment = cast(CreditPaymentMade, e.payload)
        moves = postings[e.subject_id, e.occurred_at]
        into = [t for t in moves if t.account_id == payment.facility_id]
        assert [(t.direction.value, t.amount) for t in into] == [("credit", payment.amount)]
        assert any(t.direction.value == "debit" and t.amount == payment.amount for t in moves)


def test_a_loan_paid_out_by_the_pipeline_becomes_a_facility(
    demo: tuple[list[Event], datetime],
) -> None:
    events, _ = demo
    disbursed = {
        (e.subject_id, e.occurred_at)
        for e in events
        if e.type == "loan.stage_changed" and e.payload.stage.value == "disbursed"  # type: ignore[attr-defined]
    }
    customers = {
        e.subject_id: e.payload.customer_id  # type: ignore[attr-defined]
        for e in events
        if e.type == "loan.submitted"
    }
    opened_at = {
        (e.subject_id, e.occurred_at)
        for e in events
        if isinstance(e.payload, AccountOpened) and e.payload.type.value in FACILITY_TYPES
    }
    assert disbursed
    assert all((customers[loan], at) in opened_at for loan, at in disbursed)


def test_the_twin_records_the_outcomes(demo: tuple[list[Event], datetime]) -> None:
    events, _ = demo
    charged = {e.subject_id for e in events if e.type == "credit.charged_off"}
    customer = sorted(charged)[0]
    twin = fold(e for e in events if e.subject_id == customer)

    assert isinstance(twin, CustomerTwin)
    statuses = {facility_status(f) for f in twin.facilities}
    assert "charged_off" in statuses
    written_off = [f for f in twin.facilities if f.charged_off_at is not None]
    assert all(f.defaulted_at is not None and f.charged_off_amount for f in written_off)
