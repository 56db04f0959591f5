"""Payloads of loan-application process events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from banktwin.domain.payloads.common import (
    Currency,
    Money,
    Payload,
    PositiveMoney,
    ShortText,
    UuidStr,
)


class LoanProduct(StrEnum):
    PERSONAL = "personal"
    MORTGAGE = "mortgage"
    AUTO = "auto"
    BUSINESS = "business"
    CREDIT_LINE = "credit_line"


class LoanStage(StrEnum):
    """Stages of the loan pipeline, in their usual order."""

    SUBMITTED = "submitted"
    DOCUMENT_CHECK = "document_check"
    CREDIT_CHECK = "credit_check"
    UNDERWRITING = "underwriting"
    APPROVAL = "approval"
    DECIDED = "decided"
    DISBURSED = "disbursed"


class LoanDecision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class LoanSubmitted(Payload):
    customer_id: UuidStr
    product: LoanProduct
    amount: PositiveMoney
    currency: Currency
    term_months: int = Field(gt=0, le=480)
    channel: ShortText | None = None
    branch_id: UuidStr | None = None


class LoanStageChanged(Payload):
    stage: LoanStage
    note: ShortText | None = None

    @model_validator(mode="after")
    def _not_a_decision(self) -> LoanStageChanged:
        if self.stage in (LoanStage.SUBMITTED, LoanStage.DECIDED):
            raise ValueError(
                f"stage {self.stage.value!r} is reached by loan.submitted/loan.decided"
            )
        return self


class LoanDecided(Payload):
    decision: LoanDecision
    reason: ShortText | None = None
    approved_amount: Money | None = None
    interest_rate: float | None = Field(None, ge=0, le=100)


class LoanSlaBreached(Payload):
    """Derived: an application left a stage later than the stage's service level allows."""

    stage: LoanStage
    sla_hours: float
    hours_in_stage: float
