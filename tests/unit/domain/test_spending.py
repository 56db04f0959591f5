"""Spending windows: exact to the minute, evaluated at a time the caller gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.spending import (
    MAX_BUCKETS,
    RETENTION_MINUTES,
    SpendBucket,
    SpendingLedger,
    WindowTotal,
    add_debit,
    spending_windows,
)
from banktwin.domain.twin import fold
from banktwin.store.codec import decode_twin, encode_twin
from tests.factories import T0, new_id, opened, posted


def test_windows_count_debits_per_currency_and_ignore_credits() -> None:
    cid = new_id()
    twin = fold(
        [
            opened(cid),
            posted(cid, amount="10.00", minutes=-60 * 24 * 20),  # 20 days ago
            posted(cid, amount="20.00", minutes=-60 * 24 * 3),  # 3 days ago
            posted(cid, amount="30.00", minutes=-120),  # 2 hours ago
            posted(cid, amount="40.00", minutes=-30),  # 30 minutes ago
            posted(cid, amount="99.00", direction="credit", minutes=-10),
        ]
    )
    assert isinstance(twin, CustomerTwin)
    w = spending_windows(twin.spending, T0)
    assert w["1h"]["EUR"].amount == Decimal("40.00") and w["1h"]["EUR"].count == 1
    assert w["1d"]["EUR"].amount == Decimal("70.00")
    assert w["7d"]["EUR"].amount == Decimal("90.00")
    assert w["30d"]["EUR"].amount == Decimal("100.00") and w["30d"]["EUR"].count == 4


def test_windows_at_an_earlier_time_exclude_later_debits() -> None:
    buckets = add_debit(SpendingLedger(), T0, "EUR", Decimal("5.00"))
    assert spending_windows(buckets, T0 - timedelta(minutes=5))["1h"] == {}


def test_buckets_older_than_thirty_days_are_dropped_and_late_events_sorted() -> None:
    buckets = add_debit(SpendingLedger(), T0, "EUR", Decimal("1.00"))
    buckets = add_debit(buckets, T0 + timedelta(days=31), "EUR", Decimal("2.00"))
    assert len(buckets) == 1
    buckets = add_debit(buckets, T0 + timedelta(days=30), "USD", Decimal("3.00"))
    assert [b.currency for b in buckets.buckets()] == ["USD", "EUR"]
    assert buckets.buckets()[-1].minute - buckets.buckets()[0].minute < RETENTION_MINUTES


def test_same_minute_debits_share_a_bucket() -> None:
    buckets = add_debit(SpendingLedger(), T0, "EUR", Decimal("1.00"))
    buckets = add_debit(buckets, T0 + timedelta(seconds=30), "EUR", Decimal("2.00"))
    assert buckets.buckets() == (SpendBucket(buckets.buckets()[0].minute, "EUR", 2, 300),)


def test_a_late_debit_merges_into_its_minute_or_is_inserted_in_order() -> None:
    ledger = add_debit(SpendingLedger(), T0, "EUR", Decimal("1.00"))
    ledger = add_debit(ledger, T0 + timedelta(minutes=10), "EUR", Decimal("2.00"))
    ledger = add_debit(ledger, T0, "EUR", Decimal("0.50"))  # late, same minute as the first
    ledger = add_debit(ledger, T0 + timedelta(minutes=5), "GBP", Decimal("4.00"))  # late
    minute = ledger.buckets()[0].minute
    assert ledger.buckets() == (
        SpendBucket(minute, "EUR", 2, 150),
        SpendBucket(minute + 5, "GBP", 1, 400),
        SpendBucket(minute + 10, "EUR", 1, 200),
    )


def test_same_minute_debits_in_another_currency_get_their_own_bucket() -> None:
    ledger = add_debit(SpendingLedger(), T0, "EUR", Decimal("1.00"))
    ledger = add_debit(ledger, T0, "USD", Decimal("2.00"))
    ledger = add_debit(ledger, T0, "USD", Decimal("3.00"))
    assert [(b.currency, b.debits, b.cents) for b in ledger.buckets()] == [
        ("EUR", 1, 100),
        ("USD", 2, 500),
    ]
    windows = spending_windows(ledger, T0)
    assert windows["1h"]["USD"] == WindowTotal(2, Decimal("5.00"))
    assert windows["1h"]["EUR"] == WindowTotal(1, Decimal("1.00"))


def test_the_ledger_keeps_at_most_max_buckets_the_newest() -> None:
    ledger = SpendingLedger.of(
        [SpendBucket(1_000_000 + i, "EUR", 1, 100) for i in range(MAX_BUCKETS)]
    )
    newest = datetime.fromtimestamp((1_000_000 + MAX_BUCKETS) * 60, UTC)
    ledger = add_debit(ledger, newest, "EUR", Decimal("1"))
    assert len(ledger) == MAX_BUCKETS
    assert ledger.buckets()[0].minute == 1_000_001


def test_a_ledger_survives_the_twin_document_round_trip() -> None:
    ledger = add_debit(SpendingLedger(), T0, "EUR", Decimal("12.34"))
    ledger = add_debit(ledger, T0 + timedelta(hours=2), "CHF", Decimal("0.01"))
    twin = CustomerTwin(customer_id=new_id(), created_at=T0, last_updated=T0, spending=ledger)
    restored = decode_twin(SubjectKind.CUSTOMER, encode_twin(twin))
    assert isinstance(restored, CustomerTwin) and restored.spending == ledger
    assert restored.spending.buckets() == ledger.buckets()


def test_a_currency_that_is_not_an_iso_code_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        add_debit(SpendingLedger(), T0, "EUROS", Decimal("1.00"))
