"""The synthetic bank's people, products and places, as the simulator keeps them.

Dates of the bank's past (customer since, account opening, age) are kept relative to the
start of the simulated window, so the bank depends on the seed alone and is placed in time
only when a backfill (or live run) starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from banktwin.domain.payloads.account import AccountStatus, AccountType
from banktwin.domain.payloads.branch import BranchService
from banktwin.domain.payloads.common import Location
from banktwin.domain.payloads.customer import Consent, Segment
from banktwin.sim.geography import City, Country


@dataclass(slots=True)
class SimAccount:
    """An account and its running balance in cents (a credit card's is negative when owed)."""

    account_id: str
    type: AccountType
    currency: str
    balance: int
    limit: int
    """Overdraft of a checking account, credit limit of a card account, 0 for savings."""
    status: AccountStatus
    card_tokens: tuple[str, ...]
    opened_days_ago: float

    def available(self) -> int:
        """Cents that may still be debited."""
        return self.balance + self.limit

    def can_debit(self, cents: int) -> bool:
        """Whether the account is active and has ``cents`` available."""
        return self.status is AccountStatus.ACTIVE and self.available() >= cents


@dataclass(frozen=True, slots=True)
class SimDevice:
    """A phone, tablet or browser the customer banks from."""

    device_id: str
    platform: str
    model: str
    first_seen_days_ago: float

    @property
    def is_mobile(self) -> bool:
        """A phone (as opposed to a browser)."""
        return self.platform in ("iOS", "Android")


@dataclass(frozen=True, slots=True)
class SpendingProfile:
    """How a customer behaves: how often, how much, where, when."""

    purchases_per_day: float
    logins_per_day: float
    transfers_per_day: float
    amount_scale: float
    """Multiplies each category's median amount."""
    store_mccs: tuple[str, ...]
    store_cumulative: tuple[float, ...]
    online_mccs: tuple[str, ...]
    online_cumulative: tuple[float, ...]
    ecommerce_share: float
    atm_share: float
    travel_share: float
    chronotype: str
    monthly_income: int
    """Cents credited on payday."""
    income_label: str
    payday: int
    rent: int
    """Cents paid by standing order each month (0: none)."""
    rent_day: int


@dataclass(slots=True)
class SimCustomer:
    """A customer with everything the simulator needs to act for them."""

    index: int
    customer_id: str
    name: str
    age_days: int
    has_dob: bool
    email: str | None
    address: str | None
    phone: str | None
    country: Country
    home: City
    segment: Segment
    consent: Consent
    since_days_ago: float
    accounts: list[SimAccount]
    devices: list[SimDevice]
    profile: SpendingProfile
    employer: str
    credit_score: int | None
    """``None``: the bureau has no file on this customer."""
    delinquencies: int
    landlord: str
    trip_city: City | None = None
    """Where the customer is travelling (until ``trip_until``)."""
    trip_until: int = 0

    def account_of(self, kind: AccountType) -> SimAccount | None:
        """The customer's account of that type, if any."""
        return next((a for a in self.accounts if a.type is kind), None)

    @property
    def currency(self) -> str:
        """The currency of the customer's accounts."""
        return self.accounts[0].currency

    def card_accounts(self) -> list[SimAccount]:
        """Accounts with cards (checking and credit card)."""
        return [a for a in self.accounts if a.card_tokens]


@dataclass(frozen=True, slots=True)
class Merchant:
    """A shop (with terminals) or an online merchant (without)."""

    name: str
    mcc: str
    location: Location
    terminals: tuple[str, ...]
    city: City | None

    @property
    def online(self) -> bool:
        """An e-commerce merchant (it has no terminals)."""
        return not self.terminals


@dataclass(frozen=True, slots=True)
class StaffMember:
    """Someone on a branch's roster."""

    staff_id: str
    services: tuple[str, ...]
    """Empty: serves every service of the branch."""


@dataclass(frozen=True, slots=True)
class SimBranch:
    """A branch and its standing facts."""

    index: int
    branch_id: str
    name: str
    address: str
    city: City
    location: Location
    open_hours: dict[str, str]
    services: tuple[BranchService, ...]
    capacity: int
    staff: tuple[StaffMember, ...]
    arrivals_per_hour: float
    """Customers joining a queue per hour at an average moment of the day."""
    service_weights: tuple[float, ...] = field(default=())
    """How often visitors want each of ``services``."""


@dataclass(frozen=True, slots=True)
class CountryPools:
    """Names and contact data generated once per country, drawn from while simulating (so the
    event loop never calls Faker)."""

    payees: tuple[str, ...]
    addresses: tuple[str, ...]
    phones: tuple[str, ...]
    email_domains: tuple[str, ...]
