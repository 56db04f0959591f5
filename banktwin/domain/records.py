"""Rows the twin keeps beside the subjects' state: every transaction and every fraud alert.

A customer's twin holds aggregates of its transactions (counts, spending windows) and its open
alerts; the transactions and all alerts live in tables a store can page through (the profile's
recent transactions are the newest rows). These rows are pure functions of events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, cast

from banktwin.domain.alert_rules import alert_status, raised_alert
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import Event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.insight import FraudAlertStatusChanged


class TransactionRecord(NamedTuple):
    """One posted transaction, as the transactions table keeps it (a tuple: one is built per
    transaction the projector applies)."""

    transaction_id: str
    customer_id: str
    account_id: str
    amount: Decimal
    currency: str
    direction: str
    channel: str
    merchant: str | None
    merchant_category: str | None
    terminal_id: str | None
    card_token: str | None
    device_id: str | None
    country: str | None
    city: str | None
    description: str | None
    occurred_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class AlertStatusChange:
    alert_id: str
    status: str
    updated_at: datetime


Record = TransactionRecord | FraudAlert | AlertStatusChange


RECORDED_TYPES = frozenset(
    {"transaction.posted", "fraud.alert_raised", "fraud.alert_status_changed"}
)
"""The event types :func:`records_for` makes rows of (a projector skips the call for others)."""


def records_for(event: Event, twin: CustomerTwin | None = None) -> list[Record]:
    """The table rows one event adds or changes (none for most events).

    ``twin``: the customer's twin with the event applied. An alert's row then takes the
    status the twin gives the alert (:func:`alert_status`) rather than the event's, so the
    alerts table agrees with the twin whatever order the raise and the status changes came in
    (a late, older status change writes the status the alert already has; a raise after its
    status change lands in that status)."""
    if event.type == "transaction.posted":
        p = cast(TransactionPosted, event.payload)
        return [
            TransactionRecord(
                p.transaction_id,
                event.subject_id,
                p.account_id,
                p.amount,
                p.currency,
                p.direction.value,
                p.channel.value,
                p.merchant,
                p.merchant_category,
                p.terminal_id,
                p.card_token,
                p.device_id,
                p.location.country if p.location else None,
                p.location.city if p.location else None,
                p.description,
                event.occurred_at,
                event.event_id,
            )
        ]
    if event.type == "fraud.alert_raised":
        alert = raised_alert(event)
        known = None if twin is None else alert_status(twin, alert.alert_id)
        if known is not None:
            alert = replace(alert, status=known[0], updated_at=known[1])
        return [alert]
    if event.type == "fraud.alert_status_changed":
        s = cast(FraudAlertStatusChanged, event.payload)
        known = None if twin is None else alert_status(twin, s.alert_id)
        status, at = known if known is not None else (s.status.value, event.occurred_at)
        return [AlertStatusChange(s.alert_id, status, at)]
    return []
