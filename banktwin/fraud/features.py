"""Streaming features of a transaction, computed incrementally and leak-free.

A consumer holds one :class:`CustomerState` per customer (all of a customer's events share a
partition), folds each event into it with :meth:`CustomerState.fold`, and scores a
``transaction.posted`` with :func:`features_at`; a backtest runs the same code over history.
Terminal, merchant and category features come from an :class:`~banktwin.fraud.entities.
EntityBook`, whose state spans partitions (see ``docs/fraud.md``).

**Leak-free.** The features of a transaction at ``t`` use only events that occurred strictly
before ``t``, whatever arrived already: state keeps each fact's own time (sorted lists of
integer microseconds, first-seen minima) and every query is a window ``[t - w, t)``. A fraud
report counts only once known: its ``occurredAt`` is at or before ``t - label_delay``. So
folding an event that occurred at or after ``t`` (or a report known later) never changes the
features at ``t``, and the order the past arrived in does not matter either: sorted
insertion, minima and counts are the same in any order.

**Sentinels.** Every feature is a number or a bool, never ``None``: counts and means are 0
when the window is empty, ratios and z-scores 0 when undefined, and
``seconds_since_prev_txn``, ``card_distance_km_prev`` and ``card_speed_kmh_prev`` are -1 when
unknown.

**What the windows count.** Customer and card windows hold *debits* (money leaving: what
fraud takes); credits only feed the first-seen sets. Amounts are in the transaction's own
currency (no conversion). Terminal windows hold every transaction at the terminal.

**Bounded and cheap.** State is mutated in place (one consumer owns it, like a Kafka
Streams local store). A customer keeps its last ``30 days + max_lateness`` of debits as
parallel lists (time µs, amount cents, cents², flags), 24 h of logins and contact changes,
a card its last ``7 days + max_lateness`` of debits and card-present positions; first-seen
devices, channels and countries are small maps kept for good, as are the reported
transactions. A transaction scored more than ``max_lateness`` behind the newest event
folded may miss state that was already dropped.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from math import sqrt
from typing import Final

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import Channel, Direction, TransactionPosted
from banktwin.domain.payloads.customer import (
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    LoginOutcome,
)
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.fraud.entities import NO_ENTITY_FEATURES, EntityBook
from banktwin.fraud.geo import haversine_km
from banktwin.fraud.windows import (
    DAY,
    DEFAULT_CONFIG,
    HOUR,
    MAX_WINDOW,
    SECOND,
    FeatureConfig,
    expired,
    insertion_index,
    to_micros,
)

Features = dict[str, float | int | bool]

ONLINE_CHANNELS: Final = frozenset({Channel.ECOMMERCE, Channel.ONLINE_BANKING, Channel.MOBILE})
"""Card not present: the card or account is used remotely."""
CARD_PRESENT_CHANNELS: Final = frozenset({Channel.CARD_PRESENT, Channel.ATM})
"""The card is physically where the transaction's location says."""
TINY_CENTS: Final = 500
"""An online debit under 5.00 is the kind a card tester makes."""
CARD_WINDOW: Final = 7 * DAY
CONTACT_FIELDS: Final = frozenset({"email", "phone", "address"})
_ONLINE = 1
_FAILED_OUTCOMES = frozenset({LoginOutcome.FAILED, LoginOutcome.LOCKED})
_MICROS_PER_HOUR = float(HOUR)


def _cents(payload: TransactionPosted) -> int:
    return int(payload.amount.scaleb(2))


def _trim(times: list[int], horizon: int, *parallel: list[int] | list[str | None]) -> None:
    if drop := expired(times, horizon):
        del times[:drop]
        for values in parallel:
            del values[:drop]


def _first_seen(seen: dict[str, int], key: str, at: int) -> None:
    earlier = seen.get(key)
    if earlier is None or at < earlier:
        seen[key] = at


