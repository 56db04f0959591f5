"""Countries and cities the synthetic bank lives in, with their local time.

Local time follows each country's standard offset and its daylight-saving rule (EU: last
Sunday of March to last Sunday of October at 01:00 UTC; US: second Sunday of March to first
Sunday of November at 02:00 local). The rules are computed here rather than read from the
system's time-zone database so a backfill is identical on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from banktwin.domain.payloads.common import Location


class DaylightRule(StrEnum):
    """Which daylight-saving calendar a country follows."""

    NONE = "none"
    EU = "eu"
    US = "us"


@dataclass(frozen=True, slots=True)
class Country:
    """A country's facts the simulator needs."""

    code: str
    currency: str
    bureau: str
    daylight: DaylightRule
    locale: str | None = None
    """Faker locale of the bank's customers there; ``None`` for travel-only countries."""


@dataclass(frozen=True, slots=True)
class City:
    """A city with coordinates and its standard UTC offset in hours."""

    name: str
    country: Country
    latitude: float
    longitude: float
    utc_offset_hours: float
    weight: float = 1.0
    """How many of the country's customers and branches it attracts, relatively."""
    location: Location = field(init=False, compare=False)

    def __post_init__(self) -> None:
        location = Location(
            country=self.country.code,
            city=self.name,
            latitude=self.latitude,
            longitude=self.longitude,
        )
        object.__setattr__(self, "location", location)


EU, US, NO_DST = DaylightRule.EU, DaylightRule.US, DaylightRule.NONE
COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in (
        Country("DE", "EUR", "SCHUFA", EU, "de_DE"),
        Country("FR", "EUR", "Experian", EU, "fr_FR"),
        Country("GB", "GBP", "Experian", EU, "en_GB"),
        Country("NL", "EUR", "BKR", EU, "nl_NL"),
        Country("ES", "EUR", "Equifax", EU, "es_ES"),
        Country("IT", "EUR", "CRIF", EU, "it_IT"),
        Country("US", "USD", "Equifax", US, "en_US"),
        Country("PT", "EUR", "Equifax", EU, None),
        Country("RO", "RON", "Biroul de Credit", EU, None),
        Country("TR", "TRY", "KKB", NO_DST, None),
        Country("AE", "AED", "AECB", NO_DST, None),
        Country("TH", "THB", "NCB", NO_DST, None),
        Country("BR", "BRL", "Serasa", NO_DST, None),
        Country("NG", "NGN", "CRC", NO_DST, None),
    )
}

_CITY_ROWS: tuple[tuple[str, str, float, float, float, float], ...] = (
    # country, city, latitude, longitude, standard UTC offset (hours), relative weight
    ("DE", "Berlin", 52.520, 13.405, 1, 4.0),
    ("DE", "Hamburg", 53.551, 9.993, 1, 2.2),
    ("DE", "Munich", 48.137, 11.575, 1, 2.0),
    ("DE", "Cologne", 50.938, 6.960, 1, 1.4),
    ("DE", "Frankfurt", 50.110, 8.682, 1, 1.2),
    ("DE", "Stuttgart", 48.776, 9.183, 1, 0.9),
    ("DE", "Leipzig", 51.340, 12.375, 1, 0.8),
    ("FR", "Paris", 48.857, 2.352, 1, 4.0),
    ("FR", "Lyon", 45.764, 4.836, 1, 1.2),
    ("FR", "Marseille", 43.297, 5.370, 1, 1.1),
    ("FR", "Toulouse", 43.605, 1.444, 1, 0.8),
    ("FR", "Bordeaux", 44.838, -0.579, 1, 0.7),
    ("FR", "Lille", 50.629, 3.057, 1, 0.6),
    ("GB", "London", 51.507, -0.128, 0, 5.0),
    ("GB", "Manchester", 53.481, -2.243, 0, 1.3),
    ("GB", "Birmingham", 52.486, -1.890, 0, 1.3),
    ("GB", "Leeds", 53.801, -1.549, 0, 0.9),
    ("GB", "Glasgow", 55.864, -4.252, 0, 0.8),
    ("GB", "Bristol", 51.455, -2.588, 0, 0.6),
    ("NL", "Amsterdam", 52.368, 4.904, 1, 2.0),
    ("NL", "Rotterdam", 51.924, 4.478, 1, 1.2),
    ("NL", "The Hague", 52.070, 4.300, 1, 1.0),
    ("NL", "Utrecht", 52.091, 5.122, 1, 0.8),
    ("ES", "Madrid", 40.417, -3.704, 1, 2.5),
    ("ES", "Barcelona", 41.385, 2.173, 1, 2.0),
    ("ES", "Valencia", 39.470, -0.376, 1, 0.9),
    ("ES", "Seville", 37.389, -5.984, 1, 0.7),
    ("IT", "Rome", 41.903, 12.496, 1, 2.0),
    ("IT", "Milan", 45.464, 9.190, 1, 2.0),
    ("IT", "Naples", 40.852, 14.268, 1, 0.9),
    ("US", "New York", 40.713, -74.006, -5, 3.0),
    ("US", "Boston", 42.360, -71.059, -5, 0.8),
    ("US", "Chicago", 41.878, -87.630, -6, 1.5),
    ("US", "San Francisco", 37.775, -122.419, -8, 1.0),
    ("US", "Miami", 25.762, -80.192, -5, 0.8),
    ("PT", "Lisbon", 38.722, -9.139, 0, 1.0),
    ("RO", "Bucharest", 44.427, 26.103, 2, 1.0),
    ("TR", "Istanbul", 41.008, 28.978, 3, 1.0),
    ("AE", "Dubai", 25.205, 55.271, 4, 1.0),
    ("TH", "Bangkok", 13.756, 100.502, 7, 1.0),
    ("BR", "Sao Paulo", -23.551, -46.633, -3, 1.0),
    ("NG", "Lagos", 6.524, 3.379, 1, 1.0),
)

