"""The features of every debit of a history at once, in columns: the fast path over history.

The live engine folds event by event and asks :func:`~banktwin.fraud.features.features_at`
about each debit as it comes. Over a history known in full (training, the rules backtest,
the fraud benchmark) the same features can be computed for every debit at once: each series
(a customer's debits, a card's, a terminal's frauds …) is sorted by owner and time, and every
window of every debit is answered by binary searches over arrays (numpy) instead of a Python
call per event and per window. It is several times faster and gives the same numbers:
``tests/unit/fraud/test_columnar.py`` checks, on generated histories and on the simulator's
bank, that every feature of every debit equals ``features_at``'s, bit for bit.

**The one difference.** The streaming state drops what is older than its windows plus
``max_lateness`` behind the newest event it has folded, so a transaction arriving later than
that may miss state. Here nothing is dropped: for such a transaction this path gives the
exact features, the streaming one an approximation. Histories within the lateness bound (the
simulator's, any log read in time order) are equal.

**How a window is counted.** :class:`_Grouped` holds a series sorted by (owner, value) and
answers "how many of owner g's values are below b" for arrays of (g, b) with one
``searchsorted``; values are replaced by their rank among the series' distinct values, so
the (owner, rank) keys fit in 64 bits whatever the span of time. A windowed count is the
difference of two such positions, a windowed sum the difference of a prefix sum. The
delayed-window entity risk (frauds in ``[c - w, c)`` known by ``c``) turns the question
around: each known fraud adds one to the contiguous run of queries (sorted by ``c``) it
counts for, a difference array summed once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from math import sqrt
from typing import Final, TypeVar

import numpy as np

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import Direction, TransactionPosted
from banktwin.domain.payloads.customer import (
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    LoginOutcome,
)
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.features import (
    CARD_PRESENT_CHANNELS,
    CARD_WINDOW,
    CONTACT_FIELDS,
    ONLINE_CHANNELS,
    TINY_CENTS,
    Features,
)
from banktwin.fraud.geo import haversine_km
from banktwin.fraud.windows import (
    DAY,
    DEFAULT_CONFIG,
    EPOCH,
    HOUR,
    MICROSECOND,
    SECOND,
    FeatureConfig,
    to_micros,
)

_COLUMN: Final = {name: index for index, name in enumerate(FEATURE_NAMES)}
_FAILED_OUTCOMES: Final = frozenset({LoginOutcome.FAILED, LoginOutcome.LOCKED})
_NONE: Final = -1
K = TypeVar("K")


@dataclass(frozen=True)
class DebitFeatures:
    """Every debit of a history with its features as of its own time."""

    positions: np.ndarray
    """Each debit's index in the events given, in their order (int64)."""
    matrix: np.ndarray
    """One row per debit, one float64 column per feature of ``FEATURE_NAMES`` (flags 0/1)."""
    transaction_ids: list[str]
    times: list[int]
    """Each debit's ``occurredAt`` in µs."""
    instruments: list[str]
    """Each debit's card token, or its customer's id without a card (what card precision
    ranks)."""

    def __len__(self) -> int:
        return len(self.positions)

    def features(self, row: int) -> Features:
        """Row ``row`` as a mapping by feature name (every value a float: the rules convert
        counts and flags as they read them)."""
        return dict(zip(FEATURE_NAMES, self.matrix[row].tolist(), strict=True))


