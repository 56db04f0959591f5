"""Spending aggregates over sliding windows (1 h, 1 d, 7 d, 30 d).

Debits are kept in per-minute buckets for 30 days, so every window is exact to the minute
while the state stays small. Windows are evaluated at a time the caller passes (the request
time, or the as-of time): the domain never reads a clock.

The buckets are packed into one ``bytes`` value (:class:`SpendingLedger`) rather than held as
a tuple of small objects: a busy customer has dozens of buckets and the projector writes
thousands of twins per batch, so as objects they would be much of each twin's objects and of
its encoding time (docs/performance.md, "Shortcuts in the domain"). Packed, they are one.

Buckets are ordered by minute, then currency, and a debit's bucket depends only on its time and
currency, so the ledger is the same whatever order the debits arrive in (up to
:data:`MAX_BUCKETS`: past it, which buckets were dropped depends on arrival).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

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

_BUCKET = struct.Struct("<i4sIq")
"""One bucket: epoch minute, ISO 4217 code (ASCII, NUL-padded), debits, sum in cents."""
_SIZE = _BUCKET.size


class SpendBucket(NamedTuple):
    """Debits of one currency within one minute (epoch minutes).

    The sum is kept in cents (exact, as DECIMAL(18,2) amounts are); thousands of buckets are
    summed per read, and integers keep that cheap.
    """

    minute: int
    currency: str
    debits: int
    cents: int


@dataclass(frozen=True, slots=True)
class SpendingLedger:
    """A customer's debit buckets of the last 30 days, oldest first (then by currency), packed
    in ``rows`` (fixed-size records, see ``_BUCKET``). Immutable: :func:`add_debit` returns a
    new one."""

    rows: bytes = b""

    def __len__(self) -> int:
        return len(self.rows) // _SIZE

    def buckets(self) -> tuple[SpendBucket, ...]:
        """The buckets, oldest first."""
        return tuple(_bucket(*fields) for fields in _BUCKET.iter_unpack(self.rows))

    @classmethod
    def of(cls, buckets: list[SpendBucket] | tuple[SpendBucket, ...]) -> SpendingLedger:
        """A ledger holding ``buckets`` (already in minute, then currency, order)."""
        return cls(b"".join(_packed(*b) for b in buckets))


NO_SPENDING = SpendingLedger()


def _bucket(minute: int, code: bytes, debits: int, cents: int) -> SpendBucket:
    return SpendBucket(minute, code.rstrip(b"\0").decode("ascii"), debits, cents)


def _packed(minute: int, currency: str, debits: int, cents: int) -> bytes:
    return _BUCKET.pack(minute, currency.encode("ascii"), debits, cents)


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def add_debit(
    ledger: SpendingLedger, moment: datetime, currency: str, amount: Decimal
) -> SpendingLedger:
    """The ledger with one more debit, pruned to the 30 days before the newest bucket."""
    minute = epoch_minute(moment)
    cents = int(amount * CENTS)
    code = currency.encode("ascii")
    if len(code) > 4:
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    rows = ledger.rows
    if not rows:
        return SpendingLedger(_BUCKET.pack(minute, code, 1, cents))
    last_minute, last_code, last_debits, last_cents = _BUCKET.unpack_from(rows, len(rows) - _SIZE)
    if last_minute == minute and last_code.rstrip(b"\0") == code:
        rows = rows[:-_SIZE] + _BUCKET.pack(minute, code, last_debits + 1, last_cents + cents)
    elif last_minute < minute:  # the usual case: the newest debit
        rows += _BUCKET.pack(minute, code, 1, cents)
    else:  # a late event (or another currency in the newest minute): merge, keep the order
        rows = _merged_late(ledger.buckets(), SpendBucket(minute, currency, 1, cents)).rows
    cut = _first_after(rows, max(minute, last_minute) - RETENTION_MINUTES)
    if cut:  # buckets are in minute order: cut the old ones off
        rows = rows[cut * _SIZE :]
    if len(rows) > MAX_BUCKETS * _SIZE:
        rows = rows[-MAX_BUCKETS * _SIZE :]
    return SpendingLedger(rows)


def _first_after(rows: bytes, minute: int) -> int:
    """Index of the first bucket after ``minute`` (a scan: it is almost always the first or
    the second, as each debit ages out at most a few buckets)."""
    for index, (bucket_minute, _, _, _) in enumerate(_BUCKET.iter_unpack(rows)):
        if bucket_minute > minute:
            return index
    return len(rows) // _SIZE


def _merged_late(buckets: tuple[SpendBucket, ...], debit: SpendBucket) -> SpendingLedger:
    merged = False
    updated = []
    for b in buckets:
        if b.minute == debit.minute and b.currency == debit.currency:
            b = SpendBucket(b.minute, b.currency, b.debits + 1, b.cents + debit.cents)
            merged = True
        updated.append(b)
    if not merged:
        updated.append(debit)
        updated.sort(key=lambda b: (b.minute, b.currency))
    return SpendingLedger.of(updated)


@dataclass(frozen=True, slots=True)
class WindowTotal:
    count: int
    amount: Decimal


def spending_windows(ledger: SpendingLedger, at: datetime) -> dict[str, dict[str, WindowTotal]]:
    """Debit count and amount per currency for each window ending at ``at``.

    Returns:
        ``{"1h": {"EUR": WindowTotal(3, Decimal("42.10"))}, "1d": {...}, ...}``; a window
        with no debits maps to an empty dict. Debits after ``at`` are not counted.
    """
    now = epoch_minute(at)
    starts = [(name, now - int(span.total_seconds()) // 60) for name, span in WINDOWS.items()]
    counts: dict[str, dict[bytes, int]] = {name: {} for name in WINDOWS}
    cents: dict[str, dict[bytes, int]] = {name: {} for name in WINDOWS}
    for minute, code, debits, amount in _BUCKET.iter_unpack(ledger.rows):
        if minute > now:
            continue
        for name, start in starts:
            if start < minute:
                window_counts, window_cents = counts[name], cents[name]
                window_counts[code] = window_counts.get(code, 0) + debits
                window_cents[code] = window_cents.get(code, 0) + amount
    return {
        name: {
            code.rstrip(b"\0").decode("ascii"): WindowTotal(
                counts[name][code], Decimal(cents[name][code]).scaleb(-2)
            )
            for code in counts[name]
        }
        for name in WINDOWS
    }
