"""How each loan event changes the loan process twin, and when a breach is derived.

Leaving a stage later than its SLA derives ``loan.sla_breached``: the breach becomes a fact
in the log (for audit and reporting) rather than a number recomputed on every read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import cast

from banktwin.domain.events import Event, derived_event_id, new_event
from banktwin.domain.evolve import evolve
from banktwin.domain.loan import STAGE_SLA_HOURS, LoanTwin, StageVisit, hours_between
from banktwin.domain.payloads.loan import (
    LoanDecided,
    LoanSlaBreached,
    LoanStage,
    LoanStageChanged,
    LoanSubmitted,
)

PROJECTOR_SOURCE = "banktwin.projector"
LoanRule = Callable[[LoanTwin, Event], tuple[LoanTwin, list[Event]]]


def new_loan(application_id: str, at: datetime) -> LoanTwin:
    return LoanTwin(application_id=application_id, created_at=at, last_updated=at)


def _enter_stage(loan: LoanTwin, stage: str, e: Event) -> tuple[LoanTwin, list[Event]]:
    """Close the current stage visit, open the next, derive a breach if the stage ran late."""
    derived: list[Event] = []
    history = list(loan.history)
    if history and history[-1].left_at is None:
        last = history[-1]
        history[-1] = replace(last, left_at=e.occurred_at)
        spent = hours_between(last.entered_at, e.occurred_at)
        sla = STAGE_SLA_HOURS.get(last.stage)
        if sla is not None and spent > sla:
            breach = LoanSlaBreached(
                stage=LoanStage(last.stage), sla_hours=sla, hours_in_stage=round(spent, 2)
            )
            derived.append(
                new_event(
                    breach,
                    subject_id=loan.application_id,
                    occurred_at=e.occurred_at,
                    source=PROJECTOR_SOURCE,
                    event_id=derived_event_id(e.event_id, 0),
                )
            )
    history.append(StageVisit(stage, e.occurred_at))
    return evolve(
        loan, stage=stage, stage_entered_at=e.occurred_at, history=tuple(history)
    ), derived


def _submitted(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanSubmitted, e.payload)
    loan = evolve(
        loan,
        customer_id=p.customer_id,
        product=p.product.value,
        amount=p.amount,
        currency=p.currency,
        term_months=p.term_months,
        channel=p.channel,
        branch_id=p.branch_id,
        submitted_at=e.occurred_at,
        created_at=min(loan.created_at, e.occurred_at),
    )
    if loan.history:  # a stage change arrived first: keep it
        return loan, []
    return _enter_stage(loan, LoanStage.SUBMITTED.value, e)


def _stage_changed(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanStageChanged, e.payload)
    if loan.history and loan.stage == p.stage.value:
        return loan, []
    return _enter_stage(loan, p.stage.value, e)


def _decided(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanDecided, e.payload)
    loan, derived = _enter_stage(loan, LoanStage.DECIDED.value, e)
    return evolve(
        loan,
        decision=p.decision.value,
        decision_reason=p.reason,
        decided_at=e.occurred_at,
        approved_amount=p.approved_amount,
        interest_rate=p.interest_rate,
    ), derived


def _sla_breached(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanSlaBreached, e.payload)
    history = tuple(
        replace(v, sla_breached=True) if v.stage == p.stage.value and v.left_at else v
        for v in loan.history
    )
    return evolve(loan, history=history, sla_breaches=loan.sla_breaches + 1), []


LOAN_RULES: dict[str, LoanRule] = {
    "loan.submitted": _submitted,
    "loan.stage_changed": _stage_changed,
    "loan.decided": _decided,
    "loan.sla_breached": _sla_breached,
}
"""The rule for each loan event type."""


def apply_loan_event(loan: LoanTwin | None, e: Event) -> tuple[LoanTwin, list[Event]]:
    """Apply one loan event; returns the new twin and the events it derives."""
    twin = loan or new_loan(e.subject_id, e.occurred_at)
    twin, derived = LOAN_RULES[e.type](twin, e)
    return evolve(
        twin,
        last_updated=max(twin.last_updated, e.occurred_at),
        events_applied=twin.events_applied + 1,
    ), derived
