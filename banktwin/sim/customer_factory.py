"""The bank's customers: who they are, what they hold and how they spend."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping
from itertools import accumulate
from typing import TypeVar

from banktwin.domain.payloads.account import AccountStatus, AccountType
from banktwin.domain.payloads.customer import Consent, Segment
from banktwin.sim.bank_model import SimAccount, SimCustomer, SimDevice, SpendingProfile
from banktwin.sim.country_pools import NameParts, format_address, make_email, vary_phone
from banktwin.sim.geography import COUNTRIES, CUSTOMER_COUNTRY_WEIGHTS, City, cities_of
from banktwin.sim.identifiers import account_number, card_token, device_id, subject_uuid
from banktwin.sim.merchant_catalog import CATEGORIES
from banktwin.sim.rhythms import CHRONOTYPE_SHARES

SEGMENT_SHARES = {
    Segment.RETAIL: 0.80,
    Segment.PREMIUM: 0.12,
    Segment.PRIVATE: 0.03,
    Segment.SMALL_BUSINESS: 0.05,
}
MEDIAN_INCOME = {  # monthly, major units
    Segment.RETAIL: 2600.0,
    Segment.PREMIUM: 6500.0,
    Segment.PRIVATE: 16000.0,
    Segment.SMALL_BUSINESS: 7000.0,
}
PURCHASES_PER_DAY = {
    Segment.RETAIL: 1.5,
    Segment.PREMIUM: 2.3,
    Segment.PRIVATE: 2.8,
    Segment.SMALL_BUSINESS: 3.0,
}
CREDIT_CARD_SHARE = {
    Segment.RETAIL: 0.25,
    Segment.PREMIUM: 0.6,
    Segment.PRIVATE: 0.75,
    Segment.SMALL_BUSINESS: 0.5,
}
MOBILE_MODELS = {
    "iOS": ("iPhone 13", "iPhone 14", "iPhone 15", "iPhone SE"),
    "Android": ("Pixel 7", "Pixel 8", "Galaxy S23", "Galaxy A54", "Xperia 10"),
}
OTHER_DEVICES = (("Web", "Chrome on Windows"), ("Web", "Safari on macOS"), ("Web", "Firefox"))


Key = TypeVar("Key")


def _weighted(rng: random.Random, weights: Mapping[Key, float]) -> Key:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _cents(major: float) -> int:
    return round(major * 100)


def _city(rng: random.Random, cities: tuple[City, ...]) -> City:
    return rng.choices(cities, weights=[c.weight for c in cities])[0]


def _category_mix(
    rng: random.Random, online: bool, gambler: bool, driver: bool
) -> tuple[tuple[str, ...], tuple[float, ...], float]:
    """Preferred categories (cumulative weights) and the expected amount per purchase at
    amount scale 1."""
    mccs: list[str] = []
    weights: list[float] = []
    expected = 0.0
    for cat in CATEGORIES:
        base = cat.online_weight if online else cat.in_store_weight
        if base <= 0 or (cat.mcc == "7995" and not gambler) or (cat.mcc == "5541" and not driver):
            continue
        w = base * rng.gammavariate(1.5, 1 / 1.5)
        mccs.append(cat.mcc)
        weights.append(w)
        expected += w * cat.median * math.exp(cat.sigma**2 / 2)
    total = sum(weights)
    return tuple(mccs), tuple(x / total for x in accumulate(weights)), expected / total


def _accounts(
    rng: random.Random,
    segment: Segment,
    currency: str,
    income: float,
    since: float,
    taken: set[str],
) -> list[SimAccount]:
    kinds = [AccountType.CHECKING] if rng.random() < 0.97 else []
    if rng.random() < (0.8 if segment is not Segment.RETAIL else 0.5) or not kinds:
        kinds.append(AccountType.SAVINGS)
    if rng.random() < CREDIT_CARD_SHARE[segment]:
        kinds.append(AccountType.CREDIT_CARD)
    accounts = []
    for kind in kinds:
        opened = since if kind is AccountType.CHECKING else rng.uniform(20, since)
        if kind is AccountType.CHECKING:
            balance, limit = income * rng.uniform(0.3, 1.6), round(income * 0.5, -2)
        elif kind is AccountType.SAVINGS:
            balance, limit = income * rng.lognormvariate(math.log(3), 0.9), 0.0
        else:
            balance, limit = -income * rng.uniform(0, 0.25), round(income * rng.uniform(1, 3), -2)
        cards = 0 if kind is AccountType.SAVINGS else (1 if rng.random() < 0.8 else 2)
        accounts.append(
            SimAccount(
                account_id=account_number(rng, taken),
                type=kind,
                currency=currency,
                balance=_cents(balance),
                limit=_cents(limit),
                status=AccountStatus.ACTIVE,
                card_tokens=tuple(card_token(rng) for _ in range(cards)),
                opened_days_ago=opened,
            )
        )
    return accounts


def _devices(rng: random.Random, age_years: float, since: float) -> list[SimDevice]:
    platform = "iOS" if rng.random() < 0.55 else "Android"
    first = SimDevice(
        device_id(rng),
        platform,
        rng.choice(MOBILE_MODELS[platform]),
        rng.uniform(1, min(since, 900)),
    )
    devices = [first]
    if rng.random() < (0.5 if age_years < 60 else 0.3):
        kind, model = rng.choice(OTHER_DEVICES)
        devices.append(SimDevice(device_id(rng), kind, model, rng.uniform(1, min(since, 1500))))
    return devices


def _profile(
    rng: random.Random, segment: Segment, age_years: float, income: float, has_cards: bool
) -> SpendingProfile:
    store_mccs, store_cum, store_avg = _category_mix(
        rng, online=False, gambler=rng.random() < 0.06, driver=rng.random() < 0.6
    )
    online_mccs, online_cum, online_avg = _category_mix(
        rng, online=True, gambler=False, driver=False
    )
    purchases = min(max(rng.lognormvariate(math.log(PURCHASES_PER_DAY[segment]), 0.5), 0.2), 10.0)
    ecommerce = rng.betavariate(2, 6) * (0.5 if age_years > 70 else 1.0)
    expected_amount = (1 - ecommerce) * store_avg + ecommerce * online_avg
    budget_share = rng.uniform(0.35, 0.65)
    scale = income * budget_share / 30.4 / purchases / expected_amount
    rent = _cents(income * rng.uniform(0.2, 0.33)) if rng.random() < 0.6 else 0
    return SpendingProfile(
        purchases_per_day=purchases if has_cards else 0.0,
        logins_per_day=min(
            max(rng.lognormvariate(0.0, 0.6) * (0.5 if age_years > 70 else 1), 0.05), 6
        ),
        transfers_per_day=rng.uniform(0.03, 0.15),
        amount_scale=min(max(scale, 0.25), 8.0),
        store_mccs=store_mccs,
        store_cumulative=store_cum,
        online_mccs=online_mccs,
        online_cumulative=online_cum,
        ecommerce_share=ecommerce,
        atm_share=rng.uniform(0.01, 0.08),
        travel_share=rng.uniform(0.0, 0.04),
        chronotype=_weighted(rng, CHRONOTYPE_SHARES),
        monthly_income=_cents(income),
        income_label="Pension" if age_years >= 67 else "Salary",
        payday=rng.choice((1, 15, 25, 26, 27, 28)),
        rent=rent,
        rent_day=rng.randint(1, 4),
    )


def build_customer(
    index: int,
    rng: random.Random,
    seed_namespace: uuid.UUID,
    parts: dict[str, NameParts],
    account_ids: set[str],
) -> SimCustomer:
    """One customer, drawn from ``rng`` (deterministic for a given rng state)."""
    code = _weighted(rng, CUSTOMER_COUNTRY_WEIGHTS)
    country, p = COUNTRIES[code], parts[code]
    home = _city(rng, cities_of(code))
    segment = _weighted(rng, SEGMENT_SHARES)
    age_years = rng.triangular(18, 90, 38)
    name = f"{rng.choice(p.first_names)} {rng.choice(p.last_names)}"
    income = rng.lognormvariate(math.log(MEDIAN_INCOME[segment]), 0.35)
    if age_years >= 67:
        income *= 0.7
    since = min(rng.expovariate(1 / 1800) + 45, (age_years - 16) * 365.25)
    accounts = _accounts(rng, segment, country.currency, income, since, account_ids)
    has_cards = any(a.card_tokens for a in accounts)
    street, postcode = rng.choice(p.streets), rng.choice(p.postcodes)
    has_file = rng.random() < 0.9
    return SimCustomer(
        index=index,
        customer_id=subject_uuid(seed_namespace, "customer", index),
        name=name,
        age_days=int(age_years * 365.25),
        has_dob=rng.random() > 0.01,
        email=make_email(rng, name, p.email_domains) if rng.random() > 0.03 else None,
        address=format_address(country, street, postcode, home) if rng.random() > 0.02 else None,
        phone=vary_phone(rng, rng.choice(p.phones)) if rng.random() > 0.04 else None,
        country=country,
        home=home,
        segment=segment,
        consent=Consent(
            processing=rng.random() < 0.97,
            marketing=rng.random() < 0.55,
            profiling=rng.random() < 0.4,
            data_sharing=rng.random() < 0.25,
        ),
        since_days_ago=since,
        accounts=accounts,
        devices=_devices(rng, age_years, since),
        profile=_profile(rng, segment, age_years, income, has_cards),
        employer=rng.choice(p.companies),
        credit_score=min(max(round(rng.gauss(690, 60)), 300), 850) if has_file else None,
        delinquencies=0 if rng.random() < 0.92 else rng.randint(1, 3),
        landlord=rng.choice(p.companies),
    )
