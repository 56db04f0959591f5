"""Streaming fraud features: hand-computed values, leak-freedom and arrival-order invariance."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banktwin.domain.events import Event
from banktwin.fraud.entities import EntityBook
from banktwin.fraud.feature_names import FEATURE_KINDS, FEATURE_NAMES
from banktwin.fraud.features import CustomerState, features_at
from banktwin.fraud.geo import haversine_km
from banktwin.fraud.windows import DAY, FeatureConfig
from tests.factories import T0, event

CUSTOMER = "c1"
MONDAY_NOON = T0.replace(hour=12)  # 2025-09-15 is a Monday


def txn(
    at: datetime,
    amount: str = "10.00",
    *,
    txn_id: str | None = None,
    channel: str = "card_present",
    direction: str = "debit",
    card: str | None = "tok_card_0001",
    device: str | None = None,
    country: str = "DE",
    lat: float | None = None,
    lon: float | None = None,
    terminal: str | None = "TERM1",
    merchant: str | None = "Corner Grocery",
    category: str | None = "5411",
) -> Event:
    location: dict[str, Any] = {"country": country}
    if lat is not None:
        location |= {"latitude": lat, "longitude": lon}
    payload: dict[str, Any] = {
        "transactionId": txn_id or f"TX{at.timestamp():.0f}{amount.replace('.', '')}",
        "accountId": "ACC1",
        "amount": amount,
        "currency": "EUR",
        "direction": direction,
        "channel": channel,
        "location": location,
    }
    optional = {
        "cardToken": card,
        "deviceId": device,
        "terminalId": terminal,
        "merchant": merchant,
        "merchantCategory": category,
    }
    payload |= {key: value for key, value in optional.items() if value is not None}
    return event("transaction.posted", CUSTOMER, payload, at=at)


def login(at: datetime, device: str | None, outcome: str = "succeeded") -> Event:
    payload: dict[str, Any] = {"channel": "mobile", "outcome": outcome}
    if device is not None:
        payload["deviceId"] = device
    return event("customer.login", CUSTOMER, payload, at=at)


def report(known_at: datetime, txn_id: str) -> Event:
    payload = {"transactionId": txn_id, "accountId": "ACC1", "kind": "dispute"}
    return event("fraud.reported", CUSTOMER, payload, at=known_at)


def score(
    events: list[Event], target: Event, config: FeatureConfig | None = None
) -> dict[str, Any]:
    state = CustomerState(config or FeatureConfig())
    book = EntityBook(config or FeatureConfig())
    for each in events:
        state.fold(each)
        book.fold(each)
    return features_at(state, target, book)


H = timedelta(hours=1)
D = timedelta(days=1)


def test_features_match_the_rules_contract_in_names_and_kinds() -> None:
    features = score([], txn(MONDAY_NOON))
    assert tuple(features) == FEATURE_NAMES
    python_type = {"count": int, "double": float, "flag": bool}
    for name, value in features.items():
        assert type(value) is python_type[FEATURE_KINDS[name]], name


def test_a_first_transaction_has_empty_windows_and_sentinels() -> None:
    features = score([], txn(MONDAY_NOON, "12.34", card=None, terminal=None))
    assert features["amount"] == 12.34
    assert features["seconds_since_prev_txn"] == -1.0
    assert features["cust_txn_count_30d"] == 0
    assert features["amount_to_cust_mean_30d"] == 0.0
    assert features["card_distance_km_prev"] == -1.0
    assert features["card_speed_kmh_prev"] == -1.0
    assert features["is_new_channel"] and features["is_new_country"]
    assert not features["is_new_device"]  # no device on the transaction


def test_customer_windows_count_and_average_the_debits_before_t() -> None:
    t = MONDAY_NOON
    past = [
        txn(t - 30 * D - H, "999.00"),  # outside 30 d
        txn(t - 20 * D, "40.00"),
        txn(t - 3 * D, "20.00"),
        txn(t - 2 * H, "30.00"),
        txn(t - 30 * timedelta(minutes=1), "10.00"),
        txn(t - 10 * timedelta(minutes=1), "500.00", direction="credit"),  # not a debit
        txn(t, "7.00", txn_id="TXSAME"),  # same instant: not before t
        txn(t + H, "1000.00"),  # after t
    ]
    features = score(past, txn(t, "50.00"))
    assert features["cust_txn_count_1h"] == 1
    assert features["cust_txn_count_1d"] == 2
    assert features["cust_txn_count_7d"] == 3
    assert features["cust_txn_count_30d"] == 4
    assert features["cust_amount_mean_1d"] == 20.0
    assert features["cust_amount_mean_7d"] == 20.0
    assert features["cust_amount_mean_30d"] == 25.0
    assert features["amount_to_cust_mean_30d"] == 2.0
    # population std of 40, 20, 30, 10 is sqrt(125); (50 - 25) / sqrt(125)
    assert math.isclose(features["amount_zscore_30d"], 25 / math.sqrt(125))
    assert features["seconds_since_prev_txn"] == 1800.0


def test_zscore_is_zero_when_the_amounts_do_not_vary() -> None:
    t = MONDAY_NOON
    features = score([txn(t - 2 * H, "10.00"), txn(t - H, "10.00")], txn(t, "99.00"))
    assert features["amount_zscore_30d"] == 0.0


def test_new_device_channel_and_country_compare_with_first_sightings_before_t() -> None:
    t = MONDAY_NOON
    past = [
        event("customer.device_seen", CUSTOMER, {"deviceId": "phone-1"}, at=t - D),
        txn(t - H, channel="ecommerce", country="FR"),
        txn(t + H, device="phone-2", channel="atm", country="US"),  # after t: no effect
    ]
    seen = score(past, txn(t, device="phone-1", channel="ecommerce", country="FR"))
    assert not seen["is_new_device"] and not seen["is_new_channel"]
    assert not seen["is_new_country"]
    new = score(past, txn(t, device="phone-2", channel="atm", country="US"))
    assert new["is_new_device"] and new["is_new_channel"] and new["is_new_country"]


def test_time_of_day_week_and_online_channel() -> None:
    saturday_3am = MONDAY_NOON - 2 * D - 9 * H
    features = score([], txn(saturday_3am, channel="ecommerce"))
    assert features["is_night"] and features["is_weekend"] and features["is_online"]
    features = score([], txn(MONDAY_NOON.replace(hour=6), channel="card_present"))
    assert not features["is_night"] and not features["is_weekend"]
    assert not features["is_online"]


def test_login_and_profile_signals_of_the_last_24_hours() -> None:
    t = MONDAY_NOON
    past = [
        event("customer.device_seen", CUSTOMER, {"deviceId": "old"}, at=t - 10 * D),
        login(t - 2 * H, "old"),
        login(t - 3 * H, None, "failed"),
        login(t - 4 * H, None, "locked"),
        login(t - 2 * D, None, "failed"),  # older than 24 h
        event("customer.profile_updated", CUSTOMER, {"name": "J. Doe"}, at=t - H),
    ]
    features = score(past, txn(t))
    assert features["failed_logins_24h"] == 2
    assert not features["new_device_login_24h"]
    assert not features["contact_change_24h"]  # a name is not contact data
    past += [
        login(t - H, "fresh"),
        event("customer.profile_updated", CUSTOMER, {"phone": "+1 555 0199"}, at=t - 5 * H),
    ]
    features = score(past, txn(t))
    assert features["new_device_login_24h"] and features["contact_change_24h"]


def test_a_login_from_a_device_known_for_days_is_not_a_new_device_login() -> None:
    t = MONDAY_NOON
    past = [login(t - 3 * D, "tablet"), login(t - H, "tablet")]
    assert not score(past, txn(t))["new_device_login_24h"]


def test_tiny_online_debits_of_the_last_hour_count_as_card_testing() -> None:
    t = MONDAY_NOON
    past = [
        txn(t - 10 * timedelta(minutes=1), "1.00", channel="ecommerce"),
        txn(t - 20 * timedelta(minutes=1), "4.99", channel="ecommerce"),
        txn(t - 30 * timedelta(minutes=1), "5.00", channel="ecommerce"),  # not under 5.00
        txn(t - 40 * timedelta(minutes=1), "1.00", channel="card_present"),  # not online
        txn(t - 2 * H, "1.00", channel="ecommerce"),  # older than 1 h
    ]
    assert score(past, txn(t, channel="ecommerce"))["tiny_online_count_1h"] == 2


def test_fraud_reports_count_once_known_by_t_minus_the_label_delay() -> None:
    t = MONDAY_NOON
    past = [
        report(t - 10 * D, "TXA"),
        report(t - 9 * D, "TXA"),  # the same transaction again
        report(t - 7 * D, "TXB"),  # exactly at t - delay: known
        report(t - 6 * D, "TXC"),  # not known yet
    ]
    assert score(past, txn(t))["cust_fraud_reports_known"] == 2
    short = FeatureConfig(label_delay=DAY)
    assert score(past, txn(t), short)["cust_fraud_reports_known"] == 3


def test_card_windows_and_impossible_travel() -> None:
    t = MONDAY_NOON
    berlin, paris = (52.52, 13.405), (48.8566, 2.3522)
    past = [
        txn(t - 8 * D, "99.00"),  # outside 7 d
        txn(t - 3 * D, "30.00", country="FR"),
        txn(t - 5 * H, "20.00", country="FR", lat=paris[0], lon=paris[1]),
        txn(t - 2 * H, "10.00", channel="ecommerce", country="US", lat=40.7, lon=-74.0),
        txn(t - 30 * timedelta(minutes=1), "40.00", card="tok_other_card"),
    ]
    features = score(past, txn(t, country="DE", lat=berlin[0], lon=berlin[1]))
    assert features["card_txn_count_1h"] == 0
    assert features["card_txn_count_1d"] == 2
    assert features["card_txn_count_7d"] == 3
    assert features["card_amount_mean_7d"] == 20.0
    assert features["card_countries_1d"] == 2  # FR and US; the card's own DE is at t
    # the previous card-present use with coordinates is Paris (the US one was online)
    distance = haversine_km(*paris, *berlin)
    assert 870 < distance < 890
    assert math.isclose(features["card_distance_km_prev"], distance)
    assert math.isclose(features["card_speed_kmh_prev"], distance / 5)


def test_card_features_without_a_card_are_sentinels() -> None:
    t = MONDAY_NOON
    features = score([txn(t - H)], txn(t, card=None, lat=1.0, lon=1.0))
    assert features["card_txn_count_1d"] == 0
    assert features["card_distance_km_prev"] == -1.0


def test_terminal_counts_and_delayed_risk() -> None:
    t = MONDAY_NOON
    # In the delayed 1 d window [t - 8 d, t - 7 d): four transactions, two reported by t - 7 d
    # and one reported only later; the report known in time but for an older one is outside.
    past = [
        txn(t - 7 * D - 2 * H, txn_id="TX1"),
        txn(t - 7 * D - 3 * H, txn_id="TX2"),
        txn(t - 7 * D - 4 * H, txn_id="TX3"),
        txn(t - 7 * D - 5 * H, txn_id="TX4"),
        txn(t - 20 * D, txn_id="TX5"),
        report(t - 7 * D - H, "TX1"),
        report(t - 7 * D, "TX2"),
        report(t - 6 * D, "TX3"),  # known after t - delay
        report(t - 19 * D, "TX5"),
        txn(t - H, txn_id="TX6"),
        txn(t - 10 * D, txn_id="TX7", terminal="TERM2"),
    ]
    features = score(past, txn(t))
    assert features["terminal_txn_count_1d"] == 1
    assert features["terminal_txn_count_7d"] == 1
    assert features["terminal_txn_count_30d"] == 6  # TX1-5 and TX6
    assert features["terminal_risk_1d"] == 2 / 4
    assert features["terminal_risk_7d"] == 2 / 4
    assert features["terminal_risk_30d"] == 3 / 5
    assert features["merchant_risk_30d"] == 3 / 6  # TX7 is the same merchant
    assert features["category_risk_30d"] == 3 / 6


def test_a_report_before_its_transaction_is_held_until_the_transaction_arrives() -> None:
    t = MONDAY_NOON
    past = [report(t - 7 * D, "TX1"), txn(t - 8 * D, txn_id="TX1"), txn(t - 8 * D, txn_id="TX1")]
    features = score(past, txn(t))
    assert features["terminal_risk_7d"] == 1.0  # the duplicate transaction counts once


def test_a_transaction_id_posted_again_with_other_entities_counts_in_any_order() -> None:
    """Found by the arrival-order property: the first version to arrive used to win."""
    t = MONDAY_NOON
    at_terminal = txn(t - D, txn_id="TX1")
    elsewhere = txn(t - D, txn_id="TX1", terminal=None)
    one_way = score([at_terminal, elsewhere], txn(t))
    assert one_way == score([elsewhere, at_terminal], txn(t))
    assert one_way["terminal_txn_count_7d"] == 1


def test_old_state_is_dropped_beyond_the_window_and_lateness() -> None:
    state = CustomerState()
    for day in range(60):
        state.fold(txn(T0 + day * D, txn_id=f"TX{day}"))
    # kept: 30 days + 1 day of lateness before the newest, both ends included
    assert len(state.debit_times) == 32
    assert len(state.cards["tok_card_0001"].times) == 9


# --- properties ------------------------------------------------------------------------

T = MONDAY_NOON
LENIENT = FeatureConfig(max_lateness=400 * DAY)
"""Nothing is dropped in the property tests: it is lateness that bounds state, not leakage."""

offsets = st.integers(min_value=1, max_value=40 * 24 * 60)  # minutes, up to 40 days
devices = st.sampled_from(["d1", "d2", "d3"])


@st.composite
def an_event(draw: st.DrawFn, sign: int) -> Event:
    """An event before (``sign`` -1) or after (+1) ``T``."""
    at = T + sign * timedelta(minutes=draw(offsets), microseconds=draw(st.integers(0, 999)))
    kind = draw(st.sampled_from(["txn", "txn", "txn", "login", "device", "profile", "report"]))
    if kind == "txn":
        lat = draw(st.none() | st.floats(-60, 60))
        return txn(
            at,
            draw(st.sampled_from(["1.00", "4.50", "20.00", "75.10", "300.00"])),
            txn_id=f"TX{at:%j%H%M%S%f}",
            channel=draw(st.sampled_from(["card_present", "ecommerce", "atm", "transfer"])),
            direction=draw(st.sampled_from(["debit", "debit", "credit"])),
            card=draw(st.sampled_from([None, "tok_card_0001", "tok_card_0002"])),
            device=draw(st.none() | devices),
            country=draw(st.sampled_from(["DE", "FR", "US"])),
            lat=lat,
            lon=None if lat is None else draw(st.floats(-170, 170)),
            terminal=draw(st.sampled_from([None, "TERM1", "TERM2"])),
        )
    if kind == "login":
        outcome = draw(st.sampled_from(["succeeded", "failed", "locked", "challenged"]))
        return login(at, draw(st.none() | devices), outcome)
    if kind == "device":
        return event("customer.device_seen", CUSTOMER, {"deviceId": draw(devices)}, at=at)
    if kind == "profile":
        change = draw(st.sampled_from([{"email": "x@example.com"}, {"name": "Jo"}]))
        return event("customer.profile_updated", CUSTOMER, change, at=at)
    return report(at, "TX-not-seen")


def scored_target() -> Event:
    return txn(T, "42.00", device="d1", channel="card_present", lat=50.0, lon=8.0)


def features_of(events: list[Event]) -> dict[str, Any]:
    return score(events, scored_target(), LENIENT)


def _late_report(txn_event: Event, known: datetime) -> Event:
    return report(known, txn_event.payload.transaction_id)  # type: ignore[attr-defined]


@st.composite
def a_past(draw: st.DrawFn) -> list[Event]:
    """Events before ``T``, with reports of some of its transactions known before ``T``."""
    events = draw(st.lists(an_event(-1), max_size=25))
    transactions = [e for e in events if e.type == "transaction.posted"]
    if transactions:
        for reported in draw(st.lists(st.sampled_from(transactions), max_size=4)):
            known = reported.occurred_at + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
            if known < T:
                events.append(_late_report(reported, known))
    return events


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    past=a_past(),
    future=st.lists(an_event(+1), min_size=1, max_size=10),
    late_known=st.lists(st.integers(min_value=0, max_value=7 * 24 * 60 - 1), max_size=5),
    data=st.data(),
)
def test_events_after_t_and_labels_known_after_t_minus_delay_change_nothing(
    past: list[Event], future: list[Event], late_known: list[int], data: st.DataObject
) -> None:
    before = features_of(past)
    transactions = [e for e in past if e.type == "transaction.posted"]
    late: list[Event] = []
    for minutes in late_known:
        if transactions:
            reported = data.draw(st.sampled_from(transactions))
            # known in (t - delay, t): too late to count at t
            late.append(_late_report(reported, T - timedelta(minutes=minutes)))
    interleaved = data.draw(st.permutations(past + future + late))
    assert features_of(interleaved) == before


@PROPERTY
@given(past=a_past(), data=st.data())
def test_features_do_not_depend_on_the_arrival_order_of_the_past(
    past: list[Event], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(past))
    assert features_of(shuffled) == features_of(past)