class _Grouped:
    """Values sorted within owners; counts below bounds for many (owner, bound) at once.

    Keys are ``owner * width + offset``: the value's offset from the smallest one when every
    owner's span fits in 64 bits (the usual case: 2,000 owners over 60 years), else its rank
    among the distinct values (any span, one more binary search per query)."""

    def __init__(self, owners: np.ndarray, values: np.ndarray) -> None:
        self.order = np.lexsort((values, owners))
        self.low = int(values.min()) if len(values) else 0
        span = int(values.max()) - self.low + 2 if len(values) else 1
        self.distinct: np.ndarray | None = None
        if (int(owners.max()) + 1 if len(owners) else 1) * span < 2**62:
            self.width = span
            offsets = values[self.order] - self.low
        else:
            self.distinct = np.unique(values)
            self.width = len(self.distinct) + 1
            offsets = np.searchsorted(self.distinct, values[self.order])
        self.keys = owners[self.order] * self.width + offsets

    def below(self, owners: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """For each (owner, bound): the index, in sorted order, of the owner's first value
        that is not below ``bound`` (``bisect_left`` within the owner's run)."""
        if self.distinct is None:
            offsets = np.clip(bounds, self.low, self.low + self.width - 1) - self.low
        else:
            offsets = np.searchsorted(self.distinct, bounds)
        return np.asarray(np.searchsorted(self.keys, owners * self.width + offsets))

    def first(self, owners: np.ndarray) -> np.ndarray:
        """For each owner: the index, in sorted order, of its first value."""
        return np.searchsorted(self.keys, owners * self.width)

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """A column parallel to the series, in the series' sorted order."""
        return values[self.order]


def _prefix(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading 0: ``sum(values[a:b]) == out[b] - out[a]``."""
    out = np.zeros(len(values) + 1, dtype=values.dtype)
    np.cumsum(values, out=out[1:])
    return out


def _ints(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@dataclass
class _Columns:
    """One pass over the events, into plain lists."""

    # debits (scored): parallel lists
    position: list[int] = field(default_factory=list)
    transaction_id: list[str] = field(default_factory=list)
    instrument: list[str] = field(default_factory=list)
    customer: list[int] = field(default_factory=list)
    at: list[int] = field(default_factory=list)
    cents: list[int] = field(default_factory=list)
    online: list[bool] = field(default_factory=list)
    card: list[int] = field(default_factory=list)
    place: list[bool] = field(default_factory=list)
    """card present with coordinates"""
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    country: list[str | None] = field(default_factory=list)
    new_device: list[bool] = field(default_factory=list)
    new_channel: list[bool] = field(default_factory=list)
    new_country: list[bool] = field(default_factory=list)
    terminal: list[int] = field(default_factory=list)
    merchant: list[int] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    # the events the other features read
    login_customer: list[int] = field(default_factory=list)
    login_at: list[int] = field(default_factory=list)
    login_device: list[str | None] = field(default_factory=list)
    failed_customer: list[int] = field(default_factory=list)
    failed_at: list[int] = field(default_factory=list)
    contact_customer: list[int] = field(default_factory=list)
    contact_at: list[int] = field(default_factory=list)
    devices_first_seen: dict[tuple[int, str], int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    """Each reported transaction: when the bank first learned it (across customers)."""
    customer_reports: dict[tuple[int, str], int] = field(default_factory=dict)
    routes: dict[tuple[str, int, int, int, int], None] = field(default_factory=dict)
    """Distinct (transaction id, time, terminal, merchant, category): what entities count."""


def _read(events: Iterable[Event]) -> _Columns:
    """One pass: each debit as a row of plain values, the rest into their series.

    The loop is the only per-event Python of this path, so it is written for speed: ids and
    first sightings through local dicts, one tuple per debit transposed at the end."""
    cols = _Columns()
    customers: dict[str, int] = {}
    cards: dict[tuple[int, str], int] = {}
    terminals: dict[str, int] = {}
    merchants: dict[str, int] = {}
    categories: dict[str, int] = {}
    devices = cols.devices_first_seen
    channels: dict[tuple[int, str], int] = {}
    countries: dict[tuple[int, str], int] = {}
    routes = cols.routes
    debits: list[tuple] = []  # type: ignore[type-arg]
    keys: list[tuple[int, str | None, str, str | None]] = []
    debit, epoch, micro = Direction.DEBIT, EPOCH, MICROSECOND
    for position, event in enumerate(events):
        payload = event.payload
        if isinstance(payload, TransactionPosted):
            at = (event.occurred_at - epoch) // micro
            customer = customers.setdefault(event.subject_id, len(customers))
            channel = payload.channel
            location = payload.location
            device = payload.device_id
            _first(channels, (customer, str(channel)), at)
            country = None if location is None else location.country
            if country is not None:
                _first(countries, (customer, country), at)
            if device is not None:
                _first(devices, (customer, device), at)
            terminal = _id(terminals, payload.terminal_id)
            merchant = _id(merchants, payload.merchant)
            category = _id(categories, payload.merchant_category)
            routes[(payload.transaction_id, at, terminal, merchant, category)] = None
            if payload.direction is not debit:
                continue
            token = payload.card_token
            card = _NONE if token is None else cards.setdefault((customer, token), len(cards))
            place = (
                location is not None
                and location.latitude is not None
                and location.longitude is not None
                and channel in CARD_PRESENT_CHANNELS
            )
            debits.append(
                (
                    position,
                    payload.transaction_id,
                    event.subject_id if token is None else token,
                    customer,
                    at,
                    int(payload.amount.scaleb(2)),
                    channel in ONLINE_CHANNELS,
                    card,
                    place,
                    location.latitude if place else 0.0,  # type: ignore[union-attr]
                    location.longitude if place else 0.0,  # type: ignore[union-attr]
                    country,
                    terminal,
                    merchant,
                    category,
                )
            )
            keys.append((customer, device, str(channel), country))
        elif isinstance(payload, CustomerLogin):
            at = (event.occurred_at - epoch) // micro
            customer = customers.setdefault(event.subject_id, len(customers))
            if payload.device_id is not None:
                _first(devices, (customer, payload.device_id), at)
            if payload.outcome is LoginOutcome.SUCCEEDED:
                cols.login_customer.append(customer)
                cols.login_at.append(at)
                cols.login_device.append(payload.device_id)
            elif payload.outcome in _FAILED_OUTCOMES:
                cols.failed_customer.append(customer)
                cols.failed_at.append(at)
        elif isinstance(payload, CustomerDeviceSeen):
            customer = customers.setdefault(event.subject_id, len(customers))
            _first(devices, (customer, payload.device_id), to_micros(event.occurred_at))
        elif isinstance(payload, CustomerProfileUpdated):
            if not CONTACT_FIELDS.isdisjoint(payload.model_fields_set):
                cols.contact_customer.append(customers.setdefault(event.subject_id, len(customers)))
                cols.contact_at.append(to_micros(event.occurred_at))
        elif isinstance(payload, FraudReported):
            at = to_micros(event.occurred_at)
            customer = customers.setdefault(event.subject_id, len(customers))
            _first(cols.reports, payload.transaction_id, at)
            _first(cols.customer_reports, (customer, payload.transaction_id), at)
    if debits:
        (
            cols.position,
            cols.transaction_id,
            cols.instrument,
            cols.customer,
            cols.at,
            cols.cents,
            cols.online,
            cols.card,
            cols.place,
            cols.lat,
            cols.lon,
            cols.country,
            cols.terminal,
            cols.merchant,
            cols.category,
        ) = (list(column) for column in zip(*debits, strict=True))
    # A first sighting at or after the debit's own time means new (nothing before it).
    for (customer, device, used, country), at in zip(keys, cols.at, strict=True):
        cols.new_device.append(device is not None and devices[(customer, device)] >= at)
        cols.new_channel.append(channels[(customer, used)] >= at)
        cols.new_country.append(country is not None and countries[(customer, country)] >= at)
    return cols


def _first(seen: dict[K, int], key: K, at: int) -> None:
    """Keep the earliest time of ``key``."""
    earlier = seen.get(key)
    if earlier is None or at < earlier:
        seen[key] = at


def _id(ids: dict[str, int], key: str | None) -> int:
    """A small dense int for ``key`` (``_NONE`` for no key)."""
    return _NONE if key is None else ids.setdefault(key, len(ids))


def history_features(
    events: Iterable[Event], config: FeatureConfig = DEFAULT_CONFIG
) -> DebitFeatures:
    """The features of every debit in ``events``, each as of its own ``occurredAt``: what
    :func:`~banktwin.fraud.features.features_at` gives for it with the whole history folded
    (see the module for the one difference)."""
    cols = _read(events)
    n = len(cols.position)
    matrix = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    if n:
        at = _ints(cols.at)
        customer = _ints(cols.customer)
        cents = _ints(cols.cents)
        _customer_windows(matrix, customer, at, cents, np.asarray(cols.online, dtype=bool))
        _customer_signals(matrix, cols, customer, at, config)
        _card_features(matrix, cols, at, cents)
        _entity_features(matrix, cols, at, config)
        seconds = at // SECOND
        matrix[:, _COLUMN["amount"]] = cents / 100
        matrix[:, _COLUMN["is_night"]] = seconds // 3600 % 24 < 6
        matrix[:, _COLUMN["is_weekend"]] = (seconds // 86400 + 3) % 7 >= 5
        matrix[:, _COLUMN["is_online"]] = cols.online
        matrix[:, _COLUMN["is_new_device"]] = cols.new_device
        matrix[:, _COLUMN["is_new_channel"]] = cols.new_channel
        matrix[:, _COLUMN["is_new_country"]] = cols.new_country
        amount = matrix[:, _COLUMN["amount"]]
        mean = matrix[:, _COLUMN["cust_amount_mean_30d"]]
        ratio = np.zeros(n)
        counted = matrix[:, _COLUMN["cust_txn_count_30d"]] > 0
        ratio[counted] = amount[counted] / mean[counted]
        matrix[:, _COLUMN["amount_to_cust_mean_30d"]] = ratio
    return DebitFeatures(
        _ints(cols.position), matrix, cols.transaction_id, cols.at, cols.instrument
    )


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``total / count / 100`` where ``count`` > 0, else 0.0 (as the streaming code divides:
    int by int, then by 100; exact while totals stay below 2**53 cents)."""
    out = np.zeros(len(count))
    some = count > 0
    out[some] = total[some] / count[some] / 100
    return out


def _customer_windows(
    matrix: np.ndarray, customer: np.ndarray, at: np.ndarray, cents: np.ndarray, online: np.ndarray
) -> None:
    series = _Grouped(customer, at)
    end = series.below(customer, at)
    start = {w: series.below(customer, at - w) for w in (HOUR, DAY, 7 * DAY, 30 * DAY)}
    sorted_cents = series.sorted(cents)
    sums = _prefix(sorted_cents)
    for name, window in (("1h", HOUR), ("1d", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
        matrix[:, _COLUMN[f"cust_txn_count_{name}"]] = end - start[window]
    for name, window in (("1d", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
        total = sums[end] - sums[start[window]]
        matrix[:, _COLUMN[f"cust_amount_mean_{name}"]] = _mean(total, end - start[window])
    tiny = _prefix((series.sorted(online) & (sorted_cents < TINY_CENTS)).astype(np.int64))
    matrix[:, _COLUMN["tiny_online_count_1h"]] = tiny[end] - tiny[start[HOUR]]
    first = series.first(customer)
    has_previous = end > first
    sorted_at = series.sorted(at)
    seconds = np.full(len(at), -1.0)
    seconds[has_previous] = (at[has_previous] - sorted_at[end[has_previous] - 1]) / SECOND
    matrix[:, _COLUMN["seconds_since_prev_txn"]] = seconds
    _zscores(matrix, series, customer, end, start[30 * DAY], cents)


def _zscores(
    matrix: np.ndarray,
    series: _Grouped,
    customer: np.ndarray,
    end: np.ndarray,
    start: np.ndarray,
    cents: np.ndarray,
) -> None:
    """The 30-day z-score in exact integers, as the streaming code computes it (squares of
    cents overflow 64 bits over a long history, so Python ints, only where a row has two
    debits or more before it)."""
    count = end - start
    rows = np.flatnonzero(count >= 2)
    zscore = np.zeros(len(customer))
    if len(rows):
        sorted_cents = series.sorted(cents).tolist()
        squares = _prefix(np.asarray([c * c for c in sorted_cents], dtype=object))
        sums = _prefix(np.asarray(sorted_cents, dtype=object))
        for row in rows.tolist():
            a, b, n = int(start[row]), int(end[row]), int(count[row])
            total = sums[b] - sums[a]
            spread = n * (squares[b] - squares[a]) - total * total
            if spread > 0:
                zscore[row] = (int(cents[row]) * n - total) / sqrt(spread)
    matrix[:, _COLUMN["amount_zscore_30d"]] = zscore


def _customer_signals(
    matrix: np.ndarray, cols: _Columns, customer: np.ndarray, at: np.ndarray, config: FeatureConfig
) -> None:
    """Logins, contact changes and the customer's own fraud reports."""
    day_ago = at - DAY
    failed = _Grouped(_ints(cols.failed_customer), _ints(cols.failed_at))
    matrix[:, _COLUMN["failed_logins_24h"]] = failed.below(customer, at) - failed.below(
        customer, day_ago
    )
    contact = _Grouped(_ints(cols.contact_customer), _ints(cols.contact_at))
    matrix[:, _COLUMN["contact_change_24h"]] = (
        contact.below(customer, at) - contact.below(customer, day_ago)
    ) > 0
    # A login in [at - 1 day, at) from a device first seen at or after at - 1 day: the
    # latest first sighting among the window's logins decides.
    logins = _Grouped(_ints(cols.login_customer), _ints(cols.login_at))
    first_seen = np.asarray(
        [
            -(2**62) if d is None else cols.devices_first_seen[(c, d)]
            for c, d in zip(cols.login_customer, cols.login_device, strict=True)
        ],
        dtype=np.int64,
    )
    if len(first_seen):
        newest = _window_max(
            logins.sorted(first_seen), logins.below(customer, day_ago), logins.below(customer, at)
        )
        matrix[:, _COLUMN["new_device_login_24h"]] = newest >= day_ago
    reports = list(cols.customer_reports.items())
    known = _Grouped(_ints([c for (c, _), _ in reports]), _ints([k for _, k in reports]))
    known_by = at - config.label_delay
    counted = known.below(customer, known_by + 1) - known.first(customer)
    matrix[:, _COLUMN["cust_fraud_reports_known"]] = counted


def _window_max(values: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``max(values[start[i]:end[i]])`` per row; the minimum int64 for an empty window."""
    out = np.full(len(start), np.iinfo(np.int64).min, dtype=np.int64)
    some = start < end
    if some.any():
        padded = np.append(values, np.iinfo(np.int64).min)
        bounds = np.empty(2 * int(some.sum()), dtype=np.int64)
        bounds[0::2], bounds[1::2] = start[some], end[some]
        out[some] = np.maximum.reduceat(padded, bounds)[0::2]
    return out


def _card_features(matrix: np.ndarray, cols: _Columns, at: np.ndarray, cents: np.ndarray) -> None:
    card = _ints(cols.card)
    carded = np.flatnonzero(card != _NONE)
    for name, value in (("card_distance_km_prev", -1.0), ("card_speed_kmh_prev", -1.0)):
        matrix[:, _COLUMN[name]] = value
    if not len(carded):
        return
    card, when, amount = card[carded], at[carded], cents[carded]
    series = _Grouped(card, when)
    end = series.below(card, when)
    start_1h, start_1d, start_7d = (series.below(card, when - w) for w in (HOUR, DAY, CARD_WINDOW))
    sums = _prefix(series.sorted(amount))
    matrix[carded, _COLUMN["card_txn_count_1h"]] = end - start_1h
    matrix[carded, _COLUMN["card_txn_count_1d"]] = end - start_1d
    matrix[carded, _COLUMN["card_txn_count_7d"]] = end - start_7d
    matrix[carded, _COLUMN["card_amount_mean_7d"]] = _mean(
        sums[end] - sums[start_7d], end - start_7d
    )
    countries = [cols.country[i] for i in series.sorted(carded).tolist()]
    distinct = np.zeros(len(carded))
    for row in np.flatnonzero(end > start_1d).tolist():
        distinct[row] = len({c for c in countries[start_1d[row] : end[row]] if c is not None})
    matrix[carded, _COLUMN["card_countries_1d"]] = distinct
    _travel(matrix, cols, carded, card, when)


def _travel(
    matrix: np.ndarray, cols: _Columns, carded: np.ndarray, card: np.ndarray, when: np.ndarray
) -> None:
    """Distance and speed from the card's previous card-present position in its 7 days
    (computed with the streaming code's own haversine, so the floats are the same)."""
    place = np.asarray(cols.place, dtype=bool)[carded]
    if not place.any():
        return
    places = _Grouped(card[place], when[place])
    previous = places.below(card, when) - 1
    first = places.first(card)
    place_times = places.sorted(when[place])
    rows = np.flatnonzero(place & (previous >= first))
    rows = rows[place_times[previous[rows]] >= when[rows] - CARD_WINDOW]
    if not len(rows):
        return
    place_rows = places.sorted(carded[place])
    lat, lon = cols.lat, cols.lon
    for row in rows.tolist():
        debit = int(carded[row])
        before = int(place_rows[previous[row]])
        distance = haversine_km(lat[before], lon[before], lat[debit], lon[debit])
        hours = (int(when[row]) - int(place_times[previous[row]])) / float(HOUR)
        matrix[debit, _COLUMN["card_distance_km_prev"]] = distance
        matrix[debit, _COLUMN["card_speed_kmh_prev"]] = distance / hours


def _entity_features(
    matrix: np.ndarray, cols: _Columns, at: np.ndarray, config: FeatureConfig
) -> None:
    """Terminal counts and the delayed-window risk of terminals, merchants and categories."""
    routes = list(cols.routes)
    route_at = _ints([r[1] for r in routes])
    reported = [(i, cols.reports.get(r[0])) for i, r in enumerate(routes)]
    frauds = [(i, known) for i, known in reported if known is not None]
    fraud_routes = _ints([i for i, _ in frauds])
    fraud_known = _ints([k for _, k in frauds])
    cutoff = at - config.label_delay
    plan = (
        (cols.terminal, 2, (("1d", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)), "terminal"),
        (cols.merchant, 3, (("30d", 30 * DAY),), "merchant"),
        (cols.category, 4, (("30d", 30 * DAY),), "category"),
    )
    for debit_entities, field_index, windows, kind in plan:
        entity = _ints(debit_entities)
        owners = _ints([r[field_index] for r in routes])  # type: ignore[misc]
        has = owners != _NONE
        txns = _Grouped(owners[has], route_at[has])
        rows = np.flatnonzero(entity != _NONE)
        mine, when, cut = entity[rows], at[rows], cutoff[rows]
        # A transaction id reported once is one fraud per (entity, time), known at the
        # earliest report, whatever routes it had.
        fraud_owner = owners[fraud_routes]
        fraud_at = route_at[fraud_routes]
        keep = fraud_owner != _NONE
        fraud_ids = [routes[i][0] for i in fraud_routes[keep].tolist()]
        distinct: dict[tuple[int, int, str], int] = {}
        for o, t, tid, k in zip(
            fraud_owner[keep].tolist(),
            fraud_at[keep].tolist(),
            fraud_ids,
            fraud_known[keep].tolist(),
            strict=True,
        ):
            _first(distinct, (o, t, tid), k)
        f_owner = _ints([o for o, _, _ in distinct])
        f_at = _ints([t for _, t, _ in distinct])
        f_known = _ints(list(distinct.values()))
        for name, window in windows:
            if kind == "terminal":
                counts = txns.below(mine, when) - txns.below(mine, when - window)
                matrix[rows, _COLUMN[f"terminal_txn_count_{name}"]] = counts
            total = txns.below(mine, cut) - txns.below(mine, cut - window)
            known = _known_frauds(mine, cut, window, f_owner, f_at, f_known)
            risk = np.zeros(len(rows))
            some = total > 0
            risk[some] = known[some] / total[some]
            matrix[rows, _COLUMN[f"{kind}_risk_{name}"]] = risk


def _known_frauds(
    owner: np.ndarray,
    cutoff: np.ndarray,
    window: int,
    fraud_owner: np.ndarray,
    fraud_at: np.ndarray,
    fraud_known: np.ndarray,
) -> np.ndarray:
    """Per query (owner, c): the owner's frauds at a time in ``[c - window, c)`` known by
    ``c``. A fraud at t known at k counts for the queries of its owner with
    ``max(t + 1, k) <= c <= t + window``: a run of the queries sorted by (owner, c)."""
    counts = np.zeros(len(owner) + 1, dtype=np.int64)
    if len(fraud_owner) and len(owner):
        queries = _Grouped(owner, cutoff)
        low = queries.below(fraud_owner, np.maximum(fraud_at + 1, fraud_known))
        high = queries.below(fraud_owner, fraud_at + window + 1)
        run = low < high
        np.add.at(counts, low[run], 1)
        np.add.at(counts, high[run], -1)
    out = np.empty(len(owner), dtype=np.int64)
    if len(owner):
        out[queries.order if len(fraud_owner) else np.arange(len(owner))] = np.cumsum(counts[:-1])
    return out
