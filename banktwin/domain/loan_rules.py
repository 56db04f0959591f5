"""How each loan event changes the loan process twin, and when a breach is derived.

Stage events are kept as marks; the visits, the current stage and the breaches are made from
them, so a stage change that arrives late takes its place in the history instead of becoming
the current stage. Submission and decision details are last writer wins by ``occurredAt``.

Leaving a stage later than its SLA derives ``loan.sla_breached``: the breach becomes a fact in
the log (for audit and reporting). Which breaches get derived depends on arrival: a breach is
derived when an event makes a late visit appear, and stays in the log if a stage change that
arrives later splits that visit (docs/events.md, "Arrival order"). The twin's own breach flags
and count are made from the visits, so the twin itself does not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from banktwin.domain.events import Event, derived_event_id, new_event
from banktwin.domain.evolve import evolve, evolved
from banktwin.domain.loan import STAGE_SLA_HOURS, LoanTwin, StageMark, StageVisit, hours_between
from banktwin.domain.ordering import newer
from banktwin.domain.payloads.loan import (
    LoanDecided,
    LoanSlaBreached,
    LoanStage,
    LoanStageChanged,
    LoanSubmitted,
)

PROJECTOR_SOURCE = "banktwin.projector"
LoanRule = Callable[[LoanTwin, Event], tuple[LoanTwin, list[Event]]]

_SUBMITTED = LoanStage.SUBMITTED.value
_PIPELINE = {stage.value: i for i, stage in enumerate(LoanStage)}


def new_loan(application_id: str, at: datetime) -> LoanTwin:
    return LoanTwin(application_id=application_id, created_at=at, last_updated=at)


def visits(marks: tuple[StageMark, ...]) -> tuple[StageVisit, ...]:
    """The stage visits the marks make: a mark of the stage the application is already in
    continues the visit, and a submission after a later stage was reached (a re-send, a skewed
    clock) is not a visit."""
    entered: list[StageMark] = []
    started = False  # a stage after submission has been reached
    for mark in marks:
        if mark.stage == _SUBMITTED and started:
            continue
        started = started or mark.stage != _SUBMITTED
        if not entered or entered[-1].stage != mark.stage:
            entered.append(mark)
    history = []
    for i, (at, stage) in enumerate(entered):
        left = entered[i + 1].at if i + 1 < len(entered) else None
        sla = STAGE_SLA_HOURS.get(stage)
        late = left is not None and sla is not None and hours_between(at, left) > sla
        history.append(StageVisit(stage, at, left, late))
    return tuple(history)


def _staged(loan: LoanTwin, at: datetime, stage: str, e: Event) -> tuple[LoanTwin, list[Event]]:
    """The loan with a stage mark added, and the breaches of the late visits it made."""
    mark = StageMark(at, stage)
    if mark in loan.stage_marks:
        return loan, []
    marks = tuple(sorted((*loan.stage_marks, mark), key=lambda m: (m.at, _PIPELINE[m.stage])))
    history = visits(marks)
    last = history[-1]
    before = {(v.stage, v.entered_at, v.left_at) for v in loan.history if v.sla_breached}
    late = [
        v for v in history if v.sla_breached and (v.stage, v.entered_at, v.left_at) not in before
    ]
    loan = evolve(
        loan,
        stage_marks=marks,
        history=history,
        stage=last.stage,
        stage_entered_at=last.entered_at,
        sla_breaches=sum(v.sla_breached for v in history),
    )
    return loan, [_breach(loan, visit, e, i) for i, visit in enumerate(late)]


def _breach(loan: LoanTwin, visit: StageVisit, cause: Event, index: int) -> Event:
    """The ``index``-th breach ``cause`` derives: of ``visit``, a late visit (so one left)."""
    left = visit.left_at or cause.occurred_at
    breach = LoanSlaBreached(
        stage=LoanStage(visit.stage),
        sla_hours=STAGE_SLA_HOURS[visit.stage],
        hours_in_stage=round(hours_between(visit.entered_at, left), 2),
    )
    return new_event(
        breach,
        subject_id=loan.application_id,
        occurred_at=left,
        source=PROJECTOR_SOURCE,
        event_id=derived_event_id(cause.event_id, index),
    )


def _submitted(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanSubmitted, e.payload)
    at = e.occurred_at
    details = {
        "customer_id": p.customer_id,
        "product": p.product.value,
        "amount": p.amount,
        "currency": p.currency,
        "term_months": p.term_months,
        "channel": p.channel,
        "branch_id": p.branch_id,
    }
    current = tuple(getattr(loan, name) for name in details)
    if newer(at, tuple(details.values()), loan.submitted_at, current):
        loan = evolved(loan, {**details, "submitted_at": at})
    return _staged(loan, at, _SUBMITTED, e)


def _stage_changed(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanStageChanged, e.payload)
    return _staged(loan, e.occurred_at, p.stage.value, e)


def _decided(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    p = cast(LoanDecided, e.payload)
    at = e.occurred_at
    decision = {
        "decision": p.decision.value,
        "decision_reason": p.reason,
        "approved_amount": p.approved_amount,
        "interest_rate": p.interest_rate,
    }
    current = tuple(getattr(loan, name) for name in decision)
    if newer(at, tuple(decision.values()), loan.decided_at, current):
        loan = evolved(loan, {**decision, "decided_at": at})
    return _staged(loan, at, LoanStage.DECIDED.value, e)


def _sla_breached(loan: LoanTwin, e: Event) -> tuple[LoanTwin, list[Event]]:
    # The breach is in the twin already: the visits it names are made from the stage marks.
    return loan, []


LOAN_RULES: dict[str, LoanRule] = {
    "loan.submitted": _submitted,
    "loan.stage_changed": _stage_changed,
    "loan.decided": _decided,
    "loan.sla_breached": _sla_breached,
}
"""The rule for each loan event type."""


def apply_loan_event(loan: LoanTwin | None, e: Event) -> tuple[LoanTwin, list[Event]]:
    """Apply one loan event; returns the new twin and the events it derives."""
    at = e.occurred_at
    twin = loan or new_loan(e.subject_id, at)
    twin, derived = LOAN_RULES[e.type](twin, e)
    return evolve(
        twin,
        created_at=min(twin.created_at, at),
        last_updated=max(twin.last_updated, at),
        events_applied=twin.events_applied + 1,
    ), derived
