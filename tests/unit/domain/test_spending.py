"""Spending windows: exact to the minute, evaluated at a time the caller gives."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.spending import RETENTION_MINUTES, add_debit, spending_windows
from banktwin.domain.twin import fold
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
    buckets = add_debit((), T0, "EUR", Decimal("5.00"))
    assert spending_windows(buckets, T0 - timedelta(minutes=5))["1h"] == {}


def test_buckets_older_than_thirty_days_are_dropped_and_late_events_sorted() -> None:
    buckets = add_debit((), T0, "EUR", Decimal("1.00"))
    buckets = add_debit(buckets, T0 + timedelta(days=31), "EUR", Decimal("2.00"))
    assert len(buckets) == 1
    buckets = add_debit(buckets, T0 + timedelta(days=30), "USD", Decimal("3.00"))
    assert [b.currency for b in buckets] == ["USD", "EUR"]
    assert buckets[-1].minute - buckets[0].minute < RETENTION_MINUTES


def test_same_minute_debits_share_a_bucket() -> None:
    buckets = add_debit((), T0, "EUR", Decimal("1.00"))
    buckets = add_debit(buckets, T0 + timedelta(seconds=30), "EUR", Decimal("2.00"))
    assert len(buckets) == 1 and buckets[0].debits == 2 and buckets[0].cents == 300