CITIES: tuple[City, ...] = tuple(
    City(name, COUNTRIES[code], lat, lon, offset, weight)
    for code, name, lat, lon, offset, weight in _CITY_ROWS
)
"""Every city, home and travel alike."""


@lru_cache(maxsize=64)
def cities_of(country_code: str) -> tuple[City, ...]:
    """The cities of a country, in catalogue order."""
    return tuple(c for c in CITIES if c.country.code == country_code)


CUSTOMER_COUNTRY_WEIGHTS: dict[str, float] = {
    "DE": 0.32,
    "FR": 0.18,
    "GB": 0.17,
    "NL": 0.10,
    "ES": 0.09,
    "IT": 0.07,
    "US": 0.07,
}
"""Where the bank's customers live (the locale mix of the generated population)."""

BRANCH_COUNTRY_WEIGHTS: dict[str, float] = {
    "DE": 0.35,
    "FR": 0.2,
    "GB": 0.2,
    "NL": 0.13,
    "ES": 0.12,
}
"""Where the bank has branches."""


def _nth_sunday(year: int, month: int, n: int) -> int:
    """Day of month of the n-th Sunday (n = -1: the last one)."""
    if n > 0:
        first = datetime(year, month, 1)
        return 1 + (6 - first.weekday()) % 7 + 7 * (n - 1)
    following = datetime(year + (month == 12), month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last.day - (last.weekday() + 1) % 7


@lru_cache(maxsize=256)
def _summer_window(rule: DaylightRule, year: int, standard_offset: float) -> tuple[float, float]:
    """Start and end of daylight-saving time in that year, as UTC epoch seconds."""
    if rule is DaylightRule.EU:
        start = datetime(year, 3, _nth_sunday(year, 3, -1), 1, tzinfo=UTC)
        end = datetime(year, 10, _nth_sunday(year, 10, -1), 1, tzinfo=UTC)
        return start.timestamp(), end.timestamp()
    local_start = datetime(year, 3, _nth_sunday(year, 3, 2), 2, tzinfo=UTC)
    local_end = datetime(year, 11, _nth_sunday(year, 11, 1), 2, tzinfo=UTC)
    return (
        local_start.timestamp() - standard_offset * 3600,
        local_end.timestamp() - (standard_offset + 1) * 3600,
    )


def utc_offset_seconds(city: City, epoch_seconds: float) -> int:
    """The city's offset from UTC at that moment, daylight saving included."""
    offset = city.utc_offset_hours
    rule = city.country.daylight
    if rule is not DaylightRule.NONE:
        year = datetime.fromtimestamp(epoch_seconds, UTC).year
        start, end = _summer_window(rule, year, offset)
        if start <= epoch_seconds < end:
            offset += 1
    return int(offset * 3600)
