"""Operational alerts on the wire (``GET /v1/alerts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from banktwin.api.schemas import Public


class OperationalAlertPublic(Public):
    """One firing of an operational alert rule, and its resolution once it cleared."""

    alert_id: str
    rule: str = Field(examples=["ingestion_lag"])
    key: str = Field(
        examples=["twin"],
        description="What was measured: a consumer, a model, a source, or `bank`.",
    )
    severity: Literal["page", "ticket"]
    status: Literal["firing", "resolved"]
    summary: str
    value: float = Field(description="The measured value that fired it.")
    threshold: float
    since: datetime = Field(description="When the condition started to hold.")
    fired_at: datetime
    resolved_at: datetime | None
    resolved_value: float | None


class AlertDeliveryPublic(Public):
    """One delivery of an alert's firing (``trigger``) or resolution (``resolve``) to a
    webhook, and its attempts."""

    alert_id: str
    action: Literal["trigger", "resolve"]
    webhook: int = Field(description="The webhook's place in `BANKTWIN_ALERT_WEBHOOKS` (0 first).")
    target: str = Field(description="The webhook's host (its URL may hold a secret).")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class OperationalAlertDetailPublic(OperationalAlertPublic):
    """An operational alert with its deliveries to webhooks."""

    deliveries: list[AlertDeliveryPublic]
