"""Small builders of valid events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from banktwin.domain.events import EVENT_TYPES, Event

T0 = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def event(
    type_: str,
    subject_id: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
    minutes: float = 0,
    event_id: str | None = None,
    source: str = "test",
) -> Event:
    """An event of ``type_`` from a wire-form (camelCase) payload, validated."""
    spec = EVENT_TYPES[type_]
    return Event(
        event_id=event_id or new_id(),
        type=type_,
        subject_id=subject_id,
        occurred_at=(at or T0) + timedelta(minutes=minutes),
        payload=spec.payload.model_validate(payload or {}),
        source=source,
        version=spec.version,
    )


def registered(customer_id: str, **kw: Any) -> Event:
    payload = {
        "name": "Jane Doe",
        "dob": "1986-07-12",
        "email": "jane@example.com",
        "address": "1 Main St, Springfield",
        "phone": "+1 555 0100",
        "consent": {"processing": True},
    }
    return event("customer.registered", customer_id, payload, **kw)


def opened(
    customer_id: str,
    account_id: str = "ACC123",
    balance: str = "100.00",
    type_: str = "checking",
    **kw: Any,
) -> Event:
    payload = {"accountId": account_id, "type": type_, "currency": "EUR", "balance": balance}
    return event("account.opened", customer_id, payload, **kw)


def posted(
    customer_id: str,
    amount: str = "10.00",
    account_id: str = "ACC123",
    transaction_id: str | None = None,
    direction: str = "debit",
    **kw: Any,
) -> Event:
    payload = {
        "transactionId": transaction_id or f"TX{uuid.uuid4().hex[:12]}",
        "accountId": account_id,
        "amount": amount,
        "currency": "EUR",
        "direction": direction,
        "channel": "card_present",
        "merchant": "Corner Grocery",
        "merchantCategory": "5411",
        "terminalId": "TERM1",
        "location": {"country": "DE", "city": "Berlin"},
        "cardToken": "tok_0123456789abcdef",
    }
    return event("transaction.posted", customer_id, payload, **kw)


def money(text: str) -> Decimal:
    return Decimal(text)
