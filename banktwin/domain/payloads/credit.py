"""Payloads of credit-servicing events: the loan and credit-line outcomes of a customer.

The bank's loan servicing system reports what happens to each credit facility (a loan or a
credit line, named by its account id) after it is paid out: instalments paid or missed, the
days past due they leave, a default at 90 days past due and the charge-off that writes the
loss off. They are customer events, so they sit in the customer's partition, in order with the
rest of the customer's history; the risk model's labels are the defaults and charge-offs.
"""

from __future__ import annotations

from pydantic import Field

from banktwin.domain.payloads.common import Currency, Identifier, Money, Payload, PositiveMoney
from banktwin.domain.payloads.loan import LoanProduct

DEFAULT_DAYS_PAST_DUE = 90
"""Days past due at which a facility is in default (the Basel and EBA 90-day backstop)."""
MAX_DAYS_PAST_DUE = 36_500


class CreditPaymentMissed(Payload):
    """An instalment fell due and was not paid: the facility is (further) in arrears."""

    facility_id: Identifier
    """The loan or credit line: its account id."""
    amount_due: PositiveMoney
    """What was due and not paid, arrears included."""
    currency: Currency
    days_past_due: int = Field(ge=1, le=MAX_DAYS_PAST_DUE)
    """Days since the oldest unpaid instalment fell due, after this miss."""
    product: LoanProduct | None = None


class CreditPaymentMade(Payload):
    """An instalment (or the arrears) was paid."""

    facility_id: Identifier
    amount: PositiveMoney
    currency: Currency
    late: bool = False
    """Paid after its due date (it settles arrears)."""
    days_past_due: int = Field(0, ge=0, le=MAX_DAYS_PAST_DUE)
    """Days past due left after the payment (0: the facility is current again)."""
    product: LoanProduct | None = None


class CreditDefaulted(Payload):
    """The facility is in default (unlikely to be repaid in full; 90 days past due)."""

    facility_id: Identifier
    outstanding: Money
    """The exposure at default: what the customer still owes on the facility."""
    currency: Currency
    days_past_due: int = Field(DEFAULT_DAYS_PAST_DUE, ge=0, le=MAX_DAYS_PAST_DUE)
    product: LoanProduct | None = None


class CreditChargedOff(Payload):
    """The bank wrote the facility's balance off as a loss."""

    facility_id: Identifier
    amount: PositiveMoney
    """The amount written off."""
    currency: Currency
    days_past_due: int = Field(ge=0, le=MAX_DAYS_PAST_DUE)
    """Days past due when it was written off (usually 120 to 180)."""
    product: LoanProduct | None = None
