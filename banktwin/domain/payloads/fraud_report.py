"""The payload of a fraud report: a transaction the bank has learned was fraudulent.

Reports are the fraud engine's labels. They arrive days or weeks after the transaction (a
customer notices it on a statement, a card scheme settles a chargeback), so the event's
``occurredAt`` is when the bank learned it, and ``transactionOccurredAt`` is when the fraud
itself happened: a model trained as of a time may only use the reports known by then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from banktwin.domain.payloads.common import Identifier, Payload
from banktwin.domain.sensitivity import card_data


class FraudReportKind(StrEnum):
    """Who says the transaction was fraudulent."""

    DISPUTE = "dispute"
    """The customer disputes it (a call, the app, a branch)."""
    CHARGEBACK = "chargeback"
    """The card scheme charged it back to the merchant: a card dispute upheld."""
    CONFIRMED_BY_BANK = "confirmed_by_bank"
    """The bank's own investigation found it fraudulent."""


def as_utc(moment: datetime) -> datetime:
    """The instant in UTC; raises ``ValueError`` for a time without an offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("give the time with its offset (ISO 8601, e.g. 2025-09-15T14:00:00Z)")
    return moment.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(as_utc)]
"""A point in time given with its offset, kept in UTC."""

ReasonCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.:\-]*$")]
"""A reason or scenario code (``lost_card``, ``account_takeover``, a scheme's ``10.4``)."""


class FraudReported(Payload):
    """A transaction reported as fraud; a report's identity is its transaction and kind (the
    same transaction may be disputed, then charged back)."""

    transaction_id: Identifier
    account_id: Identifier
    kind: FraudReportKind
    card_token: Annotated[str, Field(min_length=8, max_length=64)] | None = card_data(None)
    transaction_occurred_at: UtcTime | None = None
    """When the fraudulent transaction happened (its ``occurredAt``)."""
    reason_code: ReasonCode | None = None