class CardState:
    """One card's recent debits and card-present positions."""

    __slots__ = ("cents", "countries", "newest", "place_lat", "place_lon", "place_times", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.cents: list[int] = []
        self.countries: list[str | None] = []
        self.place_times: list[int] = []
        """Times of card-present debits with coordinates, and their positions:"""
        self.place_lat: list[float] = []
        self.place_lon: list[float] = []
        self.newest = 0

    def fold(self, payload: TransactionPosted, at: int, cents: int, lateness: int) -> None:
        index = insertion_index(self.times, at)
        self.times.insert(index, at)
        self.cents.insert(index, cents)
        location = payload.location
        self.countries.insert(index, None if location is None else location.country)
        if (
            location is not None
            and location.latitude is not None
            and location.longitude is not None
            and payload.channel in CARD_PRESENT_CHANNELS
        ):
            index = insertion_index(self.place_times, at)
            self.place_times.insert(index, at)
            self.place_lat.insert(index, location.latitude)
            self.place_lon.insert(index, location.longitude)
        if at > self.newest:
            self.newest = at
            horizon = at - CARD_WINDOW - lateness
            _trim(self.times, horizon, self.cents, self.countries)
            if drop := expired(self.place_times, horizon):
                del self.place_times[:drop], self.place_lat[:drop], self.place_lon[:drop]


@dataclass(slots=True)
class CustomerState:
    """What the features of one customer's transactions need, folded from its events."""

    config: FeatureConfig = DEFAULT_CONFIG
    debit_times: list[int] = field(default_factory=list)
    """The customer's debits, sorted by time (µs), with parallel amount (cents), amount²
    and flags (bit 0: online)."""
    debit_cents: list[int] = field(default_factory=list)
    debit_squares: list[int] = field(default_factory=list)
    debit_flags: list[int] = field(default_factory=list)
    login_times: list[int] = field(default_factory=list)
    """Successful logins, sorted, with their devices."""
    login_devices: list[str | None] = field(default_factory=list)
    failed_login_times: list[int] = field(default_factory=list)
    contact_change_times: list[int] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)
    """Each device's first sighting (transaction, login or ``customer.device_seen``)."""
    channels: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    """Each reported transaction and when the bank first learned it was fraud."""
    cards: dict[str, CardState] = field(default_factory=dict)
    newest: int = 0

    def fold(self, event: Event) -> None:
        """Fold one of the customer's events; types the features do not use are ignored."""
        payload = event.payload
        at = to_micros(event.occurred_at)
        if isinstance(payload, TransactionPosted):
            self._fold_transaction(payload, at)
        elif isinstance(payload, CustomerLogin):
            if payload.device_id is not None:
                _first_seen(self.devices, payload.device_id, at)
            if payload.outcome is LoginOutcome.SUCCEEDED:
                index = insertion_index(self.login_times, at)
                self.login_times.insert(index, at)
                self.login_devices.insert(index, payload.device_id)
            elif payload.outcome in _FAILED_OUTCOMES:
                self.failed_login_times.insert(insertion_index(self.failed_login_times, at), at)
        elif isinstance(payload, CustomerDeviceSeen):
            _first_seen(self.devices, payload.device_id, at)
        elif isinstance(payload, CustomerProfileUpdated):
            if not CONTACT_FIELDS.isdisjoint(payload.model_fields_set):
                times = self.contact_change_times
                times.insert(insertion_index(times, at), at)
        elif isinstance(payload, FraudReported):
            _first_seen(self.reports, payload.transaction_id, at)
        else:
            return
        if at > self.newest:
            self.newest = at
            self._evict(at)

    def _fold_transaction(self, payload: TransactionPosted, at: int) -> None:
        _first_seen(self.channels, payload.channel, at)
        if payload.location is not None:
            _first_seen(self.countries, payload.location.country, at)
        if payload.device_id is not None:
            _first_seen(self.devices, payload.device_id, at)
        if payload.direction is not Direction.DEBIT:
            return
        cents = _cents(payload)
        index = insertion_index(self.debit_times, at)
        self.debit_times.insert(index, at)
        self.debit_cents.insert(index, cents)
        self.debit_squares.insert(index, cents * cents)
        self.debit_flags.insert(index, _ONLINE if payload.channel in ONLINE_CHANNELS else 0)
        if payload.card_token is not None:
            card = self.cards.get(payload.card_token)
            if card is None:
                card = self.cards[payload.card_token] = CardState()
            card.fold(payload, at, cents, self.config.max_lateness)

    def _evict(self, at: int) -> None:
        horizon = at - MAX_WINDOW - self.config.max_lateness
        _trim(self.debit_times, horizon, self.debit_cents, self.debit_squares, self.debit_flags)
        horizon = at - DAY - self.config.max_lateness
        _trim(self.login_times, horizon, self.login_devices)
        _trim(self.failed_login_times, horizon)
        _trim(self.contact_change_times, horizon)


