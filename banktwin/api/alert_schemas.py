"""Schemas of one fraud alert (``/v1/fraud-alerts/{alertId}``): the alert with its lifecycle,
its transaction and its customer's recent context, and the status change an analyst asks for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from banktwin.api.schemas import FraudAlertPublic, ProblemPublic, Public, TransactionPublic
from banktwin.domain.payloads.common import ShortText

VERSION_DOC = (
    "The alert's lifecycle events in the log (its raise and every status change of it): the "
    "version its `ETag` names. It moves with every change of the alert and nothing else."
)


class AlertStatusChangeIn(Public):
    """A status change an analyst asks for: open → investigating → confirmed_fraud |
    false_positive → closed."""

    status: Literal["investigating", "confirmed_fraud", "false_positive", "closed"] = Field(
        description="The status to move the alert to: the next step of its lifecycle."
    )
    note: ShortText = Field(description="Why: the analyst's reason, kept in the log.")
    analyst: ShortText | None = Field(
        None, description="Who decides; the calling client's id when not given."
    )


class AlertStatusChangePublic(Public):
    event_id: str = Field(description="The `fraud.alert_status_changed` event in the log.")
    status: str = Field(examples=["investigating"])
    at: datetime = Field(description="When the change occurred (the event's `occurredAt`).")
    analyst: str | None
    note: str | None
    source: str = Field(description="The system (API client) that logged it.")


class FraudAlertStatePublic(FraudAlertPublic):
    """An alert as its events in the log make it."""

    version: int = Field(description=VERSION_DOC)
    history: list[AlertStatusChangePublic] = Field(
        description="Its status changes in the order they were logged."
    )


class AlertCustomerContextPublic(Public):
    """The customer's recent context, as the twin shows it."""

    customer_id: str
    name: str | None
    risk_score: float | None
    transaction_count: int
    alert_count: int = Field(description="Alerts ever raised about the customer.")
    open_alert_count: int = Field(description="Alerts open or under investigation.")
    fraud_report_count: int
    last_fraud_report_at: datetime | None
    recent_transactions: list[TransactionPublic] = Field(
        description="The customer's newest transactions (up to 10), newest first."
    )


class FraudAlertDetailPublic(FraudAlertStatePublic):
    """One alert with what an analyst needs to decide on it."""

    transaction: TransactionPublic | None = Field(
        description="The transaction the alert was raised about (null: not in the twin)."
    )
    customer: AlertCustomerContextPublic | None = Field(
        description="The customer's recent context (null: not in the twin yet)."
    )


class IllegalTransitionProblemPublic(ProblemPublic):
    """409 ``/problems/illegal-transition``: the alert's status does not lead to the one asked
    for; nothing was logged."""

    alertId: str  # noqa: N815 - extension members are camelCase on the wire
    currentStatus: str  # noqa: N815
    requestedStatus: str  # noqa: N815
    allowed: list[str] = Field(description="The statuses the alert may move to now.")
