"""Loan applications moving through the pipeline: submitted → document check → credit check
→ underwriting → approval → decided → (approved ones) disbursed.

Each stage lasts a log-normal share of its service level (``STAGE_SLA_HOURS``), so most
stages finish in time and roughly one in six runs late, as in a real back office.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from banktwin.domain.loan import STAGE_SLA_HOURS
from banktwin.domain.payloads.account import AccountType, Channel, Direction
from banktwin.domain.payloads.customer import Segment
from banktwin.domain.payloads.loan import (
    LoanDecided,
    LoanDecision,
    LoanProduct,
    LoanStage,
    LoanStageChanged,
    LoanSubmitted,
)
from banktwin.sim.bank_model import SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.credit_bureau import CreditBureau
from banktwin.sim.ledger import money
from banktwin.sim.timeline import HOUR, MINUTE

PRODUCTS: dict[LoanProduct, tuple[float, float, int, int, float, float]] = {
    # product: (min amount, max amount, min term, max term, min rate, max rate)
    LoanProduct.PERSONAL: (1_000, 25_000, 12, 84, 5.9, 12.9),
    LoanProduct.AUTO: (8_000, 45_000, 24, 72, 4.5, 7.9),
    LoanProduct.MORTGAGE: (80_000, 700_000, 120, 360, 3.2, 4.8),
    LoanProduct.BUSINESS: (10_000, 250_000, 12, 120, 5.0, 9.5),
    LoanProduct.CREDIT_LINE: (2_000, 20_000, 12, 36, 8.0, 14.9),
}
PAID_TO_CUSTOMER = (LoanProduct.PERSONAL, LoanProduct.BUSINESS, LoanProduct.CREDIT_LINE)
"""Products whose money lands on the customer's checking account (others pay a seller)."""
PIPELINE = (
    LoanStage.DOCUMENT_CHECK,
    LoanStage.CREDIT_CHECK,
    LoanStage.UNDERWRITING,
    LoanStage.APPROVAL,
)
MEDIAN_SHARE_OF_SLA = 0.55
SLA_SPREAD = 0.6
MIN_SCORE = 580

PaidOut = Callable[[SimCustomer, LoanProduct, int, int, str, int], None]
"""Told of each loan paid out: customer, product, cents, months, application id, instant."""


def stage_hours(rng: Random, stage: LoanStage) -> float:
    """How long an application stays in ``stage``: a log-normal share of the stage's SLA
    (median ``MEDIAN_SHARE_OF_SLA``; about one stay in six exceeds the SLA)."""
    sla = STAGE_SLA_HOURS[stage.value]
    return sla * rng.lognormvariate(math.log(MEDIAN_SHARE_OF_SLA), SLA_SPREAD)


@dataclass(slots=True)
class Application:
    """A loan application on its way through the pipeline."""

    application_id: str
    customer: SimCustomer
    product: LoanProduct
    amount: int
    """Cents."""
    score: int | None = None
    term_months: int = 12


