"""The synthetic bank as a whole, built once from the configuration's seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from banktwin.sim.bank_model import CountryPools, Merchant, SimBranch, SimCustomer
from banktwin.sim.config import SimConfig
from banktwin.sim.country_pools import build_country_pools, build_name_parts
from banktwin.sim.customer_factory import build_customer
from banktwin.sim.geography import City
from banktwin.sim.identifiers import subject_namespace
from banktwin.sim.network_factory import (
    build_atms,
    build_branch,
    build_online_merchants,
    build_store_merchants,
)


@dataclass(frozen=True, slots=True)
class Bank:
    """Customers, branches, merchants and the indexes the event loop looks things up in."""

    customers: tuple[SimCustomer, ...]
    branches: tuple[SimBranch, ...]
    shops: dict[tuple[str, str], tuple[Merchant, ...]]
    """Card-present merchants by ``(city name, mcc)``."""
    online_shops: dict[str, tuple[Merchant, ...]]
    atms: dict[str, tuple[Merchant, ...]]
    customers_by_city: dict[str, tuple[SimCustomer, ...]]
    branches_by_country: dict[str, tuple[SimBranch, ...]]
    pools: dict[str, CountryPools]

    def shops_in(self, city: City, mcc: str) -> tuple[Merchant, ...]:
        """The card-present merchants of a category in a city."""
        return self.shops.get((city.name, mcc), ())


def build_bank(config: SimConfig) -> Bank:
    """The bank of ``config.seed``: Faker and ``random.Random`` are both seeded from it, so the
    same configuration always yields the same bank."""
    rng = random.Random(config.seed)
    seed_namespace = subject_namespace(config.seed)
    parts = build_name_parts(config.seed)
    account_ids: set[str] = set()
    customers = tuple(
        build_customer(i, rng, seed_namespace, parts, account_ids) for i in range(config.customers)
    )
    branches = tuple(build_branch(i, rng, seed_namespace, parts) for i in range(config.branches))
    terminals: set[str] = set()
    by_city: dict[str, list[SimCustomer]] = {}
    for c in customers:
        by_city.setdefault(c.home.name, []).append(c)
    by_country: dict[str, list[SimBranch]] = {}
    for b in branches:
        by_country.setdefault(b.city.country.code, []).append(b)
    return Bank(
        customers=customers,
        branches=branches,
        shops=build_store_merchants(rng, terminals),
        online_shops=build_online_merchants(rng),
        atms=build_atms(rng, terminals),
        customers_by_city={k: tuple(v) for k, v in by_city.items()},
        branches_by_country={k: tuple(v) for k, v in by_country.items()},
        pools=build_country_pools(parts, rng),
    )
