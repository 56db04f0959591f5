"""Posting transactions: each one moves its account's running balance and becomes an event.
Interest the core system credits arrives as a new balance instead (change data capture).

Balances are kept in integer cents. Debits check the money is there: a checking account that
runs short is topped up from savings first (a customer moving money, two ordinary
transactions), and a debit that still does not fit is declined (nothing is posted).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountStatus,
    AccountType,
    Channel,
    Direction,
    TransactionPosted,
)
from banktwin.domain.payloads.common import Location
from banktwin.sim.bank_model import SimAccount, SimCustomer
from banktwin.sim.emitter import EventEmitter
from banktwin.sim.identifiers import RunIds

TOP_UP_STEP = 10_000
"""Top-ups are rounded up to whole 100s of the currency."""


def money(cents: int) -> Decimal:
    """Cents as an exact two-decimal amount (``1250`` → ``Decimal("12.50")``)."""
    return Decimal(cents).scaleb(-2)


class Ledger:
    """Posts transactions for the simulated customers."""

    def __init__(self, emitter: EventEmitter, ids: RunIds) -> None:
        self._emitter = emitter
        self._ids = ids

    def post(
        self,
        customer: SimCustomer,
        account: SimAccount,
        cents: int,
        at: int,
        *,
        channel: Channel,
        direction: Direction = Direction.DEBIT,
        merchant: str | None = None,
        mcc: str | None = None,
        terminal: str | None = None,
        location: Location | None = None,
        card: str | None = None,
        device: str | None = None,
        description: str | None = None,
    ) -> tuple[Event, str]:
        """Post unconditionally; returns the event and its transaction id."""
        transaction_id = self._ids.transaction()
        fields: dict[str, Any] = {
            "transaction_id": transaction_id,
            "account_id": account.account_id,
            "amount": money(cents),
            "currency": account.currency,
            "direction": direction,
            "channel": channel,
        }
        optional = {
            "merchant": merchant,
            "merchant_category": mcc,
            "terminal_id": terminal,
            "location": location,
            "card_token": card,
            "device_id": device,
            "description": description,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        event = self._emitter.emit(TransactionPosted(**fields), customer.customer_id, at)
        account.balance += -cents if direction is Direction.DEBIT else cents
        return event, transaction_id

    def adjust(
        self, customer: SimCustomer, account: SimAccount, cents: int, at: int, *, reason: str
    ) -> Event:
        """A balance change the core system books without a transaction (interest, a fee),
        seen by the twin as change data capture: ``account.balance_changed`` with the new
        absolute balance."""
        account.balance += cents
        payload = AccountBalanceChanged(
            account_id=account.account_id, balance=money(account.balance), reason=reason
        )
        return self._emitter.emit(payload, customer.customer_id, at)

    def move(
        self,
        customer: SimCustomer,
        source: SimAccount,
        target: SimAccount,
        cents: int,
        at: int,
        channel: Channel,
        device: str | None = None,
    ) -> list[tuple[Event, str]]:
        """Move money between two of the customer's own accounts (two transactions)."""
        return [
            self.post(
                customer,
                source,
                cents,
                at,
                channel=channel,
                device=device,
                description=f"Transfer to {target.type.value.replace('_', ' ')}",
            ),
            self.post(
                customer,
                target,
                cents,
                at,
                channel=channel,
                direction=Direction.CREDIT,
                device=device,
                description=f"Transfer from {source.type.value.replace('_', ' ')}",
            ),
        ]

    def ensure_funds(self, customer: SimCustomer, account: SimAccount, cents: int, at: int) -> bool:
        """Whether ``account`` can pay ``cents``, topping a checking account up from savings
        when that makes it so."""
        if account.can_debit(cents):
            return True
        if account.type is not AccountType.CHECKING or account.status is not AccountStatus.ACTIVE:
            return False
        savings = customer.account_of(AccountType.SAVINGS)
        short = cents - account.available()
        top_up = -(-(short + account.limit) // TOP_UP_STEP) * TOP_UP_STEP
        if savings is None or not savings.can_debit(top_up):
            return False
        device = next((d.device_id for d in customer.devices if d.is_mobile), None)
        self.move(customer, savings, account, top_up, at, Channel.MOBILE, device)
        return account.can_debit(cents)
