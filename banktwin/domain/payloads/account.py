"""Payloads of account and transaction events."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from banktwin.domain.payloads.common import (
    Currency,
    Identifier,
    Location,
    Money,
    Payload,
    PositiveMoney,
    ShortText,
)
from banktwin.domain.sensitivity import card_data, personal


class AccountType(StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"
    CREDIT_CARD = "credit_card"
    LOAN = "loan"
    MORTGAGE = "mortgage"
    DEPOSIT = "deposit"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    DORMANT = "dormant"
    CLOSED = "closed"


class AccountOpened(Payload):
    account_id: Identifier
    type: AccountType
    currency: Currency
    balance: Money = Decimal("0.00")
    status: AccountStatus = AccountStatus.ACTIVE


class AccountBalanceChanged(Payload):
    """The core system's new absolute balance (for example from CDC)."""

    account_id: Identifier
    balance: Money
    reason: ShortText | None = None


class AccountStatusChanged(Payload):
    account_id: Identifier
    status: AccountStatus
    reason: ShortText | None = None


class Direction(StrEnum):
    DEBIT = "debit"
    """Money leaves the account (a purchase, a withdrawal, an outgoing transfer)."""
    CREDIT = "credit"
    """Money enters the account (a salary, a refund, an incoming transfer)."""


class Channel(StrEnum):
    CARD_PRESENT = "card_present"
    ECOMMERCE = "ecommerce"
    ATM = "atm"
    MOBILE = "mobile"
    ONLINE_BANKING = "online_banking"
    BRANCH = "branch"
    TRANSFER = "transfer"


MerchantCategory = Annotated[str, Field(min_length=1, max_length=64, examples=["5411"])]


class TransactionPosted(Payload):
    """A posted transaction; it moves its account's balance by ``amount`` in ``direction``."""

    transaction_id: Identifier
    account_id: Identifier
    amount: PositiveMoney
    currency: Currency
    direction: Direction = Direction.DEBIT
    channel: Channel
    merchant: ShortText | None = None
    merchant_category: MerchantCategory | None = None
    terminal_id: Identifier | None = None
    location: Location | None = None
    card_token: Annotated[str, Field(min_length=8, max_length=64)] | None = card_data(None)
    device_id: Annotated[str, Field(min_length=1, max_length=128)] | None = personal(None)
    description: ShortText | None = None
