"""Risk labels: which events are losses, the horizon after the as-of date (never before it),
and customers already in default left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.domain.events import Event
from banktwin.risk.labels import (
    ALL_LOSSES,
    CREDIT_LOSSES,
    LossBook,
    LossKind,
    at_risk,
    label,
    loss_of,
)
from tests.factories import T0, event

CUSTOMER = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"
ALERT = "0192b6e0-0000-7000-8000-00000000000a"
D = timedelta(days=1)
HORIZON = 14 * D


def defaulted(when: datetime) -> Event:
    payload = {"facilityId": "LN1", "outstanding": "900", "currency": "EUR"}
    return event("credit.defaulted", CUSTOMER, payload, at=when)


def charged_off(when: datetime) -> Event:
    payload = {"facilityId": "LN1", "amount": "900", "currency": "EUR", "daysPastDue": 150}
    return event("credit.charged_off", CUSTOMER, payload, at=when)


def reported(when: datetime) -> Event:
    payload = {"transactionId": "T1", "accountId": "A1", "kind": "chargeback"}
    return event("fraud.reported", CUSTOMER, payload, at=when)


def alert_status(status: str, when: datetime) -> Event:
    return event(
        "fraud.alert_status_changed", CUSTOMER, {"alertId": ALERT, "status": status}, at=when
    )


def missed(when: datetime) -> Event:
    payload = {"facilityId": "LN1", "amountDue": "300", "currency": "EUR", "daysPastDue": 31}
    return event("credit.payment_missed", CUSTOMER, payload, at=when)


def book_of(*events: Event) -> LossBook:
    book = LossBook()
    for e in events:
        book.fold(e)
    return book


def test_defaults_charge_offs_and_confirmed_frauds_are_losses_nothing_else_is() -> None:
    assert loss_of(defaulted(T0)) is LossKind.DEFAULT
    assert loss_of(charged_off(T0)) is LossKind.CHARGE_OFF
    assert loss_of(reported(T0)) is LossKind.FRAUD
    assert loss_of(alert_status("confirmed_fraud", T0)) is LossKind.FRAUD
    assert loss_of(alert_status("false_positive", T0)) is None
    assert loss_of(missed(T0)) is None  # arrears are a warning, not a loss
    submitted: dict[str, Any] = {
        "customerId": CUSTOMER,
        "product": "personal",
        "amount": "1000",
        "currency": "EUR",
        "termMonths": 12,
    }
    assert loss_of(event("loan.submitted", ALERT, submitted)) is None


def test_a_loss_counts_in_the_horizon_after_the_as_of_date_only() -> None:
    losses = book_of(defaulted(T0 + HORIZON)).of(CUSTOMER)

    assert label(losses, T0, HORIZON)  # at the horizon's end: in
    assert not label(losses, T0 - timedelta(microseconds=1), HORIZON)  # just past it: out
    assert not label(losses, T0 + HORIZON, HORIZON)  # at the as-of date: already known, out
    assert not label(losses, T0 + 20 * D, HORIZON)  # before the as-of date: out


def test_the_kinds_that_count_can_be_chosen() -> None:
    losses = book_of(reported(T0 + D)).of(CUSTOMER)
    assert label(losses, T0, HORIZON, ALL_LOSSES)
    assert not label(losses, T0, HORIZON, CREDIT_LOSSES)


def test_a_customer_in_default_is_no_longer_at_risk_a_fraud_victim_still_is() -> None:
    book = book_of(defaulted(T0), reported(T0 - D))
    losses = book.of(CUSTOMER)

    assert at_risk(losses, T0 - timedelta(seconds=1))
    assert not at_risk(losses, T0) and not at_risk(losses, T0 + 100 * D)
    assert not at_risk(book_of(charged_off(T0)).of(CUSTOMER), T0)
    assert at_risk(book_of(reported(T0)).of(CUSTOMER), T0 + D)
    assert at_risk(book.of("someone else"), T0)


def loss_events(low: int, high: int) -> st.SearchStrategy[Event]:
    """A loss (or a non-loss) at a time ``low`` to ``high`` hours after T0."""
    times = st.integers(low, high).map(lambda h: T0 + timedelta(hours=h))
    return st.one_of(
        times.map(defaulted),
        times.map(charged_off),
        times.map(reported),
        times.map(lambda t: alert_status("confirmed_fraud", t)),
        times.map(missed),
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(loss_events(0, 2000), max_size=8),
    st.lists(loss_events(-2000, 1000), max_size=8),
    st.integers(0, 1000),
    st.sampled_from([ALL_LOSSES, CREDIT_LOSSES]),
)
def test_a_label_never_looks_before_the_as_of_date(
    events: list[Event], earlier: list[Event], hours: int, kinds: frozenset[str]
) -> None:
    as_of = T0 + timedelta(hours=hours)
    before = [e for e in earlier if e.occurred_at <= as_of]
    after = [e for e in events if e.occurred_at > as_of]

    with_past = book_of(*after, *before).of(CUSTOMER)
    assert label(with_past, as_of, HORIZON, kinds) == label(
        book_of(*after).of(CUSTOMER), as_of, HORIZON, kinds
    )
    expected = any(
        (kind := loss_of(e)) is not None
        and kind in kinds
        and as_of < e.occurred_at <= as_of + HORIZON
        for e in after
    )
    assert label(with_past, as_of, HORIZON, kinds) is expected
