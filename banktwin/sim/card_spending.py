"""Everyday card use: purchases in shops, online and cash at ATMs, following each customer's
spending profile (categories, amounts, e-commerce share, trips abroad)."""

from __future__ import annotations

import math
from bisect import bisect_left
from random import Random

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import AccountType, Channel
from banktwin.sim.bank_model import Merchant, SimAccount, SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.geography import CITIES, City, cities_of
from banktwin.sim.merchant_catalog import ATM_MCC, CATEGORY_BY_MCC
from banktwin.sim.timeline import DAY

ATM_AMOUNTS = (20, 40, 50, 50, 100, 100, 150, 200, 300)
CREDIT_CARD_PREFERENCE = 0.35
"""How often a customer with both a debit and a credit card pays by credit card."""


def pick(rng: Random, keys: tuple[str, ...], cumulative: tuple[float, ...]) -> str:
    """A key drawn with the weights ``cumulative`` describes (ending at 1)."""
    return keys[min(bisect_left(cumulative, rng.random()), len(keys) - 1)]


def purchase_cents(rng: Random, customer: SimCustomer, mcc: str, factor: float = 1.0) -> int:
    """A purchase amount in cents for the customer in the category."""
    cat = CATEGORY_BY_MCC[mcc]
    major = cat.median * customer.profile.amount_scale * factor * rng.lognormvariate(0, cat.sigma)
    return max(round(major * 100), 50)


def spending_cards(customer: SimCustomer, rng: Random, atm: bool = False) -> list[SimAccount]:
    """The card accounts to try, preferred first (ATMs take debit cards only)."""
    accounts = [a for a in customer.accounts if a.card_tokens]
    if atm:
        return [a for a in accounts if a.type is AccountType.CHECKING]
    if len(accounts) > 1 and rng.random() < CREDIT_CARD_PREFERENCE:
        accounts.sort(key=lambda a: a.type is not AccountType.CREDIT_CARD)
    return accounts


def customer_device(customer: SimCustomer, rng: Random, mobile: bool = False) -> str:
    """One of the customer's devices (a phone when ``mobile`` and they have one)."""
    devices = [d for d in customer.devices if d.is_mobile] if mobile else customer.devices
    return rng.choice(devices or customer.devices).device_id


class CardSpending:
    """Generates a customer's card transactions."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self._rng = ctx.rng

    def purchase(self, customer: SimCustomer, at: int) -> None:
        """One purchase (shop, online or ATM) as the customer's profile has it; declined, and
        so not posted, when no card has the money."""
        rng, profile = self._rng, customer.profile
        roll = rng.random()
        if roll < profile.atm_share:
            self._atm_withdrawal(customer, at)
        elif roll < profile.atm_share + profile.ecommerce_share:
            mcc = pick(rng, profile.online_mccs, profile.online_cumulative)
            merchant = rng.choice(self._ctx.bank.online_shops[mcc])
            self.pay(customer, merchant, purchase_cents(rng, customer, mcc), at)
        else:
            city = self._where(customer, at)
            mcc = pick(rng, profile.store_mccs, profile.store_cumulative)
            shops = self._ctx.bank.shops_in(city, mcc) or self._ctx.bank.shops_in(
                customer.home, mcc
            )
            if shops:
                self.pay(customer, rng.choice(shops), purchase_cents(rng, customer, mcc), at)

    def pay(
        self,
        customer: SimCustomer,
        merchant: Merchant,
        cents: int,
        at: int,
        *,
        account: SimAccount | None = None,
        card: str | None = None,
        device: str | None = None,
        terminal: str | None = None,
        top_up: bool = True,
    ) -> tuple[Event, str] | None:
        """Pay ``merchant`` by card; returns the event and transaction id, ``None`` when
        declined.

        Without ``account`` the customer's preferred card with enough money is used (topped up
        from savings when ``top_up``); without ``device`` an online payment uses one of the
        customer's own devices.
        """
        rng, ledger = self._rng, self._ctx.ledger
        candidates = [account] if account is not None else spending_cards(customer, rng)
        for acc in candidates:
            funded = (
                ledger.ensure_funds(customer, acc, cents, at) if top_up else acc.can_debit(cents)
            )
            if not funded:
                continue
            online = merchant.online
            return ledger.post(
                customer,
                acc,
                cents,
                at,
                channel=Channel.ECOMMERCE if online else Channel.CARD_PRESENT,
                merchant=merchant.name,
                mcc=merchant.mcc,
                terminal=None if online else terminal or rng.choice(merchant.terminals),
                location=merchant.location,
                card=card or rng.choice(acc.card_tokens),
                device=(device or customer_device(customer, rng)) if online else None,
            )
        return None

    def withdraw(
        self,
        customer: SimCustomer,
        atm: Merchant,
        cents: int,
        at: int,
        *,
        account: SimAccount | None = None,
        card: str | None = None,
    ) -> tuple[Event, str] | None:
        """Cash from an ATM with a debit card; ``None`` when declined."""
        candidates = [account] if account else spending_cards(customer, self._rng, atm=True)
        for acc in candidates:
            if acc.can_debit(cents):
                return self._ctx.ledger.post(
                    customer,
                    acc,
                    cents,
                    at,
                    channel=Channel.ATM,
                    merchant=atm.name,
                    mcc=ATM_MCC,
                    terminal=atm.terminals[0],
                    location=atm.location,
                    card=card or self._rng.choice(acc.card_tokens),
                )
        return None

    def _atm_withdrawal(self, customer: SimCustomer, at: int) -> None:
        city = self._where(customer, at)
        atms = self._ctx.bank.atms.get(city.name)
        if atms:
            scale = max(math.sqrt(customer.profile.amount_scale), 0.5)
            major = round(self._rng.choice(ATM_AMOUNTS) * scale / 10) * 10 or 20
            self.withdraw(customer, self._rng.choice(atms), major * 100, at)

    def _where(self, customer: SimCustomer, at: int) -> City:
        """The city the customer shops in now: home, or a trip now and then."""
        if customer.trip_city is not None and customer.trip_until > at:
            return customer.trip_city
        rng = self._rng
        if rng.random() < customer.profile.travel_share / 3:
            customer.trip_city = rng.choice([c for c in CITIES if c is not customer.home])
            customer.trip_until = at + rng.randint(2, 8) * DAY
            return customer.trip_city
        if rng.random() < 0.05:  # a day out elsewhere in the country
            return rng.choice(cities_of(customer.country.code))
        return customer.home
