"""Loan process rules: stages, time in stage, SLA breaches derived as events."""

from __future__ import annotations

from datetime import timedelta

from banktwin.domain.events import Event, derived_event_id
from banktwin.domain.loan import LoanTwin, sla_breached, time_in_stage_hours
from banktwin.domain.twin import apply, fold
from tests.factories import T0, event, new_id

LID, CID = new_id(), new_id()
SUBMITTED = event(
    "loan.submitted",
    LID,
    {
        "customerId": CID,
        "product": "personal",
        "amount": "5000",
        "currency": "EUR",
        "termMonths": 24,
    },
)


def test_submission_starts_the_pipeline() -> None:
    loan = fold([SUBMITTED])
    assert isinstance(loan, LoanTwin)
    assert loan.stage == "submitted" and loan.customer_id == CID
    assert time_in_stage_hours(loan, T0 + timedelta(hours=2)) == 2.0
    assert not sla_breached(loan, T0 + timedelta(hours=3))
    assert sla_breached(loan, T0 + timedelta(hours=5))  # submitted has a 4 h SLA


def test_leaving_a_stage_late_derives_a_breach_with_a_stable_id() -> None:
    loan, _ = apply(None, SUBMITTED)
    late = event("loan.stage_changed", LID, {"stage": "document_check"}, minutes=6 * 60)
    loan, derived = apply(loan, late)
    assert [d.type for d in derived] == ["loan.sla_breached"]
    breach = derived[0]
    assert breach.event_id == derived_event_id(late.event_id, 0)
    assert breach.payload.stage.value == "submitted"  # type: ignore[attr-defined]
    assert breach.payload.hours_in_stage == 6.0  # type: ignore[attr-defined]
    loan, more = apply(loan, breach)
    assert more == [] and isinstance(loan, LoanTwin)
    assert loan.sla_breaches == 1 and loan.history[0].sla_breached
    assert sla_breached(loan, late.occurred_at)


def test_on_time_stages_derive_nothing_and_decision_is_recorded() -> None:
    loan, _ = apply(None, SUBMITTED)
    loan, d1 = apply(loan, event("loan.stage_changed", LID, {"stage": "underwriting"}, minutes=60))
    loan, d2 = apply(
        loan,
        event("loan.decided", LID, {"decision": "approved", "approvedAmount": "4500"}, minutes=120),
    )
    assert d1 == d2 == []
    assert isinstance(loan, LoanTwin)
    assert loan.stage == "decided" and loan.decision == "approved"
    assert [v.stage for v in loan.history] == ["submitted", "underwriting", "decided"]
    assert loan.history[1].left_at == T0 + timedelta(minutes=120)


def test_a_stage_change_before_submission_is_kept() -> None:
    loan = fold(
        [
            event("loan.stage_changed", LID, {"stage": "credit_check"}),
            event("loan.submitted", LID, SUBMITTED.payload.model_dump(), minutes=1),
        ]
    )
    assert isinstance(loan, LoanTwin)
    assert loan.stage == "credit_check" and loan.product == "personal"


def test_disbursed_is_final_and_never_breaches() -> None:
    loan = fold([SUBMITTED, event("loan.stage_changed", LID, {"stage": "disbursed"}, minutes=1)])
    assert isinstance(loan, LoanTwin)
    assert not sla_breached(loan, T0 + timedelta(days=365))


def test_a_late_stage_change_takes_its_place_in_the_history() -> None:
    def stage(name: str, hours: int) -> Event:
        return event("loan.stage_changed", LID, {"stage": name}, at=T0 + timedelta(hours=hours))

    loan = fold([SUBMITTED, stage("underwriting", 3), stage("document_check", 1)])
    assert isinstance(loan, LoanTwin)
    assert [v.stage for v in loan.history] == ["submitted", "document_check", "underwriting"]
    assert loan.stage == "underwriting" and loan.stage_entered_at == T0 + timedelta(hours=3)


def test_a_visit_a_late_event_makes_late_derives_its_breach_from_that_event() -> None:
    late_submission = event("loan.submitted", LID, SUBMITTED.payload.model_dump())
    loan, _ = apply(None, event("loan.stage_changed", LID, {"stage": "credit_check"}, minutes=600))
    loan, derived = apply(loan, late_submission)  # submitted at T0, left 10 h later
    assert [(d.event_id, d.occurred_at) for d in derived] == [
        (derived_event_id(late_submission.event_id, 0), T0 + timedelta(hours=10))
    ]
    assert isinstance(loan, LoanTwin) and loan.sla_breaches == 1
