"""Card fraud scenarios: a compromised card, card testing, and a skimming terminal.

Every transaction here is posted exactly like a genuine one (same merchants, channels and
fields); only the ground truth knows which incident it belongs to.
"""

from __future__ import annotations

from datetime import timedelta

from banktwin.sim.bank_model import Merchant, SimAccount, SimCustomer
from banktwin.sim.card_spending import CardSpending, purchase_cents
from banktwin.sim.context import SimContext
from banktwin.sim.fraud_incident import Incident
from banktwin.sim.geography import CITIES, City
from banktwin.sim.ground_truth import LabelRole, Scenario
from banktwin.sim.identifiers import device_id
from banktwin.sim.merchant_catalog import HIGH_VALUE_MCCS, SMALL_ONLINE_MCCS
from banktwin.sim.timeline import DAY, MINUTE, SECOND, local_date, local_instant

SKIMMED_CATEGORIES = ("5411", "5541", "5812", "5814", "5912")
MIN_FRAUD_CENTS = 2_000


class CardFraud:
    """Injects the card scenarios for a chosen victim."""

    def __init__(self, ctx: SimContext, spending: CardSpending) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._spending = spending

    def _card(self, customer: SimCustomer) -> tuple[SimAccount, str] | None:
        accounts = customer.card_accounts()
        if not accounts:
            return None
        account = self._rng.choice(accounts)
        return account, self._rng.choice(account.card_tokens)

    def _foreign_city(self, customer: SimCustomer) -> City:
        return self._rng.choice([c for c in CITIES if c.country is not customer.country])

    def _high_value_merchant(self, city: City | None) -> Merchant:
        """An online shop (``city`` None) or a shop in ``city`` where stolen cards pay off."""
        bank = self._ctx.bank
        if city is not None:
            shops = [m for mcc in HIGH_VALUE_MCCS for m in bank.shops_in(city, mcc)]
            if shops:
                return self._rng.choice(shops)
        mcc = self._rng.choice([m for m in HIGH_VALUE_MCCS if m in bank.online_shops])
        return self._rng.choice(bank.online_shops[mcc])

    def _spend_stolen(
        self,
        incident: Incident,
        customer: SimCustomer,
        account: SimAccount,
        card: str,
        merchant: Merchant,
        cents: int,
        at: int,
        device: str | None,
    ) -> None:
        """A fraudulent card payment of up to ``cents`` (less when the account has less)."""
        cents = min(cents, account.available())
        if cents < MIN_FRAUD_CENTS:
            return
        posted = self._spending.pay(
            customer, merchant, cents, at, account=account, card=card, device=device, top_up=False
        )
        incident.mark_posted(customer, posted)

    # Scenario 1: a compromised card ------------------------------------------------------

    def compromised_card(self, customer: SimCustomer, at: int) -> bool:
        """A burst of unusual, larger payments on one card, online or in another country."""
        card = self._card(customer)
        if card is None:
            return False
        rng = self._rng
        incident = Incident.begin(
            self._ctx, Scenario.COMPROMISED_CARD, customer, at, f"card {card[1]}"
        )
        city = self._foreign_city(customer) if rng.random() < 0.5 else None
        device = device_id(rng)
        due = at
        for _ in range(rng.randint(3, 8)):
            due += rng.randint(2, 40) * MINUTE
            self._ctx.scheduler.at(due, self._burst_payment, incident, customer, card, city, device)
        return True

    def _burst_payment(
        self,
        at: int,
        incident: Incident,
        customer: SimCustomer,
        card: tuple[SimAccount, str],
        city: City | None,
        device: str,
    ) -> None:
        rng = self._rng
        merchant = self._high_value_merchant(city if rng.random() < 0.7 else None)
        cents = purchase_cents(rng, customer, merchant.mcc, rng.uniform(2.5, 8.0))
        cents += rng.randint(6_000, 40_000)
        self._spend_stolen(incident, customer, card[0], card[1], merchant, cents, at, device)

    # Scenario 4: card testing --------------------------------------------------------------

    def card_testing(self, customer: SimCustomer, at: int) -> bool:
        """Many tiny online payments within minutes, then a large one."""
        card = self._card(customer)
        if card is None:
            return False
        rng, schedule = self._rng, self._ctx.scheduler.at
        incident = Incident.begin(self._ctx, Scenario.CARD_TESTING, customer, at, f"card {card[1]}")
        shops = [m for mcc in SMALL_ONLINE_MCCS for m in self._ctx.bank.online_shops.get(mcc, ())]
        tested = rng.sample(shops, min(len(shops), rng.randint(1, 2)))
        device = device_id(rng)
        due = at
        for _ in range(rng.randint(5, 20)):
            due += rng.randint(8, 90) * SECOND
            cents = rng.randint(50, 499)
            schedule(due, self._probe, incident, customer, card, rng.choice(tested), cents, device)
        due += rng.randint(5, 60) * MINUTE
        big = self._high_value_merchant(None)
        cents = rng.randint(150, 1500) * 100
        schedule(due, self._probe, incident, customer, card, big, cents, device)
        return True

    def _probe(
        self,
        at: int,
        incident: Incident,
        customer: SimCustomer,
        card: tuple[SimAccount, str],
        merchant: Merchant,
        cents: int,
        device: str,
    ) -> None:
        account = card[0]
        if account.can_debit(cents):
            posted = self._spending.pay(
                customer,
                merchant,
                cents,
                at,
                account=account,
                card=card[1],
                device=device,
                top_up=False,
            )
            incident.mark_posted(customer, posted)
        elif cents >= MIN_FRAUD_CENTS:
            self._spend_stolen(incident, customer, account, card[1], merchant, cents, at, device)

    # Scenario 2: a compromised (skimming) terminal -------------------------------------

    def compromised_terminal(self, customer: SimCustomer, at: int) -> bool:
        """Cards used at one skimming terminal over a few days; some are later cloned and
        used elsewhere."""
        rng, bank = self._rng, self._ctx.bank
        city = customer.home
        shops = [m for mcc in SKIMMED_CATEGORIES for m in bank.shops_in(city, mcc)]
        if not shops or not customer.card_accounts():
            return False
        merchant = rng.choice(shops)
        terminal = rng.choice(merchant.terminals)
        detail = f"terminal {terminal} at {merchant.name}"
        incident = Incident.begin(self._ctx, Scenario.COMPROMISED_TERMINAL, customer, at, detail)
        neighbours = [c for c in bank.customers_by_city.get(city.name, ()) if c is not customer]
        others = rng.sample(neighbours, min(len(neighbours), rng.randint(4, 10)))
        today = local_date(city, at)
        for victim in [customer, *others]:
            if not victim.card_accounts():
                continue
            day = today + timedelta(days=rng.randint(0, 2))
            visit = local_instant(city, day, rng.uniform(480, 1200))
            if visit < at:
                visit += DAY
            self._ctx.scheduler.at(visit, self._skimmed_visit, incident, victim, merchant, terminal)
        return True

    def _skimmed_visit(
        self, at: int, incident: Incident, victim: SimCustomer, merchant: Merchant, terminal: str
    ) -> None:
        """A genuine purchase at the skimmer (labelled as the compromise point)."""
        card = self._card(victim)
        if card is None:
            return
        rng = self._rng
        cents = purchase_cents(rng, victim, merchant.mcc)
        posted = self._spending.pay(
            victim, merchant, cents, at, account=card[0], card=card[1], terminal=terminal
        )
        incident.mark_posted(victim, posted, LabelRole.COMPROMISE)
        if posted is None or rng.random() > 0.6:
            return
        city = self._foreign_city(victim) if rng.random() < 0.6 else None
        due = at + round(rng.uniform(2, 10) * DAY)
        for _ in range(rng.randint(1, 4)):
            due += rng.randint(5, 120) * MINUTE
            self._ctx.scheduler.at(due, self._cloned_use, incident, victim, card, city)

    def _cloned_use(
        self,
        at: int,
        incident: Incident,
        victim: SimCustomer,
        card: tuple[SimAccount, str],
        city: City | None,
    ) -> None:
        """The cloned card in use: cash abroad or an expensive purchase."""
        rng = self._rng
        atms = self._ctx.bank.atms.get(city.name, ()) if city is not None else ()
        if atms and rng.random() < 0.5 and card[0].can_debit(20_000):
            cents = min(
                rng.choice((200, 250, 300, 400, 500)) * 100, card[0].available() // 10_000 * 10_000
            )
            posted = self._spending.withdraw(
                victim, rng.choice(atms), cents, at, account=card[0], card=card[1]
            )
            incident.mark_posted(victim, posted)
            return
        merchant = self._high_value_merchant(city or victim.home)
        cents = purchase_cents(rng, victim, merchant.mcc, rng.uniform(2.0, 6.0))
        cents += rng.randint(4_000, 30_000)
        self._spend_stolen(incident, victim, card[0], card[1], merchant, cents, at, device_id(rng))
