"""Where money is spent and customers are served: merchants, ATMs and branches."""

from __future__ import annotations

import random
import uuid

from banktwin.domain.payloads.branch import BranchService
from banktwin.domain.payloads.common import Location
from banktwin.sim.bank_model import Merchant, SimBranch, StaffMember
from banktwin.sim.country_pools import NameParts, format_address
from banktwin.sim.geography import BRANCH_COUNTRY_WEIGHTS, CITIES, City, cities_of
from banktwin.sim.identifiers import subject_uuid, terminal_number
from banktwin.sim.merchant_catalog import ATM_MCC, BANK_NAME, CATEGORIES, FOREIGN_ATM_NAMES

ONLINE_MERCHANT_COUNTRIES = ("NL", "IE", "LU", "DE", "GB", "US", "FR")
BUSY_CATEGORIES = ("5411", "5812", "5814")

SERVICES: dict[str, tuple[float, float, float]] = {
    # service: (average handling minutes, share of branches offering it, visitor demand)
    "teller": (6.0, 1.0, 4.0),
    "cash_deposit": (4.0, 1.0, 2.5),
    "advisory": (25.0, 1.0, 1.2),
    "loans": (35.0, 0.7, 0.6),
    "account_opening": (20.0, 0.6, 0.6),
    "card_services": (10.0, 0.5, 0.8),
    "foreign_exchange": (8.0, 0.3, 0.5),
    "safe_deposit": (12.0, 0.2, 0.3),
}
HOURS_PROFILES: tuple[tuple[float, dict[str, str]], ...] = (
    (0.55, dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00")),
    (0.2, {**dict.fromkeys(("mon", "tue", "wed", "fri"), "08:30-16:30"), "thu": "08:30-18:30"}),
    (0.25, dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:30-17:30")),
)
SPECIALIST_ROLES: tuple[tuple[str, ...], ...] = (
    ("teller", "cash_deposit", "foreign_exchange"),
    ("advisory", "loans", "account_opening"),
    ("card_services", "account_opening", "teller"),
    ("teller", "cash_deposit", "safe_deposit"),
)


def _jittered(city: City, rng: random.Random, spread: float) -> Location:
    return Location(
        country=city.country.code,
        city=city.name,
        latitude=round(city.latitude + rng.uniform(-spread, spread), 5),
        longitude=round(city.longitude + rng.uniform(-spread, spread), 5),
    )


def build_store_merchants(
    rng: random.Random, terminals: set[str]
) -> dict[tuple[str, str], tuple[Merchant, ...]]:
    """Shops with card terminals in every city, by ``(city name, mcc)``."""
    shops: dict[tuple[str, str], tuple[Merchant, ...]] = {}
    for city in CITIES:
        for cat in CATEGORIES:
            if not cat.store_names:
                continue
            count = 2 if cat.mcc in BUSY_CATEGORIES else 1
            stems = rng.sample(cat.store_names, min(count, len(cat.store_names)))
            shops[(city.name, cat.mcc)] = tuple(
                Merchant(
                    name=f"{stem} {city.name}",
                    mcc=cat.mcc,
                    location=_jittered(city, rng, 0.04),
                    terminals=tuple(
                        terminal_number(rng, terminals) for _ in range(rng.randint(1, 3))
                    ),
                    city=city,
                )
                for stem in stems
            )
    return shops


def build_online_merchants(rng: random.Random) -> dict[str, tuple[Merchant, ...]]:
    """E-commerce merchants (no terminals), by mcc."""
    online: dict[str, tuple[Merchant, ...]] = {}
    for cat in CATEGORIES:
        if cat.online_names:
            online[cat.mcc] = tuple(
                Merchant(
                    name, cat.mcc, Location(country=rng.choice(ONLINE_MERCHANT_COUNTRIES)), (), None
                )
                for name in cat.online_names
            )
    return online


def build_atms(rng: random.Random, terminals: set[str]) -> dict[str, tuple[Merchant, ...]]:
    """Two cash machines per city, by city name: the bank's own at home, others abroad."""
    atms: dict[str, tuple[Merchant, ...]] = {}
    for city in CITIES:
        own = city.country.code in BRANCH_COUNTRY_WEIGHTS
        names = (
            [f"{BANK_NAME} ATM {city.name}"] * 2
            if own
            else [f"{rng.choice(FOREIGN_ATM_NAMES)} {city.name}" for _ in range(2)]
        )
        atms[city.name] = tuple(
            Merchant(
                n, ATM_MCC, _jittered(city, rng, 0.05), (terminal_number(rng, terminals),), city
            )
            for n in names
        )
    return atms


def _staff(
    rng: random.Random, number: int, services: list[str], capacity: int
) -> tuple[StaffMember, ...]:
    size = min(max(capacity // 20 + rng.randint(0, 1), 2), 8)
    members = []
    for n in range(size):
        if n < 2:
            skills: tuple[str, ...] = ()
        else:
            skills = tuple(s for s in rng.choice(SPECIALIST_ROLES) if s in services) or ("teller",)
        members.append(StaffMember(f"STF{number:04d}{n + 1:02d}", skills))
    return tuple(members)


def build_branch(
    index: int, rng: random.Random, seed_namespace: uuid.UUID, parts: dict[str, NameParts]
) -> SimBranch:
    """One branch with its hours, services and staff."""
    codes = list(BRANCH_COUNTRY_WEIGHTS)
    code = rng.choices(codes, weights=[BRANCH_COUNTRY_WEIGHTS[c] for c in codes])[0]
    cities = cities_of(code)
    city = rng.choices(cities, weights=[c.weight for c in cities])[0]
    p = parts[code]
    hours = dict(
        rng.choices([h for _, h in HOURS_PROFILES], weights=[w for w, _ in HOURS_PROFILES])[0]
    )
    if rng.random() < 0.3:
        hours["sat"] = rng.choice(("09:00-13:00", "10:00-13:00"))
    offered = [name for name, (_, share, _) in SERVICES.items() if rng.random() < share]
    services = tuple(
        BranchService(
            service=name,
            avg_handling_minutes=round(SERVICES[name][0] * rng.uniform(0.85, 1.2) * 2) / 2,
        )
        for name in offered
    )
    capacity = rng.randint(4, 24) * 5
    return SimBranch(
        index=index,
        branch_id=subject_uuid(seed_namespace, "branch", index),
        name=f"{BANK_NAME} {city.name} {rng.choice(p.street_names)}"[:200],
        address=format_address(city.country, rng.choice(p.streets), rng.choice(p.postcodes), city),
        city=city,
        location=_jittered(city, rng, 0.03),
        open_hours=hours,
        services=services,
        capacity=capacity,
        staff=_staff(rng, index + 1, offered, capacity),
        arrivals_per_hour=min(max(capacity / 5 * rng.uniform(0.7, 1.2), 4.0), 25.0),
        service_weights=tuple(SERVICES[name][2] for name in offered),
    )