class LoanPipeline:
    """Submits applications and walks them through the stages."""

    def __init__(
        self, ctx: SimContext, bureau: CreditBureau, paid_out: PaidOut | None = None
    ) -> None:
        self._ctx = ctx
        self._rng = ctx.rng
        self._bureau = bureau
        self._paid_out = paid_out

    def _after(self, at: int, stage: LoanStage) -> int:
        return at + max(round(stage_hours(self._rng, stage) * HOUR), MINUTE)

    def _product(self, customer: SimCustomer) -> LoanProduct:
        rng = self._rng
        if customer.segment is Segment.SMALL_BUSINESS and rng.random() < 0.6:
            return LoanProduct.BUSINESS
        wealthy = customer.segment in (Segment.PREMIUM, Segment.PRIVATE)
        products = (
            LoanProduct.PERSONAL,
            LoanProduct.AUTO,
            LoanProduct.MORTGAGE,
            LoanProduct.CREDIT_LINE,
        )
        return rng.choices(products, weights=(45, 25, 30 if wealthy else 12, 15))[0]

    def submit(self, customer: SimCustomer, at: int) -> None:
        """The customer applies for a loan (online, in the app or at a branch)."""
        rng = self._rng
        product = self._product(customer)
        low, high, min_term, max_term, _, _ = PRODUCTS[product]
        major = math.exp(rng.uniform(math.log(low), math.log(high)))
        amount = max(round(major / 500) * 500, 500) * 100
        branches = self._ctx.bank.branches_by_country.get(customer.country.code, ())
        channel = rng.choice(("online", "mobile", "branch" if branches else "online"))
        term = round(rng.randint(min_term, max_term) / 12) * 12 or 12
        application = Application(
            self._ctx.ids.loan_application(), customer, product, amount, term_months=term
        )
        payload = LoanSubmitted(
            customer_id=customer.customer_id,
            product=product,
            amount=money(amount),
            currency=customer.currency,
            term_months=term,
            channel=channel,
            **({"branch_id": rng.choice(branches).branch_id} if channel == "branch" else {}),
        )
        self._ctx.emitter.emit(payload, application.application_id, at)
        self._ctx.scheduler.at(self._after(at, LoanStage.SUBMITTED), self._enter, application, 0)

    def _enter(self, at: int, application: Application, step: int) -> None:
        stage = PIPELINE[step]
        self._ctx.emitter.emit(LoanStageChanged(stage=stage), application.application_id, at)
        leave = self._after(at, stage)
        if stage is LoanStage.CREDIT_CHECK:
            application.score = self._bureau.send_report(application.customer, at)
        rng, schedule = self._rng, self._ctx.scheduler.at
        if stage is LoanStage.DOCUMENT_CHECK and rng.random() < 0.04:
            schedule(leave, self._decide, application, LoanDecision.WITHDRAWN, "applicant withdrew")
        elif stage is LoanStage.CREDIT_CHECK and (application.score or 0) < MIN_SCORE:
            schedule(
                leave, self._decide, application, LoanDecision.REJECTED, "credit score below policy"
            )
        elif step + 1 < len(PIPELINE):
            schedule(leave, self._enter, application, step + 1)
        elif rng.random() < 0.82:
            schedule(leave, self._decide, application, LoanDecision.APPROVED, None)
        else:
            reason = rng.choice(
                ("affordability", "insufficient income history", "high existing debt")
            )
            schedule(leave, self._decide, application, LoanDecision.REJECTED, reason)

    def _decide(
        self, at: int, application: Application, decision: LoanDecision, reason: str | None
    ) -> None:
        if decision is not LoanDecision.APPROVED:
            payload = LoanDecided(decision=decision, reason=reason)
            self._ctx.emitter.emit(payload, application.application_id, at)
            return
        rng = self._rng
        _, _, _, _, low_rate, high_rate = PRODUCTS[application.product]
        risk = (720 - (application.score or 720)) / 100
        application.amount = (
            round(application.amount * rng.choice((1.0, 1.0, 1.0, 0.9, 0.8)) / 100) * 100
        )
        payload = LoanDecided(
            decision=decision,
            approved_amount=money(application.amount),
            interest_rate=round(min(max(rng.uniform(low_rate, high_rate) + risk, 0.5), 30.0), 2),
        )
        self._ctx.emitter.emit(payload, application.application_id, at)
        self._ctx.scheduler.at(self._after(at, LoanStage.DECIDED), self._disburse, application)

    def _disburse(self, at: int, application: Application) -> None:
        stage = LoanStageChanged(stage=LoanStage.DISBURSED)
        self._ctx.emitter.emit(stage, application.application_id, at)
        customer = application.customer
        if self._paid_out is not None:
            self._paid_out(
                customer,
                application.product,
                application.amount,
                application.term_months,
                application.application_id,
                at,
            )
        checking = customer.account_of(AccountType.CHECKING)
        if application.product in PAID_TO_CUSTOMER and checking is not None:
            self._ctx.ledger.post(
                customer,
                checking,
                application.amount,
                at,
                channel=Channel.TRANSFER,
                direction=Direction.CREDIT,
                description="Loan disbursement",
            )
