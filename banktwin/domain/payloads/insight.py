"""Payloads of the twin's derived facts: risk scores and fraud alerts.

The engines that produce them (risk model, fraud engine) append them to the log like any
other event, so history, audit and backtests read one stream.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from banktwin.domain.payloads.common import Identifier, Payload, ShortText, UuidStr


class ScoreReason(Payload):
    """One feature's contribution to a score (its explanation)."""

    feature: ShortText
    contribution: float
    value: str | float | int | None = None


class RiskScoreUpdated(Payload):
    score_id: UuidStr
    score: float = Field(ge=0, le=1)
    model_version: ShortText
    reasons: list[ScoreReason] = Field(default_factory=list, max_length=50)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    CONFIRMED_FRAUD = "confirmed_fraud"
    FALSE_POSITIVE = "false_positive"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """An alert is open until an analyst settles it."""
        return self in (AlertStatus.OPEN, AlertStatus.INVESTIGATING)


class FraudAlertRaised(Payload):
    alert_id: UuidStr
    transaction_id: Identifier
    severity: Severity
    score: float | None = Field(None, ge=0, le=1)
    reasons: list[ShortText] = Field(default_factory=list, max_length=50)
    rule_ids: list[ShortText] = Field(default_factory=list, max_length=50)


class FraudAlertStatusChanged(Payload):
    alert_id: UuidStr
    status: AlertStatus
    note: ShortText | None = None
    analyst: ShortText | None = None
