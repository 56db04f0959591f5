"""Rows of the store's tables, shared by the SQLite and PostgreSQL adapters.

Twins are stored as JSON documents (one row per customer, branch and loan application) with
the few columns queries filter on; transactions and alerts are plain relational rows, so an
analyst's SQL works on them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.store import codec
from banktwin.store.port import ProjectionChanges


@dataclass(frozen=True, slots=True)
class TwinTable:
    """Where the twins of one kind of subject live."""

    kind: SubjectKind
    table: str
    key: str

    def decode(self, doc: bytes | str) -> Twin:
        return codec.decode_twin(self.kind, doc)


TWIN_TABLES: dict[SubjectKind, TwinTable] = {
    SubjectKind.CUSTOMER: TwinTable(SubjectKind.CUSTOMER, "customers", "customer_id"),
    SubjectKind.BRANCH: TwinTable(SubjectKind.BRANCH, "branches", "branch_id"),
    SubjectKind.LOAN: TwinTable(SubjectKind.LOAN, "loans", "application_id"),
}

TRANSACTION_COLUMNS = (
    "transaction_id",
    "customer_id",
    "account_id",
    "amount",
    "currency",
    "direction",
    "channel",
    "merchant",
    "merchant_category",
    "terminal_id",
    "card_token",
    "device_id",
    "country",
    "city",
    "description",
    "occurred_at",
    "event_id",
)
TRANSACTION_KEY = ("customer_id", "occurred_at", "transaction_id")
"""The key of a transaction row in every store. The projector writes a row per
``transaction.posted`` event; a producer that posts the same transaction again under another
event id (which the log cannot tell from a new fact) gets a second row if the time differs,
as the twin's counters and balance count it twice."""

ALERT_COLUMNS = (
    "alert_id",
    "customer_id",
    "transaction_id",
    "severity",
    "status",
    "score",
    "reasons",
    "rule_ids",
    "raised_at",
    "updated_at",
)
ACCOUNT_COLUMNS = (
    "account_id",
    "customer_id",
    "type",
    "currency",
    "balance",
    "status",
    "opened_at",
    "updated_at",
)


def twin_doc(twin: Twin) -> bytes:
    return codec.encode_twin(twin)


def subject_id(twin: Twin) -> str:
    if isinstance(twin, CustomerTwin):
        return twin.customer_id
    if isinstance(twin, BranchTwin):
        return twin.branch_id
    return twin.application_id


def loan_customer(twin: Twin) -> str | None:
    return twin.customer_id if isinstance(twin, LoanTwin) else None


def account_rows(
    customer: CustomerTwin,
    money: Callable[[Decimal], Any],
    time: Callable[[datetime], Any],
    before: Twin | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of the customer's accounts; with ``before`` (the twin as stored), only of the
    accounts that changed since (the rules keep an untouched account as the same object)."""
    accounts = customer.accounts
    if isinstance(before, CustomerTwin):
        if before.accounts is accounts:
            return []
        stored = {id(a) for a in before.accounts}  # ``before`` keeps them alive: ids are unique
        accounts = tuple(a for a in accounts if id(a) not in stored)
    return [
        (
            a.account_id,
            customer.customer_id,
            a.type,
            a.currency,
            money(a.balance),
            a.status,
            None if a.opened_at is None else time(a.opened_at),
            time(a.updated_at),
        )
        for a in accounts
    ]


def changed_account_rows(
    changes: ProjectionChanges, money: Callable[[Decimal], Any], time: Callable[[datetime], Any]
) -> list[tuple[Any, ...]]:
    """The account rows a batch writes: of its customers, the accounts that changed."""
    return [
        row
        for key, twin in changes.twins.items()
        if isinstance(twin, CustomerTwin)
        for row in account_rows(twin, money, time, changes.before.get(key))
    ]


def transaction_row(
    r: TransactionRecord, money: Callable[[Decimal], Any], time: Callable[[datetime], Any]
) -> tuple[Any, ...]:
    return (
        r.transaction_id,
        r.customer_id,
        r.account_id,
        money(r.amount),
        r.currency,
        r.direction,
        r.channel,
        r.merchant,
        r.merchant_category,
        r.terminal_id,
        r.card_token,
        r.device_id,
        r.country,
        r.city,
        r.description,
        time(r.occurred_at),
        r.event_id,
    )


def transaction_from_row(
    row: tuple[Any, ...], time: Callable[[Any], datetime]
) -> TransactionRecord:
    values = list(row)
    values[3] = Decimal(str(values[3]))
    values[15] = time(values[15])
    return TransactionRecord(*values)


def alert_row(a: FraudAlert, time: Callable[[datetime], Any]) -> tuple[Any, ...]:
    return (
        a.alert_id,
        a.customer_id,
        a.transaction_id,
        a.severity,
        a.status,
        a.score,
        orjson.dumps(list(a.reasons)).decode(),
        orjson.dumps(list(a.rule_ids)).decode(),
        time(a.raised_at),
        time(a.updated_at),
    )


def alert_from_row(row: tuple[Any, ...], time: Callable[[Any], datetime]) -> FraudAlert:
    alert_id, customer_id, txn_id, severity, status, score, reasons, rule_ids, raised, updated = row
    return FraudAlert(
        alert_id=alert_id,
        customer_id=customer_id,
        transaction_id=txn_id,
        severity=severity,
        status=status,
        score=score,
        reasons=tuple(orjson.loads(reasons)),
        rule_ids=tuple(orjson.loads(rule_ids)),
        raised_at=time(raised),
        updated_at=time(updated),
    )
