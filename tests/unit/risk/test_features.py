"""Risk features: hand-computed values, leak-freedom (nothing after the moment counts) and
arrival-order invariance, on generated histories."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.domain.events import Event
from banktwin.risk.customer_facts import RiskBook
from banktwin.risk.features import FEATURE_KINDS, FEATURE_NAMES, Features, features_as_of
from tests.factories import T0, event

CUSTOMER = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"
LOANS = ("0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b10", "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b11")
D = timedelta(days=1)
H = timedelta(hours=1)
NOW = T0 + 200 * D


def features(events: list[Event], moment: datetime = NOW) -> Features:
    book = RiskBook()
    for e in events:
        book.fold(e)
    return features_as_of(book.customer(CUSTOMER), moment)


def at(kind: str, payload: dict[str, Any], when: datetime, subject: str = CUSTOMER) -> Event:
    return event(kind, subject, payload, at=when)


def txn(
    when: datetime,
    amount: str,
    *,
    account: str = "CHK",
    direction: str = "debit",
    channel: str = "card_present",
    card: bool = True,
    mcc: str | None = "5411",
    country: str = "DE",
) -> Event:
    payload: dict[str, Any] = {
        "transactionId": f"T{when.timestamp():.0f}{amount}{account}{direction}",
        "accountId": account,
        "amount": amount,
        "currency": "EUR",
        "direction": direction,
        "channel": channel,
        "location": {"country": country},
    }
    if card:
        payload["cardToken"] = "tok_0123456789"
    if mcc:
        payload["merchantCategory"] = mcc
    return at("transaction.posted", payload, when)


def opened(account: str, kind: str, balance: str, when: datetime) -> Event:
    payload = {"accountId": account, "type": kind, "currency": "EUR", "balance": balance}
    return at("account.opened", payload, when)


def test_every_feature_is_given_in_order_with_a_value_of_its_kind() -> None:
    row = features([at("customer.registered", {"name": "Jo"}, T0)])
    assert tuple(row) == FEATURE_NAMES
    for name, value in row.items():
        if FEATURE_KINDS[name] == "numeric":
            assert value is None or isinstance(value, float), name
        else:
            assert value is None or isinstance(value, str), name


def test_a_customer_nobody_has_heard_of_has_empty_windows_and_unknowns() -> None:
    row = features([])
    assert row["tenure_days"] is None and row["segment"] is None
    assert row["bureau_score"] is None and row["days_since_transaction"] is None
    assert row["liquid_balance"] == 0.0 and row["transactions_30d"] == 0.0


def test_profile_accounts_and_balances() -> None:
    events = [
        at("customer.registered", {"name": "Jo", "segment": "premium", "country": "DE"}, T0),
        opened("CHK", "checking", "100.00", T0 + H),
        opened("SAV", "savings", "1000.00", T0 + 2 * H),
        opened("LN1", "loan", "-5000.00", T0 + 3 * H),
        txn(NOW - 40 * D, "300.00"),  # checking -200 from then on
        at("account.balance_changed", {"accountId": "SAV", "balance": "1500.00"}, NOW - 10 * D),
        txn(NOW - 5 * D, "50.00", account="CHK", direction="credit", card=False),
        txn(NOW + D, "9999.00"),  # after the moment
    ]
    row = features(events)

    assert row["tenure_days"] == 200.0 and row["segment"] == "premium" and row["country"] == "DE"
    assert row["accounts_open"] == 3.0 and row["credit_facilities"] == 1.0
    assert row["has_savings"] == 1.0 and row["has_credit_card"] == 0.0
    assert row["checking_balance"] == -150.0 and row["savings_balance"] == 1500.0
    assert row["liquid_balance"] == 1350.0 and row["loan_outstanding"] == 5000.0
    assert row["overdraft_days_30d"] == 30.0  # below zero at each of the 30 daily samples
    assert row["overdraft_days_90d"] == 41.0  # the debit 40 days back counts from that sample
    assert row["overdraft_max_30d"] == 200.0
    assert row["liquid_balance_min_30d"] == 800.0  # -200 + 1000 before the balance change
    assert row["liquid_balance_change_30d"] == 1350.0 - 800.0
    assert row["inflow_30d"] == 50.0 and row["outflow_30d"] == 0.0 and row["outflow_90d"] == 300.0


def test_a_transfer_between_own_deposit_accounts_is_neither_inflow_nor_outflow() -> None:
    when = NOW - 2 * D
    events = [
        opened("CHK", "checking", "0.00", T0),
        opened("SAV", "savings", "500.00", T0),
        opened("LN1", "loan", "-900.00", T0),
        txn(when, "200.00", account="SAV", card=False, channel="mobile"),
        txn(when, "200.00", account="CHK", direction="credit", card=False, channel="mobile"),
        txn(when, "100.00", account="CHK", card=False, channel="transfer"),  # a repayment
        txn(when, "100.00", account="LN1", direction="credit", card=False, channel="transfer"),
    ]
    row = features(events)
    assert row["inflow_30d"] == 0.0 and row["outflow_30d"] == 100.0
    assert row["loan_outstanding"] == 800.0 and row["liquid_balance"] == 400.0


def test_spending_windows_count_only_what_is_in_them() -> None:
    events = [
        at("customer.registered", {"name": "Jo", "country": "DE"}, T0),
        txn(NOW - 31 * D, "500.00"),  # outside 30 days
        txn(NOW - 20 * D, "40.00"),
        txn(NOW - 3 * D, "60.00", mcc="7995"),
        txn(NOW - 2 * D, "2.00", channel="ecommerce", country="US"),
        txn(NOW - D, "80.00", channel="atm"),
        txn(NOW, "10.00"),  # at the moment: counts
    ]
    row = features(events)
    assert row["card_spend_30d"] == 112.0 and row["card_spend_count_30d"] == 4.0
    assert row["card_spend_7d"] == 72.0
    assert row["cash_withdrawal_30d"] == 80.0
    assert row["gambling_spend_90d"] == 60.0
    assert row["largest_debit_7d"] == 80.0
    assert row["largest_debit_to_mean_30d"] == pytest.approx(80.0 / (192.0 / 5))
    assert row["small_online_charges_7d"] == 1.0 and row["foreign_transactions_30d"] == 1.0
    assert row["transactions_30d"] == 5.0 and row["days_since_transaction"] == 0.0


def test_bureau_delinquency_loans_fraud_and_behaviour() -> None:
    score = "credit.score_received"
    events = [
        at(score, {"score": 700, "bureau": "B"}, NOW - 120 * D),
        at(score, {"score": 640, "bureau": "B", "delinquencies": 1}, NOW - 10 * D),
        at(
            "credit.payment_missed",
            {"facilityId": "LN1", "amountDue": "300", "currency": "EUR", "daysPastDue": 1},
            NOW - 45 * D,
        ),
        at(
            "credit.payment_missed",
            {"facilityId": "LN1", "amountDue": "600", "currency": "EUR", "daysPastDue": 31},
            NOW - 15 * D,
        ),
        at(
            "credit.payment_made",
            {"facilityId": "LN2", "amount": "300", "currency": "EUR", "late": True},
            NOW - 100 * D,
        ),
        at("loan.submitted", loan_submission(), NOW - 30 * D, subject=LOANS[0]),
        at("loan.decided", {"decision": "rejected"}, NOW - 29 * D, subject=LOANS[0]),
        at("loan.decided", {"decision": "approved"}, NOW - D, subject=LOANS[1]),  # not submitted
        at("fraud.alert_raised", alert(), NOW - 3 * D),
        at("fraud.alert_status_changed", {"alertId": ALERT, "status": "confirmed_fraud"}, NOW),
        at("fraud.reported", {"transactionId": "T1", "accountId": "A", "kind": "dispute"}, NOW),
        at("customer.login", {"channel": "mobile", "deviceId": "d1"}, NOW - 2 * D),
        at("customer.login", {"channel": "web", "outcome": "failed"}, NOW - D),
        at("customer.login", {"channel": "web", "outcome": "locked"}, NOW - 60 * D),
        at("customer.device_seen", {"deviceId": "d0"}, NOW - 100 * D),
    ]
    row = features(events)

    assert row["bureau_score"] == 640.0 and row["bureau_delinquencies"] == 1.0
    assert row["bureau_score_change_90d"] == -60.0 and row["bureau_report_age_days"] == 10.0
    assert row["missed_payments_90d"] == 2.0 and row["late_payments_365d"] == 1.0
    assert row["max_days_past_due"] == 31.0 + 15.0 and row["facilities_in_arrears"] == 1.0
    assert row["days_since_missed_payment"] == 15.0 and row["defaulted_facilities"] == 0.0
    assert row["loan_applications_365d"] == 1.0 and row["loan_applied_amount_365d"] == 5000.0
    assert row["loan_rejections_365d"] == 1.0 and row["loan_approvals_365d"] == 0.0
    assert row["fraud_alerts_30d"] == 1.0 and row["fraud_alerts_confirmed_365d"] == 1.0
    assert row["fraud_reports_90d"] == 1.0 and row["days_since_fraud_report"] == 0.0
    assert row["logins_30d"] == 1.0 and row["failed_logins_30d"] == 1.0
    assert row["lockouts_90d"] == 1.0 and row["mobile_login_share_30d"] == 1.0
    assert row["days_since_login"] == 2.0
    assert row["known_devices"] == 2.0 and row["new_devices_30d"] == 1.0


def loan_submission() -> dict[str, Any]:
    return {
        "customerId": CUSTOMER,
        "product": "personal",
        "amount": "5000",
        "currency": "EUR",
        "termMonths": 24,
    }


ALERT = "0192b6e0-0000-7000-8000-00000000000a"


def alert() -> dict[str, Any]:
    return {"alertId": ALERT, "transactionId": "T1", "severity": "high"}


def test_a_default_stops_the_ageing_only_once_charged_off() -> None:
    def servicing(kind: str, days: int, ago: int) -> Event:
        payload: dict[str, Any] = {"facilityId": "LN1", "currency": "EUR", "daysPastDue": days}
        payload |= {"outstanding": "900"} if kind == "credit.defaulted" else {"amount": "900"}
        return at(kind, payload, NOW - ago * D)

    defaulted = features([servicing("credit.defaulted", 90, 20)])
    assert defaulted["defaulted_facilities"] == 1.0 and defaulted["max_days_past_due"] == 110.0
    assert defaulted["facilities_in_arrears"] == 0.0
    written_off = features(
        [servicing("credit.defaulted", 90, 40), servicing("credit.charged_off", 130, 0)]
    )
    assert written_off["max_days_past_due"] == 0.0 and written_off["defaulted_facilities"] == 1.0


# --- Generated histories: leak-freedom and arrival order ---------------------------------

HOURS = 400 * 24
"""Histories span 400 days, so the 30, 90 and 365-day windows all have something to cut."""


def _timed(draw: st.DrawFn) -> datetime:
    return T0 + timedelta(hours=draw(st.integers(0, HOURS)))


soon = st.one_of(
    st.integers(1, 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 400).map(lambda d: timedelta(days=d)),
)
"""How long after a moment a later event occurs: often within the hour or the day, where a
window that reached past the moment would catch it."""


@st.composite
def history_events(draw: st.DrawFn, after: datetime | None = None) -> Event:
    """An event of any kind, at a time of the history (or ``soon`` after ``after``)."""
    when = _timed(draw) if after is None else after + draw(soon)
    accounts = st.sampled_from(["CHK", "SAV", "CRD", "LN1"])
    money = st.sampled_from(["0.50", "12.00", "300.00", "2500.00"])
    kind = draw(
        st.sampled_from(
            [
                "registered",
                "profile",
                "opened",
                "balance",
                "status",
                "txn",
                "txn",
                "txn",
                "login",
                "device",
                "score",
                "servicing",
                "loan",
                "decision",
                "alert",
                "confirm",
                "report",
            ]
        )
    )
    if kind == "registered":
        segment = draw(st.sampled_from(["retail", "premium"]))
        return at("customer.registered", {"name": "Jo", "segment": segment, "country": "DE"}, when)
    if kind == "profile":
        return at(
            "customer.profile_updated", {"segment": draw(st.sampled_from(["retail", None]))}, when
        )
    if kind == "opened":
        account = draw(accounts)
        kind_of = {"CHK": "checking", "SAV": "savings", "CRD": "credit_card", "LN1": "loan"}
        return opened(account, kind_of[account], draw(st.sampled_from(["-50.00", "100.00"])), when)
    if kind == "balance":
        payload = {
            "accountId": draw(accounts),
            "balance": draw(st.sampled_from(["-10.00", "70.00"])),
        }
        return at("account.balance_changed", payload, when)
    if kind == "status":
        payload = {
            "accountId": draw(accounts),
            "status": draw(st.sampled_from(["active", "closed"])),
        }
        return at("account.status_changed", payload, when)
    if kind == "txn":
        return txn(
            when,
            draw(money),
            account=draw(accounts),
            direction=draw(st.sampled_from(["debit", "credit"])),
            channel=draw(st.sampled_from(["card_present", "ecommerce", "atm", "transfer"])),
            card=draw(st.booleans()),
            mcc=draw(st.sampled_from([None, "5411", "7995"])),
            country=draw(st.sampled_from(["DE", "FR"])),
        )
    if kind == "login":
        payload = {
            "channel": draw(st.sampled_from(["mobile", "web"])),
            "outcome": draw(st.sampled_from(["succeeded", "failed", "locked"])),
            "deviceId": draw(st.sampled_from(["d1", "d2"])),
        }
        return at("customer.login", payload, when)
    if kind == "device":
        return at("customer.device_seen", {"deviceId": draw(st.sampled_from(["d1", "d3"]))}, when)
    if kind == "score":
        report = {"score": draw(st.sampled_from([580, 700])), "bureau": "B", "delinquencies": 1}
        return at("credit.score_received", report, when)
    if kind == "servicing":
        return servicing_event(draw, when)
    if kind == "loan":
        return at("loan.submitted", loan_submission(), when, subject=draw(st.sampled_from(LOANS)))
    if kind == "decision":
        decision = {"decision": draw(st.sampled_from(["approved", "rejected"]))}
        return at("loan.decided", decision, when, subject=draw(st.sampled_from(LOANS)))
    if kind == "alert":
        return at("fraud.alert_raised", alert(), when)
    if kind == "confirm":
        return at(
            "fraud.alert_status_changed", {"alertId": ALERT, "status": "confirmed_fraud"}, when
        )
    payload = {
        "transactionId": draw(st.sampled_from(["T1", "T2"])),
        "accountId": "CHK",
        "kind": "dispute",
    }
    return at("fraud.reported", payload, when)


def servicing_event(draw: st.DrawFn, when: datetime) -> Event:
    kind = draw(
        st.sampled_from(
            [
                "credit.payment_missed",
                "credit.payment_made",
                "credit.defaulted",
                "credit.charged_off",
            ]
        )
    )
    payload: dict[str, Any] = {
        "facilityId": draw(st.sampled_from(["LN1", "LN2"])),
        "currency": "EUR",
        "daysPastDue": draw(st.sampled_from([1, 31, 61, 90])),
    }
    if kind == "credit.payment_missed":
        payload["amountDue"] = "300.00"
    elif kind == "credit.payment_made":
        payload |= {"amount": "300.00", "late": draw(st.booleans()), "daysPastDue": 0}
    elif kind == "credit.defaulted":
        payload["outstanding"] = "900.00"
    else:
        payload["amount"] = "900.00"
    return at(kind, payload, when)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], datetime]:
    """Events, and a moment among them (often exactly at an event's time)."""
    events = draw(st.lists(history_events(), min_size=1, max_size=40))
    at_an_event = draw(st.booleans())
    return events, draw(st.sampled_from(events)).occurred_at if at_an_event else _timed(draw)


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_a_feature_as_of_t_never_changes_when_events_after_t_are_added(
    drawn: tuple[list[Event], datetime], data: st.DataObject
) -> None:
    events, moment = drawn
    before = [e for e in events if e.occurred_at <= moment]
    later = data.draw(st.lists(history_events(after=moment), min_size=1, max_size=15))
    after = [e for e in [*events, *later] if e.occurred_at > moment]
    mixed = data.draw(st.permutations([*before, *after]))  # the future arrives any time

    assert features(mixed, moment) == features(before, moment)


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_features_are_the_same_in_any_arrival_order(
    drawn: tuple[list[Event], datetime], data: st.DataObject
) -> None:
    events, moment = drawn
    expected = features(sorted(events, key=lambda e: e.occurred_at), moment)
    assert features(data.draw(st.permutations(events)), moment) == expected
    assert features(list(reversed(events)), moment) == expected
