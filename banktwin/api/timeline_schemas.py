"""A customer's event timeline on the wire (``GET /v1/customers/{customerId}/events``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from banktwin.api.schemas import Public


class CustomerEventPublic(Public):
    """One event of the customer's log, summarized with personal and card data masked."""

    event_id: str
    type: str = Field(examples=["transaction.posted"])
    occurred_at: datetime = Field(description="When it happened (business time).")
    recorded_at: datetime = Field(description="When the log recorded it.")
    source: str = Field(description="Who sent it (the envelope's `source`).")
    summary: str = Field(
        description="What happened, in one line of at most 200 characters; personal and card "
        "data masked (an e-mail as `j•••@example.com`, a phone as its last two digits, a card "
        "token as its last four characters, a name or an address only said to be given).",
        examples=["debit 42.50 EUR via card_present at Corner Grocery (DE), account ACC123"],
    )