def features_at(state: CustomerState, event: Event, entities: EntityBook | None = None) -> Features:
    """The features of a ``transaction.posted`` as of its ``occurredAt``.

    Args:
        state: the customer's state; whether the transaction itself is folded yet does not
            matter (only events strictly before it count).
        event: the transaction.
        entities: terminal, merchant and category state; without it those features are 0.

    Returns:
        Every feature of ``docs/fraud.md``, by name: ints, floats and bools, never ``None``.
    """
    payload = event.payload
    if not isinstance(payload, TransactionPosted):
        raise TypeError(f"features are computed for transaction.posted, not {event.type}")
    at = to_micros(event.occurred_at)
    cents = _cents(payload)
    amount = cents / 100
    times = state.debit_times
    end = bisect_left(times, at)
    start_1h = bisect_left(times, at - HOUR, 0, end)
    start_1d = bisect_left(times, at - DAY, 0, start_1h)
    start_7d = bisect_left(times, at - 7 * DAY, 0, start_1d)
    start_30d = bisect_left(times, at - 30 * DAY, 0, start_7d)
    debit_cents = state.debit_cents
    count_1d, count_7d, count_30d = end - start_1d, end - start_7d, end - start_30d
    sum_30d = sum(debit_cents[start_30d:end])
    mean_30d = sum_30d / count_30d / 100 if count_30d else 0.0
    zscore = 0.0
    if count_30d >= 2:
        # n² · variance in cents², exact in integers.
        spread = count_30d * sum(state.debit_squares[start_30d:end]) - sum_30d * sum_30d
        if spread > 0:
            zscore = (cents * count_30d - sum_30d) / sqrt(spread)
    flags = state.debit_flags
    tiny = 0
    for index in range(start_1h, end):
        if flags[index] & _ONLINE and debit_cents[index] < TINY_CENTS:
            tiny += 1
    seconds = at // SECOND
    delay = state.config.label_delay
    known_by = at - delay
    features: Features = {
        "cust_txn_count_1h": end - start_1h,
        "cust_txn_count_1d": count_1d,
        "cust_txn_count_7d": count_7d,
        "cust_txn_count_30d": count_30d,
        "cust_amount_mean_1d": sum(debit_cents[start_1d:end]) / count_1d / 100 if count_1d else 0.0,
        "cust_amount_mean_7d": sum(debit_cents[start_7d:end]) / count_7d / 100 if count_7d else 0.0,
        "cust_amount_mean_30d": mean_30d,
        "amount": amount,
        "amount_to_cust_mean_30d": amount / mean_30d if count_30d else 0.0,
        "amount_zscore_30d": zscore,
        "seconds_since_prev_txn": (at - times[end - 1]) / SECOND if end else -1.0,
        "is_new_device": payload.device_id is not None
        and state.devices.get(payload.device_id, at) >= at,
        "is_new_channel": state.channels.get(payload.channel, at) >= at,
        "is_new_country": payload.location is not None
        and state.countries.get(payload.location.country, at) >= at,
        "is_night": seconds // 3600 % 24 < 6,
        "is_weekend": (seconds // 86400 + 3) % 7 >= 5,  # 1970-01-01 was a Thursday
        "is_online": payload.channel in ONLINE_CHANNELS,
        "new_device_login_24h": _new_device_login(state, at),
        "contact_change_24h": _any_between(state.contact_change_times, at - DAY, at),
        "failed_logins_24h": bisect_left(state.failed_login_times, at)
        - bisect_left(state.failed_login_times, at - DAY),
        "tiny_online_count_1h": tiny,
        "cust_fraud_reports_known": sum(1 for k in state.reports.values() if k <= known_by),
    }
    card = state.cards.get(payload.card_token) if payload.card_token is not None else None
    if card is None:
        features.update(_NO_CARD)
    else:
        _card_features(card, payload, at, features)
    if entities is None:
        features.update(NO_ENTITY_FEATURES)
    else:
        features.update(
            entities.features(at, payload.terminal_id, payload.merchant, payload.merchant_category)
        )
    return features


def _any_between(times: list[int], start: int, end: int) -> bool:
    index = bisect_left(times, start)
    return index < len(times) and times[index] < end


def _new_device_login(state: CustomerState, at: int) -> bool:
    """A successful login in the 24 h before ``at`` from a device first seen in those 24 h."""
    times = state.login_times
    since = at - DAY
    devices = state.devices
    for index in range(bisect_left(times, since), bisect_left(times, at)):
        device = state.login_devices[index]
        # The device's first sighting is at or before this login, so before ``at``: later
        # events cannot move it.
        if device is not None and devices[device] >= since:
            return True
    return False


def _card_features(
    card: CardState, payload: TransactionPosted, at: int, features: Features
) -> None:
    times = card.times
    end = bisect_left(times, at)
    start_1h = bisect_left(times, at - HOUR, 0, end)
    start_1d = bisect_left(times, at - DAY, 0, start_1h)
    start_7d = bisect_left(times, at - CARD_WINDOW, 0, start_1d)
    count_7d = end - start_7d
    distance = speed = -1.0
    location = payload.location
    if (
        location is not None
        and location.latitude is not None
        and location.longitude is not None
        and payload.channel in CARD_PRESENT_CHANNELS
    ):
        previous = bisect_left(card.place_times, at) - 1
        if previous >= 0 and card.place_times[previous] >= at - CARD_WINDOW:
            distance = haversine_km(
                card.place_lat[previous],
                card.place_lon[previous],
                location.latitude,
                location.longitude,
            )
            speed = distance / ((at - card.place_times[previous]) / _MICROS_PER_HOUR)
    countries = {c for c in card.countries[start_1d:end] if c is not None}
    features["card_txn_count_1h"] = end - start_1h
    features["card_txn_count_1d"] = end - start_1d
    features["card_txn_count_7d"] = count_7d
    features["card_amount_mean_7d"] = (
        sum(card.cents[start_7d:end]) / count_7d / 100 if count_7d else 0.0
    )
    features["card_distance_km_prev"] = distance
    features["card_speed_kmh_prev"] = speed
    features["card_countries_1d"] = len(countries)


_NO_CARD: Final[Features] = {
    "card_txn_count_1h": 0,
    "card_txn_count_1d": 0,
    "card_txn_count_7d": 0,
    "card_amount_mean_7d": 0.0,
    "card_distance_km_prev": -1.0,
    "card_speed_kmh_prev": -1.0,
    "card_countries_1d": 0,
}
