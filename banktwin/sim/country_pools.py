"""Faker-made names, addresses and phone numbers, generated once per country.

Faker is slow next to the event loop, so it runs only while the bank is built: each country
gets pools of first and last names, streets, post codes and phone numbers that the customer
factory combines and the event loop draws from (for moves, new phones, new payees).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from faker import Faker

from banktwin.sim.bank_model import CountryPools
from banktwin.sim.geography import COUNTRIES, City, Country, cities_of

POOL_SIZE = 150


@dataclass(frozen=True, slots=True)
class NameParts:
    """A country's raw Faker output, before it is combined into people and addresses."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    street_names: tuple[str, ...]
    postcodes: tuple[str, ...]
    phones: tuple[str, ...]
    companies: tuple[str, ...]
    email_domains: tuple[str, ...]


def _faker_parts(locale: str, seed: int) -> NameParts:
    fake = Faker(locale)
    fake.seed_instance(seed)
    count = range(POOL_SIZE)
    return NameParts(
        first_names=tuple(fake.first_name() for _ in count),
        last_names=tuple(fake.last_name() for _ in count),
        streets=tuple(fake.street_address() for _ in count),
        street_names=tuple(fake.street_name() for _ in range(40)),
        postcodes=tuple(fake.postcode() for _ in count),
        phones=tuple(fake.phone_number() for _ in count),
        companies=tuple(fake.company()[:80] for _ in range(60)),
        email_domains=tuple(sorted({fake.free_email_domain() for _ in range(30)})),
    )


def build_name_parts(seed: int) -> dict[str, NameParts]:
    """Raw parts for every country that has a customer locale."""
    return {
        code: _faker_parts(country.locale, seed * 131 + i)
        for i, (code, country) in enumerate(sorted(COUNTRIES.items()))
        if country.locale is not None
    }


def format_address(country: Country, street: str, postcode: str, city: City) -> str:
    """A one-line postal address in the country's usual order."""
    if country.code in ("GB", "US"):
        return f"{street}, {city.name} {postcode}"
    return f"{street}, {postcode} {city.name}"


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (``Jürgen`` → ``jurgen``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.lower() if ch.isascii() and ch.isalnum())


def make_email(rng: random.Random, name: str, domains: tuple[str, ...]) -> str:
    """An address a person with that name might use."""
    parts = [ascii_slug(p) for p in name.split()]
    parts = [p for p in parts if p] or ["mail"]
    first, last = parts[0], parts[-1]
    style = rng.randrange(4)
    if style == 0:
        local = f"{first}.{last}"
    elif style == 1:
        local = f"{first[0]}{last}{rng.randrange(1, 99)}"
    elif style == 2:
        local = f"{first}{last}{rng.randrange(1950, 2006)}"
    else:
        local = f"{last}.{first}{rng.randrange(1, 999)}"
    return f"{local}@{rng.choice(domains)}"


def vary_phone(rng: random.Random, phone: str) -> str:
    """The phone number with its last four digits redrawn (pools stay small, numbers vary)."""
    chars = list(phone)
    changed = 0
    for i in range(len(chars) - 1, -1, -1):
        if chars[i].isdigit():
            chars[i] = str(rng.randrange(10))
            changed += 1
            if changed == 4:
                break
    return "".join(chars)


def build_country_pools(parts: dict[str, NameParts], rng: random.Random) -> dict[str, CountryPools]:
    """Pools the event loop draws from, per country."""
    pools: dict[str, CountryPools] = {}
    for code, p in parts.items():
        country = COUNTRIES[code]
        cities = cities_of(code)
        addresses = tuple(
            format_address(
                country, rng.choice(p.streets), rng.choice(p.postcodes), rng.choice(cities)
            )
            for _ in range(POOL_SIZE)
        )
        payees = tuple(
            f"{rng.choice(p.first_names)} {rng.choice(p.last_names)}" for _ in range(POOL_SIZE)
        )
        pools[code] = CountryPools(
            payees=payees,
            addresses=addresses,
            phones=p.phones,
            email_domains=p.email_domains,
        )
    return pools
