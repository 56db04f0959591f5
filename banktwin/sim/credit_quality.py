"""Each customer's latent credit quality, and how it turns into paid and missed instalments.

The quality is a number (higher is better, about standard normal over the bank) made of what
the twin can see — the bureau score and delinquencies, income, rent against income, gambling
— plus a hidden part only the simulator knows. At each due date the chance to miss (in
arrears: to catch up; and to become unable to pay at all) depends on the quality and on the
customer's liquidity then (checking balance against monthly income), so the outcomes are
predictable from the twin's features but noisy. The constants are calibrated so that, over
the bank's customers, about 4 % would default in a year, about 1 % of prime ones (bureau
score 700 or more) and over 10 % of subprime ones (under 620); the bank lends less to low
scores, so its borrowers do a little better. ``tests/unit/sim/test_loan_servicing.py``
checks the rates.
"""

from __future__ import annotations

import math
import random

from banktwin.sim.bank_model import SimCustomer

THIN_FILE_SCORE = 640
"""The score a customer without a bureau file is taken to have (a thin file is a risk)."""
REFERENCE_INCOME = 300_000
"""Monthly income (cents) at which income neither helps nor hurts."""
GAMBLING_MCC = "7995"
HIDDEN_SPREAD = 0.8
"""Standard deviation of the part of the quality the twin cannot see."""
MISS_BASE, MISS_SLOPE = -5.5, 0.9
"""Log-odds of missing an instalment of a current facility: ``base - slope * quality``."""
CURE_BASE, CURE_SLOPE = 0.7, 0.5
"""Log-odds of settling the arrears at a due date of a facility in arrears."""
INSOLVENCY_BASE, INSOLVENCY_SLOPE = -7.7, 1.0
"""Log-odds, at a due date, that the customer becomes unable to pay at all (insolvency, a
distressed restructuring): the facility defaults then, whatever its days past due (the
"unlikely to pay" default, about a third of the defaults)."""
LIQUIDITY_WEIGHT = 0.7
"""How much a month's income held on checking (more or less than half of it) moves both."""


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def observable_quality(customer: SimCustomer) -> float:
    """The part of the quality the bank can see through the twin (bureau, income, spending)."""
    score = THIN_FILE_SCORE if customer.credit_score is None else customer.credit_score
    quality = 0.9 * (score - 690) / 60
    quality -= 0.5 * customer.delinquencies
    income = max(customer.profile.monthly_income, 10_000)
    quality += 0.4 * math.log(income / REFERENCE_INCOME)
    quality -= 3.0 * max(customer.profile.rent / income - 0.25, 0.0)
    if GAMBLING_MCC in customer.profile.store_mccs:
        quality -= 0.8
    return quality


def latent_quality(customer: SimCustomer, rng: random.Random) -> float:
    """A customer's credit quality: what the twin sees, and a hidden part drawn from ``rng``."""
    return observable_quality(customer) + rng.gauss(0.0, HIDDEN_SPREAD)


def liquidity(checking_balance: int, monthly_income: int) -> float:
    """Months of income held on checking, bounded to [-1, 2] (negative: overdrawn)."""
    return min(max(checking_balance / max(monthly_income, 10_000), -1.0), 2.0)


def miss_probability(quality: float, cash: float = 0.5) -> float:
    """The chance that a current facility's instalment is missed, given the quality and the
    liquidity (:func:`liquidity`; 0.5, half a month's income, is neutral)."""
    return _sigmoid(MISS_BASE - MISS_SLOPE * quality - LIQUIDITY_WEIGHT * (cash - 0.5))


def insolvency_probability(quality: float, cash: float = 0.5) -> float:
    """The chance that a facility defaults at a due date because the customer cannot pay at
    all any more, before 90 days past due."""
    return _sigmoid(INSOLVENCY_BASE - INSOLVENCY_SLOPE * quality - LIQUIDITY_WEIGHT * (cash - 0.5))


def cure_probability(quality: float, cash: float = 0.5) -> float:
    """The chance that a facility in arrears is brought current at a due date."""
    return _sigmoid(CURE_BASE + CURE_SLOPE * quality + LIQUIDITY_WEIGHT * (cash - 0.5))
