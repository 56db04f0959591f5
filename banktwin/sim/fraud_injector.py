"""Chooses which fraud scenario to inject next.

Scenarios are taken in turns (a shuffled round of all four, then another), so even a short
run with a handful of incidents shows every kind; a scenario that does not fit the victim
(no card, no checking account) gives way to the next in the round.
"""

from __future__ import annotations

from collections.abc import Callable

from banktwin.sim.bank_model import SimCustomer
from banktwin.sim.card_spending import CardSpending
from banktwin.sim.context import SimContext
from banktwin.sim.digital_banking import DigitalBanking
from banktwin.sim.fraud_cards import CardFraud
from banktwin.sim.fraud_takeover import AccountTakeover
from banktwin.sim.ground_truth import Scenario

Injection = Callable[[SimCustomer, int], bool]


class FraudInjector:
    """Starts fraud incidents against the customers the activity process hands it."""

    def __init__(self, ctx: SimContext, spending: CardSpending, banking: DigitalBanking) -> None:
        self._rng = ctx.rng
        cards = CardFraud(ctx, spending)
        takeover = AccountTakeover(ctx, banking)
        self._scenarios: dict[Scenario, Injection] = {
            Scenario.COMPROMISED_CARD: cards.compromised_card,
            Scenario.COMPROMISED_TERMINAL: cards.compromised_terminal,
            Scenario.ACCOUNT_TAKEOVER: takeover.start,
            Scenario.CARD_TESTING: cards.card_testing,
        }
        self._round: list[Scenario] = []
        self.incidents = 0

    def start(self, scenario: Scenario, customer: SimCustomer, at: int) -> bool:
        """Start ``scenario`` against ``customer`` now (a demonstration or a test asks for
        one); false when it does not fit the customer (no card, no checking account)."""
        if self._scenarios[scenario](customer, at):
            self.incidents += 1
            return True
        return False

    def inject(self, customer: SimCustomer, at: int) -> None:
        """Start the next scenario of the round that fits ``customer`` (none if none fits)."""
        if not self._round:
            self._round = list(Scenario)
            self._rng.shuffle(self._round)
        for scenario in list(self._round):
            if self._scenarios[scenario](customer, at):
                self._round.remove(scenario)
                self.incidents += 1
                return
