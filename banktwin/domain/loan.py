"""The loan-application process twin: stage, time in stage and service levels (SLA).

The stage events are kept as marks (time and stage); the history of stage visits, the current
stage and the breaches are made from them, so they are the same whatever order the events
arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

STAGE_SLA_HOURS: dict[str, float] = {
    "submitted": 4.0,
    "document_check": 24.0,
    "credit_check": 8.0,
    "underwriting": 48.0,
    "approval": 24.0,
    "decided": 72.0,
}
"""How long an application may stay in each stage. ``disbursed`` is final and has none."""

FINAL_STAGES = frozenset({"disbursed"})


@dataclass(frozen=True, slots=True)
class StageVisit:
    stage: str
    entered_at: datetime
    left_at: datetime | None = None
    sla_breached: bool = False
    """It was left later than its stage's SLA allows."""


class StageMark(NamedTuple):
    """A stage event: the application entered ``stage`` at ``at``."""

    at: datetime
    stage: str


@dataclass(frozen=True)
class LoanTwin:
    application_id: str
    created_at: datetime
    """The earliest ``occurredAt`` among the events applied."""
    last_updated: datetime
    customer_id: str | None = None
    product: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    term_months: int | None = None
    channel: str | None = None
    branch_id: str | None = None
    stage: str = "submitted"
    stage_entered_at: datetime | None = None
    submitted_at: datetime | None = None
    decision: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    approved_amount: Decimal | None = None
    interest_rate: float | None = None
    history: tuple[StageVisit, ...] = ()
    """The stage visits in time order, made from ``stage_marks``."""
    sla_breaches: int = 0
    """Visits of ``history`` left later than their SLA."""
    stage_marks: tuple[StageMark, ...] = ()
    """The stage events, by time (at one instant, in pipeline order)."""
    events_applied: int = 0


def hours_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 3600.0, 0.0)


def time_in_stage_hours(loan: LoanTwin, at: datetime) -> float:
    """Hours the application has spent in its current stage, seen at ``at``."""
    return round(hours_between(loan.stage_entered_at or loan.created_at, at), 2)


def sla_breached(loan: LoanTwin, at: datetime) -> bool:
    """Whether the application is past its current stage's SLA at ``at``, or was past the SLA
    of any stage it has left."""
    sla = STAGE_SLA_HOURS.get(loan.stage)
    overdue = (
        loan.stage not in FINAL_STAGES and sla is not None and time_in_stage_hours(loan, at) > sla
    )
    return overdue or loan.sla_breaches > 0
