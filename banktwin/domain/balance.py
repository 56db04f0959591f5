"""An account's balance, the same whatever order its events arrive in.

The core system's absolute balance (``account.balance_changed``, or the balance an
``account.opened`` gives) is the account's **anchor**. A transaction that occurred before the
anchor is already inside it and must not move it again; one that occurred after moves it. So an
account's :class:`BalanceBook` keeps the newest anchor, its time, and the transactions after it;
when a newer anchor arrives, the transactions it covers drop out. At one instant, an opening
balance comes before a transaction (an account is opened, then used) and a balance change comes
after it (the core system books the transaction, then reports the balance).

**Bound.** The book keeps the newest :data:`MAX_RECENT` transactions after the anchor one by one
and the older ones as one sum, with the first and last of them (``folded_from``,
``folded_to``). A late anchor is still exact when the folded transactions all lie on one side of
it: all before it, they drop out; all after it, they stay. The one inexact case is an anchor
whose time falls among the folded transactions (it arrives after more than ``MAX_RECENT``
transactions that occurred after it, and after an older one was folded): the folded sum is taken
as inside the anchor, so the folded transactions that occurred after it are missing from the
balance until the next, newer anchor.
"""

from __future__ import annotations

import struct
from bisect import insort
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

MAX_RECENT = 16
"""Transactions after the anchor kept one by one (the older ones are folded into a sum)."""
ZERO = Decimal("0.00")

_DELTA = struct.Struct("<qq")
"""One transaction after the anchor: epoch microseconds, signed amount in cents."""
_SIZE = _DELTA.size
_LIMIT = MAX_RECENT * _SIZE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

DeltaKey = tuple[int, int]
"""A transaction's place in the book: (epoch microseconds, signed cents). Transactions are
kept in this order; two with the same key move the balance alike, so their order is moot."""


class BalanceBook(NamedTuple):
    """How an account's balance is made: ``anchor``, plus the transactions in ``recent``, plus
    ``folded_cents``."""

    anchor: Decimal = ZERO
    anchor_at: datetime | None = None
    """When the anchor's balance held (``None``: no absolute balance known, the anchor is 0)."""
    anchor_opening: bool = False
    """The anchor is an opening balance: transactions at its very instant come after it."""
    recent: bytes = b""
    """The newest transactions after the anchor, packed (``_DELTA``), in key order."""
    folded_cents: int = 0
    """The sum of the older transactions after the anchor, in cents."""
    folded_from: DeltaKey | None = None
    folded_to: DeltaKey | None = None
    """The first and the last folded transaction; every one in ``recent`` comes after both."""

    def total(self) -> Decimal:
        """The balance the book makes."""
        cents = self.folded_cents + sum(c for _, c in _DELTA.iter_unpack(self.recent))
        return self.anchor + Decimal(cents).scaleb(-2)


NO_BOOK = BalanceBook()
_new = tuple.__new__  # builds a book without NamedTuple's keyword handling (the hot path)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _inside(micros: int, anchor_micros: int, opening: bool) -> bool:
    """Whether a transaction at ``micros`` is inside an anchor at ``anchor_micros``."""
    return micros < anchor_micros or (micros == anchor_micros and not opening)


def with_transaction(book: BalanceBook, at: datetime, amount: Decimal) -> BalanceBook | None:
    """The book after a transaction of ``amount`` (signed: a debit is negative) at ``at``, or
    ``None`` when the anchor already holds it (the balance does not move)."""
    anchor, anchor_at, opening, recent, folded, first, last = book
    if anchor_at is not None and (at < anchor_at or (at == anchor_at and not opening)):
        return None
    key = ((at - _EPOCH) // _MICROSECOND, int(amount * 100))
    if last is not None and first is not None and key <= last:
        # older than every one kept: straight into the sum
        first = key if key < first else first
        return _new(BalanceBook, (anchor, anchor_at, opening, recent, folded + key[1], first, last))
    if not recent or key >= _DELTA.unpack_from(recent, len(recent) - _SIZE):
        recent += _DELTA.pack(*key)  # the usual case: the newest transaction
    else:
        keys = list(_DELTA.iter_unpack(recent))
        insort(keys, key)
        recent = b"".join(_DELTA.pack(*k) for k in keys)
    if len(recent) > _LIMIT:  # fold the oldest: it is newer than every one folded before
        oldest: DeltaKey = _DELTA.unpack_from(recent, 0)
        recent, folded, first, last = recent[_SIZE:], folded + oldest[1], first or oldest, oldest
    return _new(BalanceBook, (anchor, anchor_at, opening, recent, folded, first, last))


def with_anchor(
    book: BalanceBook, at: datetime, balance: Decimal, *, opening: bool
) -> BalanceBook | None:
    """The book after an absolute balance that held at ``at`` (``opening``: an account's
    opening balance), or ``None`` when the book's anchor is newer (nothing changes). Of two
    anchors at one instant, a balance change wins over an opening, then the greater balance."""
    if book.anchor_at is not None and (at, not opening, balance) <= (
        book.anchor_at,
        not book.anchor_opening,
        book.anchor,
    ):
        return None
    micros = _micros(at)
    kept = b"".join(
        _DELTA.pack(m, c)
        for m, c in _DELTA.iter_unpack(book.recent)
        if not _inside(m, micros, opening)
    )
    folded, first, last = book.folded_cents, book.folded_from, book.folded_to
    if first is not None and _inside(first[0], micros, opening):
        # Exact when the last folded one is inside too; if not, this is the inexact case (see
        # the module's docstring): the folded ones after the anchor are dropped with the rest.
        folded, first, last = 0, None, None
    return BalanceBook(balance, at, opening, kept, folded, first, last)
