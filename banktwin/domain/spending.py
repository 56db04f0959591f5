"""Spending aggregates over sliding windows (1 h, 1 d, 7 d, 30 d).

Debits are kept in per-minute buckets for 30 days, so every window is exact to the minute
while the state stays small. Windows are evaluated at a time the caller passes (the request
time, or the as-of time): the domain never reads a clock.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from banktwin.domain.customer import SpendBucket

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RETENTION_MINUTES = 30 * 24 * 60
MAX_BUCKETS = 5000
"""Bound on state size for extreme spenders; the oldest buckets go first."""
CENTS = Decimal(100)


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def add_debit(
    buckets: tuple[SpendBucket, ...], moment: datetime, currency: str, amount: Decimal
) -> tuple[SpendBucket, ...]:
    """Buckets with one more debit, pruned to the 30 days before the newest bucket."""
    minute = epoch_minute(moment)
    cents = int(amount * CENTS)
    last = buckets[-1] if buckets else None
    if last is not None and last.minute == minute and last.currency == currency:
        updated = (
            *buckets[:-1],
            SpendBucket(minute, currency, last.debits + 1, last.cents + cents),
        )
    elif last is None or last.minute <= minute:  # the usual case: the newest debit
        updated = (*buckets, SpendBucket(minute, currency, 1, cents))
    else:  # a late event: merge into its minute, keep the order
        merged = False
        rows = []
        for b in buckets:
            if b.minute == minute and b.currency == currency:
                b = SpendBucket(minute, currency, b.debits + 1, b.cents + cents)
                merged = True
            rows.append(b)
        if not merged:
            rows.append(SpendBucket(minute, currency, 1, cents))
            rows.sort(key=lambda b: b.minute)
        updated = tuple(rows)
    horizon = updated[-1].minute - RETENTION_MINUTES
    if updated[0].minute <= horizon:  # buckets are in minute order: cut the old ones off
        updated = updated[bisect_right(updated, horizon, key=_minute) :]
    return updated[-MAX_BUCKETS:] if len(updated) > MAX_BUCKETS else updated


def _minute(bucket: SpendBucket) -> int:
    return bucket.minute


@dataclass(frozen=True, slots=True)
class WindowTotal:
    count: int
    amount: Decimal


def spending_windows(
    buckets: tuple[SpendBucket, ...], at: datetime
) -> dict[str, dict[str, WindowTotal]]:
    """Debit count and amount per currency for each window ending at ``at``.

    Returns:
        ``{"1h": {"EUR": WindowTotal(3, Decimal("42.10"))}, "1d": {...}, ...}``; a window
        with no debits maps to an empty dict. Debits after ``at`` are not counted.
    """
    now = epoch_minute(at)
    result: dict[str, dict[str, WindowTotal]] = {}
    for name, span in WINDOWS.items():
        start = now - int(span.total_seconds()) // 60
        counts: dict[str, int] = {}
        cents: dict[str, int] = {}
        for b in buckets:
            if start < b.minute <= now:
                counts[b.currency] = counts.get(b.currency, 0) + b.debits
                cents[b.currency] = cents.get(b.currency, 0) + b.cents
        result[name] = {
            currency: WindowTotal(counts[currency], Decimal(cents[currency]).scaleb(-2))
            for currency in counts
        }
    return result
