"""Money that moves by calendar or by choice: salaries, rent, card repayments, savings
interest and transfers."""

from __future__ import annotations

import math
from datetime import date

from banktwin.domain.payloads.account import AccountStatus, AccountType, Channel, Direction
from banktwin.domain.payloads.customer import Segment
from banktwin.sim.bank_model import SimAccount, SimCustomer
from banktwin.sim.card_spending import customer_device
from banktwin.sim.context import SimContext
from banktwin.sim.geography import City
from banktwin.sim.merchant_catalog import TRANSFER_MCC
from banktwin.sim.timeline import local_date, local_instant

REPAYMENT_DELAY_DAYS = 3
SAVINGS_RATE_BP = 150
"""Yearly interest on savings, in basis points (1.5 %), credited monthly."""
INTEREST_DAY, INTEREST_MINUTE = 1, 120.0
"""The core system's month-end run: the 1st, 02:00 local time."""


def next_monthly(city: City, after: int, day_of_month: int, minute_of_day: float) -> int:
    """The first instant at or after ``after`` that is ``day_of_month`` (at most 28) at the
    given local time in ``city``."""
    today = local_date(city, after)
    year, month = today.year, today.month
    for _ in range(3):
        candidate = local_instant(city, date(year, month, min(day_of_month, 28)), minute_of_day)
        if candidate >= after:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("a monthly date is always found within three months")


class MoneyMovements:
    """Standing orders, income and the transfers customers make."""

    def __init__(self, ctx: SimContext, *, books_interest: bool = True) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._books_interest = books_interest

    def start(self, customer: SimCustomer, at: int) -> None:
        """Schedule the customer's first salary, rent and card repayment from ``at`` on."""
        p, home, schedule = customer.profile, customer.home, self._ctx.scheduler.at
        minute = self._rng.uniform(300, 480)
        schedule(next_monthly(home, at, p.payday, minute), self._income, customer, minute)
        if p.rent and customer.account_of(AccountType.CHECKING):
            rent_minute = self._rng.uniform(360, 600)
            schedule(
                next_monthly(home, at, p.rent_day, rent_minute), self._rent, customer, rent_minute
            )
        if customer.account_of(AccountType.CREDIT_CARD) and customer.account_of(
            AccountType.CHECKING
        ):
            day = (p.payday + REPAYMENT_DELAY_DAYS - 1) % 28 + 1
            schedule(next_monthly(home, at, day, 540.0), self._repay_card, customer, day)
        if self._books_interest and customer.account_of(AccountType.SAVINGS):
            first = next_monthly(home, at, INTEREST_DAY, INTEREST_MINUTE)
            schedule(first, self._interest, customer)

    def _income(self, at: int, customer: SimCustomer, minute: float) -> None:
        p = customer.profile
        account = customer.account_of(AccountType.CHECKING) or customer.accounts[0]
        spread = 0.35 if customer.segment is Segment.SMALL_BUSINESS else 0.02
        cents = max(round(p.monthly_income * self._rng.uniform(1 - spread, 1 + spread)), 100)
        self._ctx.ledger.post(
            customer,
            account,
            cents,
            at,
            channel=Channel.TRANSFER,
            direction=Direction.CREDIT,
            merchant=customer.employer,
            description=p.income_label,
        )
        self._ctx.scheduler.at(
            next_monthly(customer.home, at + 1, p.payday, minute), self._income, customer, minute
        )

    def _rent(self, at: int, customer: SimCustomer, minute: float) -> None:
        p = customer.profile
        checking = customer.account_of(AccountType.CHECKING)
        if checking is not None and self._ctx.ledger.ensure_funds(customer, checking, p.rent, at):
            self._ctx.ledger.post(
                customer,
                checking,
                p.rent,
                at,
                channel=Channel.TRANSFER,
                merchant=customer.landlord,
                description="Rent",
            )
        self._ctx.scheduler.at(
            next_monthly(customer.home, at + 1, p.rent_day, minute), self._rent, customer, minute
        )

    def _interest(self, at: int, customer: SimCustomer) -> None:
        savings = customer.account_of(AccountType.SAVINGS)
        if savings is not None and savings.status is AccountStatus.ACTIVE and savings.balance > 0:
            cents = savings.balance * SAVINGS_RATE_BP // (12 * 10_000)
            if cents > 0:
                self._ctx.ledger.adjust(customer, savings, cents, at, reason="Interest")
        following = next_monthly(customer.home, at + 1, INTEREST_DAY, INTEREST_MINUTE)
        self._ctx.scheduler.at(following, self._interest, customer)

    def _repay_card(self, at: int, customer: SimCustomer, day: int) -> None:
        card = customer.account_of(AccountType.CREDIT_CARD)
        checking = customer.account_of(AccountType.CHECKING)
        if card is not None and checking is not None and card.balance < 0:
            owed = -card.balance
            self._ctx.ledger.ensure_funds(customer, checking, owed, at)
            cents = min(owed, max(checking.balance, 0))
            if cents > 0 and checking.can_debit(cents):
                self._pay_card(customer, checking, card, cents, at)
        self._ctx.scheduler.at(
            next_monthly(customer.home, at + 1, day, 540.0), self._repay_card, customer, day
        )

    def _pay_card(
        self, customer: SimCustomer, checking: SimAccount, card: SimAccount, cents: int, at: int
    ) -> None:
        ledger = self._ctx.ledger
        ledger.post(
            customer, checking, cents, at, channel=Channel.TRANSFER, description="Card repayment"
        )
        ledger.post(
            customer,
            card,
            cents,
            at,
            channel=Channel.TRANSFER,
            direction=Direction.CREDIT,
            description="Repayment received",
        )

    def transfer(self, customer: SimCustomer, at: int) -> None:
        """A transfer the customer makes: to someone, into savings, or money coming in."""
        rng, ledger = self._rng, self._ctx.ledger
        checking = customer.account_of(AccountType.CHECKING)
        savings = customer.account_of(AccountType.SAVINGS)
        if checking is None:
            return
        mobile = rng.random() < 0.7
        channel = Channel.MOBILE if mobile else Channel.ONLINE_BANKING
        device = customer_device(customer, rng, mobile=True) if mobile else None
        income = customer.profile.monthly_income
        cents = max(round(income * rng.lognormvariate(math.log(0.04), 0.8)), 500)
        roll = rng.random()
        payee = rng.choice(self._ctx.bank.pools[customer.country.code].payees)
        if roll < 0.55:
            cents = min(cents, income)
            if ledger.ensure_funds(customer, checking, cents, at):
                ledger.post(
                    customer,
                    checking,
                    cents,
                    at,
                    channel=channel,
                    device=device,
                    merchant=payee,
                    mcc=TRANSFER_MCC if rng.random() < 0.4 else None,
                    description="Transfer",
                )
        elif roll < 0.8 and savings is not None:
            cents = min(cents * 2, max(checking.balance - income // 4, 0))
            if cents >= 1000:
                ledger.move(customer, checking, savings, cents, at, channel, device)
        else:
            ledger.post(
                customer,
                checking,
                cents,
                at,
                channel=Channel.TRANSFER,
                direction=Direction.CREDIT,
                merchant=payee,
                description="Incoming transfer",
            )
