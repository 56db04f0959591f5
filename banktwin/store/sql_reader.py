"""The reader half of the SQL state stores (SQLite and PostgreSQL): one set of queries.

An adapter says how to run a statement (its driver, its connections, its error mapping), how
its times read back, and how to select the alert columns; the statements are written once,
with ``?`` marks that the PostgreSQL adapter turns into ``%s``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.store import codec
from banktwin.store.port import Page
from banktwin.store.rows import (
    ALERT_COLUMNS,
    TRANSACTION_COLUMNS,
    TWIN_TABLES,
    alert_from_row,
    transaction_from_row,
)

_CUSTOMER_VERSION = (
    "SELECT version, (SELECT COUNT(*) FROM loans WHERE customer_id = ?), "
    "(SELECT COALESCE(SUM(version), 0) FROM loans WHERE customer_id = customers.customer_id) "
    "FROM customers WHERE customer_id = ?"
)
_NEWEST_FIRST = "ORDER BY occurred_at DESC, transaction_id DESC"
_TRANSACTIONS_PAGE = (
    f"SELECT {', '.join(TRANSACTION_COLUMNS)} FROM transactions "
    f"WHERE customer_id = ? {_NEWEST_FIRST} LIMIT ? OFFSET ?"
)
_TRANSACTIONS_UNTIL = (
    f"SELECT {', '.join(TRANSACTION_COLUMNS)} FROM transactions "
    f"WHERE customer_id = ? AND occurred_at <= ? {_NEWEST_FIRST} LIMIT ?"
)


class SqlTwinReader(ABC):
    """:class:`~banktwin.store.port.TwinReader` over the projection tables."""

    alert_select: str = ", ".join(ALERT_COLUMNS)
    """The alert columns as the adapter selects them (PostgreSQL reads jsonb as text)."""

    @abstractmethod
    def _fetch(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one statement (``?`` marks); failures raise ``UnavailableError``
        naming ``what`` the caller was doing."""

    @abstractmethod
    def _read_time(self, value: Any) -> datetime:
        """A stored time as an aware datetime."""

    @abstractmethod
    def _time_param(self, value: datetime) -> Any:
        """A time as the adapter's statements compare it with stored times."""

    def _doc(self, kind: SubjectKind, key: str) -> Twin | None:
        spec = TWIN_TABLES[kind]
        rows = self._fetch(
            f"read {spec.table}", f"SELECT doc FROM {spec.table} WHERE {spec.key} = ?", (key,)
        )
        return spec.decode(rows[0][0]) if rows else None

    def customer(self, customer_id: str) -> CustomerTwin | None:
        twin = self._doc(SubjectKind.CUSTOMER, customer_id)
        return twin if isinstance(twin, CustomerTwin) else None

    def branch(self, branch_id: str) -> BranchTwin | None:
        twin = self._doc(SubjectKind.BRANCH, branch_id)
        return twin if isinstance(twin, BranchTwin) else None

    def loan(self, application_id: str) -> LoanTwin | None:
        twin = self._doc(SubjectKind.LOAN, application_id)
        return twin if isinstance(twin, LoanTwin) else None

    def customer_version(self, customer_id: str) -> str | None:
        rows = self._fetch(
            "read a customer's version", _CUSTOMER_VERSION, (customer_id, customer_id)
        )
        return f"{rows[0][0]}.{rows[0][1]}.{rows[0][2]}" if rows else None

    def loans_of(self, customer_id: str) -> list[LoanTwin]:
        rows = self._fetch(
            "read loans",
            "SELECT doc FROM loans WHERE customer_id = ? ORDER BY updated_at DESC",
            (customer_id,),
        )
        loans = (codec.decode_twin(SubjectKind.LOAN, doc) for (doc,) in rows)
        return [loan for loan in loans if isinstance(loan, LoanTwin)]

    def transactions(self, customer_id: str, limit: int, offset: int) -> Page[TransactionRecord]:
        total = self._fetch(
            "read transactions",
            "SELECT COUNT(*) FROM transactions WHERE customer_id = ?",
            (customer_id,),
        )[0][0]
        rows = self._fetch("read transactions", _TRANSACTIONS_PAGE, (customer_id, limit, offset))
        return Page([transaction_from_row(r, self._read_time) for r in rows], int(total))

    def recent_transactions(
        self, customer_id: str, limit: int, until: datetime | None = None
    ) -> list[TransactionRecord]:
        if until is None:
            rows = self._fetch("read transactions", _TRANSACTIONS_PAGE, (customer_id, limit, 0))
        else:
            rows = self._fetch(
                "read transactions",
                _TRANSACTIONS_UNTIL,
                (customer_id, self._time_param(until), limit),
            )
        return [transaction_from_row(r, self._read_time) for r in rows]

    def fraud_alerts(self, status: str | None, limit: int, offset: int) -> Page[FraudAlert]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        total = self._fetch(
            "read fraud alerts", f"SELECT COUNT(*) FROM fraud_alerts {where}", params
        )[0][0]
        rows = self._fetch(
            "read fraud alerts",
            f"SELECT {self.alert_select} FROM fraud_alerts {where} "
            "ORDER BY raised_at DESC, alert_id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return Page([alert_from_row(r, self._read_time) for r in rows], int(total))

    def ping(self) -> None:
        self._fetch("reach the state store", "SELECT 1 FROM projection_positions LIMIT 1")
