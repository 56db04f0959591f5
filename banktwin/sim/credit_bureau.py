"""Credit-bureau reports: a score when a customer joins, periodic updates, and a fresh one
whenever a loan application is credit-checked."""

from __future__ import annotations

from banktwin.domain.payloads.customer import CreditScoreReceived
from banktwin.sim.bank_model import SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.timeline import DAY

MIN_UPDATE_DAYS = 30
MAX_UPDATE_DAYS = 90


def clamp_score(score: float) -> int:
    """A score rounded into the bureau's 300-850 range."""
    return min(max(round(score), 300), 850)


class CreditBureau:
    """Sends the bank the bureau's reports on its customers."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self._rng = ctx.rng

    def report(self, customer: SimCustomer) -> CreditScoreReceived:
        """The customer's current report; the score drifts a little between reports, and a
        customer the bureau had no file on gets one."""
        rng = self._rng
        if customer.credit_score is None:
            customer.credit_score = clamp_score(rng.gauss(650, 70))
        else:
            customer.credit_score = clamp_score(customer.credit_score + rng.gauss(0, 9))
        if rng.random() < 0.01:
            customer.delinquencies += 1
        return CreditScoreReceived(
            score=customer.credit_score,
            bureau=customer.country.bureau,
            report_id=f"CR-{rng.getrandbits(48):012X}",
            delinquencies=customer.delinquencies,
        )

    def send_report(self, customer: SimCustomer, at: int) -> int:
        """Emit a report now; returns the score."""
        payload = self.report(customer)
        self._ctx.emitter.emit(payload, customer.customer_id, at)
        return payload.score

    def start(self, customer: SimCustomer, at: int) -> None:
        """Schedule the periodic updates of a customer the bureau has a file on."""
        if customer.credit_score is not None:
            first = at + round(self._rng.uniform(0, MAX_UPDATE_DAYS) * DAY)
            self._ctx.scheduler.at(first, self._periodic, customer)

    def _periodic(self, at: int, customer: SimCustomer) -> None:
        self.send_report(customer, at)
        interval = self._rng.uniform(MIN_UPDATE_DAYS, MAX_UPDATE_DAYS)
        self._ctx.scheduler.at(at + round(interval * DAY), self._periodic, customer)
