"""How account and transaction events change the customer twin.

An event for an account the twin has not seen creates it with what is known, so a projector
never stalls on the order sources deliver in. Each fact keeps the time it was set, so a late
event changes only what it is newer for: the opening's type and currency, the status, the
absolute balance (:mod:`banktwin.domain.balance` adds the transactions after it), the update
time (the latest).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from banktwin.domain.balance import ZERO, with_anchor, with_transaction
from banktwin.domain.behaviour_rules import seen_device
from banktwin.domain.customer import Account, Changes, CustomerRule, CustomerTwin
from banktwin.domain.events import Event
from banktwin.domain.ordering import newer, rank
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    AccountStatusChanged,
    Direction,
    TransactionPosted,
)
from banktwin.domain.spending import add_debit

_new = tuple.__new__
NO_CURRENCY = "XXX"
"""ISO 4217's code for "no currency": an account known only from a balance or status change."""


def _place(account: Account) -> tuple[object, ...]:
    """Where an account goes in the twin's list: opened ones by opening time, then the rest."""
    return (account.opened_at is None, rank(account.opened_at), account.account_id)


def _index(accounts: tuple[Account, ...], account_id: str) -> int:
    """Where the account is in ``accounts``, or ``-1``."""
    for i, account in enumerate(accounts):
        if account.account_id == account_id:
            return i
    return -1


def _placed(accounts: tuple[Account, ...], index: int, account: Account) -> tuple[Account, ...]:
    """``accounts`` with the one at ``index`` replaced by ``account`` (``-1``: added), in
    order. Untouched accounts stay the same objects (the stores write changed ones only)."""
    if index >= 0 and accounts[index].opened_at == account.opened_at:  # its place is unchanged
        return (*accounts[:index], account, *accounts[index + 1 :])
    others = accounts if index < 0 else (*accounts[:index], *accounts[index + 1 :])
    return tuple(sorted((*others, account), key=_place))


def _new_account(account_id: str, currency: str, at: datetime) -> Account:
    return Account(account_id, None, currency, ZERO, "active", None, at)


def _account(c: CustomerTwin, account_id: str, at: datetime) -> tuple[int, Account]:
    """The account's place in the twin's list (``-1``: new) and the account, with what is
    known so far (a new one has no currency yet)."""
    index = _index(c.accounts, account_id)
    if index < 0:
        return index, _new_account(account_id, NO_CURRENCY, at)
    return index, c.accounts[index]


def _changed(account: Account, at: datetime, changes: dict[str, Any]) -> Account:
    """``account`` with ``changes`` and its update time moved to ``at`` if later; ``account``
    itself if neither changes anything."""
    if at > account.updated_at:
        changes["updated_at"] = at
    return account._replace(**changes) if changes else account


def _account_opened(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountOpened, e.payload)
    at = e.occurred_at
    index, account = _account(c, p.account_id, at)
    changes: dict[str, Any] = {}
    opening = (p.type.value, p.currency)
    if newer(at, opening, account.opened_at, (account.type, account.currency)):
        changes.update(type=opening[0], currency=opening[1], opened_at=at)
    if newer(at, p.status.value, account.status_at, account.status):
        changes.update(status=p.status.value, status_at=at)
    book = with_anchor(account.book, at, p.balance, opening=True)
    if book is not None:
        changes.update(balance=book.total(), book=book)
    return {"accounts": _placed(c.accounts, index, _changed(account, at, changes))}


def _balance_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountBalanceChanged, e.payload)
    at = e.occurred_at
    index, account = _account(c, p.account_id, at)
    book = with_anchor(account.book, at, p.balance, opening=False)
    changes: dict[str, Any] = {} if book is None else {"balance": book.total(), "book": book}
    return {"accounts": _placed(c.accounts, index, _changed(account, at, changes))}


def _status_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(AccountStatusChanged, e.payload)
    at = e.occurred_at
    index, account = _account(c, p.account_id, at)
    changes: dict[str, Any] = {}
    if newer(at, p.status.value, account.status_at, account.status):
        changes.update(status=p.status.value, status_at=at)
    return {"accounts": _placed(c.accounts, index, _changed(account, at, changes))}


def _bump(counts: tuple[tuple[str, int], ...], key: str) -> tuple[tuple[str, int], ...]:
    """Counts with ``key`` one higher, kept sorted by key (a handful of keys: a scan is fastest)."""
    for i, (k, n) in enumerate(counts):
        if k == key:
            return (*counts[:i], (k, n + 1), *counts[i + 1 :])
    return tuple(sorted((*counts, (key, 1))))


def _moved(account: Account, at: datetime, amount: Decimal, currency: str) -> Account:
    """The account after a transaction of ``amount`` (signed) at ``at`` in ``currency``; the
    same object when nothing it shows changes (a transaction its balance already holds)."""
    book = with_transaction(account.book, at, amount)
    mine = account.currency
    if mine != currency and account.opened_at is None:
        # Not opened yet: the transactions' currency (the least, if they disagree).
        currency = currency if mine == NO_CURRENCY else min(mine, currency)
    else:
        currency = mine
    updated = account.updated_at
    if book is None and at <= updated and currency == mine:
        return account
    fields = (
        account.account_id,
        account.type,
        currency,
        account.balance if book is None else account.balance + amount,
        account.status,
        account.opened_at,
        at if at > updated else updated,
        account.status_at,
        account.book if book is None else book,
    )
    return _new(Account, fields)  # the fields in order, without NamedTuple's keyword handling


def transaction_posted(c: CustomerTwin, e: Event) -> Changes:
    """The hot rule (most events are transactions): no sorting, one scan per list."""
    p = cast(TransactionPosted, e.payload)
    at = e.occurred_at
    amount = -p.amount if p.direction is Direction.DEBIT else p.amount
    accounts = c.accounts
    index = _index(accounts, p.account_id)
    if index >= 0:
        account = accounts[index]
        moved = _moved(account, at, amount, p.currency)
        if moved is not account:
            accounts = (*accounts[:index], moved, *accounts[index + 1 :])
    else:
        account = _new_account(p.account_id, p.currency, at)
        accounts = _placed(accounts, -1, _moved(account, at, amount, p.currency))
    last = c.last_transaction_at
    changes: Changes = {
        "accounts": accounts,
        "transaction_count": c.transaction_count + 1,
        "channel_counts": _bump(c.channel_counts, p.channel.value),
        "last_transaction_at": at if last is None or at > last else last,
    }
    if amount < 0:
        changes["spending"] = add_debit(c.spending, at, p.currency, p.amount)
    if p.location is not None:
        changes["country_counts"] = _bump(c.country_counts, p.location.country)
    if p.device_id:
        behaviour = seen_device(c.behaviour, p.device_id, None, at)
        if behaviour is not c.behaviour:
            changes["behaviour"] = behaviour
    return changes


ACCOUNT_RULES: dict[str, CustomerRule] = {
    "account.opened": _account_opened,
    "account.balance_changed": _balance_changed,
    "account.status_changed": _status_changed,
    "transaction.posted": transaction_posted,
}
"""The rule for each account and transaction event type."""
