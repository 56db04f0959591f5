"""The loans and credit lines customers hold: the ones they already have when the simulated
window starts (by segment, age and credit score), and their repayment terms.

A facility is an account of the customer's (type ``loan``, or ``mortgage``) whose balance is
minus what is still payable, repaid in equal monthly instalments on a due day of its own.
Existing facilities are drawn from a random stream of their own, so the rest of the bank is
the same with or without them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from banktwin.domain.payloads.account import AccountStatus, AccountType
from banktwin.domain.payloads.customer import Segment
from banktwin.domain.payloads.loan import LoanProduct
from banktwin.sim.bank_model import SimAccount, SimCustomer
from banktwin.sim.identifiers import account_number
from banktwin.sim.loan_pipeline import PRODUCTS

HELD_AT_START: dict[LoanProduct, dict[Segment, float]] = {
    LoanProduct.MORTGAGE: {
        Segment.RETAIL: 0.45,
        Segment.PREMIUM: 0.70,
        Segment.PRIVATE: 0.60,
        Segment.SMALL_BUSINESS: 0.35,
    },
    LoanProduct.PERSONAL: {
        Segment.RETAIL: 0.22,
        Segment.PREMIUM: 0.08,
        Segment.PRIVATE: 0.03,
        Segment.SMALL_BUSINESS: 0.06,
    },
    LoanProduct.AUTO: {
        Segment.RETAIL: 0.11,
        Segment.PREMIUM: 0.15,
        Segment.PRIVATE: 0.05,
        Segment.SMALL_BUSINESS: 0.08,
    },
    LoanProduct.CREDIT_LINE: {
        Segment.RETAIL: 0.10,
        Segment.PREMIUM: 0.08,
        Segment.PRIVATE: 0.03,
        Segment.SMALL_BUSINESS: 0.10,
    },
    LoanProduct.BUSINESS: {Segment.SMALL_BUSINESS: 0.30},
}
"""The share of each segment holding each product when the window starts (before
underwriting: a low score makes it less likely the bank ever lent). Mortgages are held by
customers who pay no rent (the others rent their home)."""
MIN_SCORE_TO_LEND = {LoanProduct.MORTGAGE: 620}
"""The score around which the bank stops lending a product (560 for the others)."""
MORTGAGE_AGES = (25, 70)
AFFORDABLE_SHARE = {LoanProduct.MORTGAGE: 0.30}
"""The most of the customer's monthly income one instalment takes (0.12 for the others)."""
DAYS_PER_MONTH = 30.44


@dataclass(slots=True)
class SimFacility:
    """A loan or credit line and where its repayment stands."""

    customer: SimCustomer
    account: SimAccount
    """The facility's account: its balance is minus what is still payable (cents)."""
    product: LoanProduct
    installment: int
    """Cents due each month."""
    remaining: int
    """Instalments not paid yet, arrears included."""
    due_day: int
    due_minute: float
    opened_days_ago: float
    """Days before the window's start it was paid out (0 for one paid out in the window)."""
    next_due: int = 0
    arrears: int = 0
    """Instalments fallen due and not paid."""
    oldest_unpaid: int | None = None
    """When the oldest unpaid instalment fell due (simulated instant)."""
    defaulted: bool = False
    charge_off_at: int | None = None
    closed: bool = False
    """Repaid, or charged off: nothing falls due any more."""

    @property
    def facility_id(self) -> str:
        """The facility's account id."""
        return self.account.account_id

    @property
    def outstanding(self) -> int:
        """Cents still payable."""
        return self.remaining * self.installment


def account_type_of(product: LoanProduct) -> AccountType:
    """The account type a facility of ``product`` is kept in."""
    return AccountType.MORTGAGE if product is LoanProduct.MORTGAGE else AccountType.LOAN


def monthly_installment(principal: int, yearly_rate_percent: float, months: int) -> int:
    """The annuity (cents) that repays ``principal`` cents over ``months`` at the rate."""
    rate = yearly_rate_percent / 1200
    if rate <= 0:
        return -(-principal // months)
    return round(principal * rate / (1 - (1 + rate) ** -months))


def _lends(rng: random.Random, customer: SimCustomer, product: LoanProduct) -> bool:
    """Whether the bank granted the customer ``product`` (by their score, roughly)."""
    if customer.credit_score is None:
        return rng.random() < 0.5
    cutoff = MIN_SCORE_TO_LEND.get(product, 560)
    return rng.random() < 1 / (1 + math.exp(-(customer.credit_score - cutoff) / 25))


def new_facility(
    customer: SimCustomer,
    product: LoanProduct,
    principal: int,
    months: int,
    account_id: str,
    rng: random.Random,
    opened_days_ago: float = 0.0,
) -> SimFacility:
    """A facility of ``principal`` cents over ``months`` at the product's middle rate, with
    ``months`` instalments still to pay (the caller counts off those paid already)."""
    _, _, _, _, low_rate, high_rate = PRODUCTS[product]
    installment = monthly_installment(principal, (low_rate + high_rate) / 2, months)
    account = SimAccount(
        account_id=account_id,
        type=account_type_of(product),
        currency=customer.currency,
        balance=-installment * months,
        limit=0,
        status=AccountStatus.ACTIVE,
        card_tokens=(),
        opened_days_ago=opened_days_ago,
    )
    return SimFacility(
        customer=customer,
        account=account,
        product=product,
        installment=installment,
        remaining=months,
        due_day=rng.randint(1, 28),
        due_minute=rng.uniform(1260, 1380),  # the servicing system's evening run
        opened_days_ago=opened_days_ago,
    )


def existing_facilities(
    customer: SimCustomer, rng: random.Random, taken: set[str]
) -> list[SimFacility]:
    """The facilities ``customer`` holds when the window starts, with the instalments left."""
    held = []
    age = customer.age_days / 365.25
    for product, shares in HELD_AT_START.items():
        share = shares.get(customer.segment, 0.0)
        if rng.random() >= share or not _lends(rng, customer, product):
            continue
        if product is LoanProduct.MORTGAGE and (
            customer.profile.rent or not MORTGAGE_AGES[0] <= age <= MORTGAGE_AGES[1]
        ):
            continue
        low, high, min_term, max_term, low_rate, high_rate = PRODUCTS[product]
        months = round(rng.randint(min_term, max_term) / 12) * 12 or 12
        affordable = AFFORDABLE_SHARE.get(product, 0.12) * customer.profile.monthly_income
        per_cent = monthly_installment(1_000_000, (low_rate + high_rate) / 2, months) / 1_000_000
        cap = affordable / per_cent / 100  # the principal (major units) it affords
        major = min(math.exp(rng.uniform(math.log(low), math.log(high))), max(cap, low / 2))
        ago = rng.uniform(30, max(min(customer.since_days_ago - 1, months * DAYS_PER_MONTH), 31))
        left = months - int(ago / DAYS_PER_MONTH)
        if left < 1:
            continue  # repaid before the window
        facility = new_facility(
            customer,
            product,
            round(major / 100) * 10_000,
            months,
            account_number(rng, taken),
            rng,
            opened_days_ago=ago,
        )
        facility.remaining = left
        facility.account.balance = -facility.outstanding
        held.append(facility)
    return held
