"""The reader half of the SQL state stores (SQLite and PostgreSQL): one set of queries.

An adapter says how to run a statement (its driver, its connections, its error mapping), how
its times read back, and how to select the alert columns; the statements are written once,
with ``?`` marks that the PostgreSQL adapter turns into ``%s``.

Reads go to the generation this build serves (:func:`banktwin.store.generations.served`),
looked up again at most every :attr:`SqlTwinReader.generation_check_s` seconds, so a switch
made by another process is seen within that time; a failed read looks it up again at once
(the generation it read may just have been dropped).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.errors import UnavailableError
from banktwin.store import codec, sql_generations
from banktwin.store.generations import TwinGeneration, not_ready, served
from banktwin.store.port import AlertQuery, Page
from banktwin.store.rows import (
    ALERT_COLUMNS,
    TRANSACTION_COLUMNS,
    TWIN_TABLES,
    alert_from_row,
    transaction_from_row,
)

_NEWEST_FIRST = "ORDER BY occurred_at DESC, transaction_id DESC"
_ALERTS_NEWEST_FIRST = "ORDER BY raised_at DESC, alert_id DESC LIMIT ? OFFSET ?"
_ALERT_CRITERIA = {
    "status": "status = ?",
    "severity": "severity = ?",
    "customer_id": "customer_id = ?",
    "raised_since": "raised_at >= ?",
}
"""Each criterion of an :class:`~banktwin.store.port.AlertQuery` as a condition."""


@dataclass(frozen=True, slots=True)
class ReadStatements:
    """The reader's statements on one generation's tables."""

    docs: dict[SubjectKind, str]
    customer_version: str
    loans_of: str
    count_transactions: str
    transactions_page: str
    transactions_until: str
    transaction_by_id: str
    alert_by_id: str
    count_branches: str
    branches_page: str


@lru_cache(maxsize=16)
def read_statements(suffix: str, alert_select: str) -> ReadStatements:
    """The statements for the tables named with ``suffix`` (``_g2``; ``""``: generation 1)."""
    transactions = f"transactions{suffix}"
    loans = f"loans{suffix}"
    alerts = f"fraud_alerts{suffix}"
    columns = ", ".join(TRANSACTION_COLUMNS)
    return ReadStatements(
        docs={
            kind: f"SELECT doc FROM {spec.table}{suffix} WHERE {spec.key} = ?"
            for kind, spec in TWIN_TABLES.items()
        },
        customer_version=(
            f"SELECT version, (SELECT COUNT(*) FROM {loans} WHERE customer_id = ?), "
            f"(SELECT COALESCE(SUM(version), 0) FROM {loans} "
            f"WHERE customer_id = c.customer_id) "
            f"FROM customers{suffix} AS c WHERE customer_id = ?"
        ),
        loans_of=f"SELECT doc FROM {loans} WHERE customer_id = ? ORDER BY updated_at DESC",
        count_transactions=f"SELECT COUNT(*) FROM {transactions} WHERE customer_id = ?",
        transactions_page=(
            f"SELECT {columns} FROM {transactions} "
            f"WHERE customer_id = ? {_NEWEST_FIRST} LIMIT ? OFFSET ?"
        ),
        transactions_until=(
            f"SELECT {columns} FROM {transactions} "
            f"WHERE customer_id = ? AND occurred_at <= ? {_NEWEST_FIRST} LIMIT ?"
        ),
        transaction_by_id=(
            f"SELECT {columns} FROM {transactions} "
            f"WHERE customer_id = ? AND transaction_id = ? {_NEWEST_FIRST} LIMIT 1"
        ),
        alert_by_id=f"SELECT {alert_select} FROM {alerts} WHERE alert_id = ?",
        count_branches=f"SELECT COUNT(*) FROM branches{suffix}",
        branches_page=f"SELECT doc FROM branches{suffix} ORDER BY branch_id LIMIT ? OFFSET ?",
    )


@lru_cache(maxsize=64)
def alert_list_statements(
    suffix: str, alert_select: str, criteria: tuple[str, ...]
) -> tuple[str, str]:
    """The count and the page of the alerts meeting ``criteria`` (names of
    :data:`_ALERT_CRITERIA`, in that order), on the tables named with ``suffix``."""
    alerts = f"fraud_alerts{suffix}"
    where = " AND ".join(_ALERT_CRITERIA[c] for c in criteria)
    where = f" WHERE {where}" if where else ""
    return (
        f"SELECT COUNT(*) FROM {alerts}{where}",
        f"SELECT {alert_select} FROM {alerts}{where} {_ALERTS_NEWEST_FIRST}",
    )


class SqlTwinReader(ABC):
    """:class:`~banktwin.store.port.TwinReader` over the projection tables."""

    alert_select: str = ", ".join(ALERT_COLUMNS)
    """The alert columns as the adapter selects them (PostgreSQL reads jsonb as text)."""
    generation_check_s: float = 1.0
    """How long readers trust the generation they last looked up."""

    _twin_format: str
    _served: TwinGeneration | None = None
    _served_seen: list[TwinGeneration]
    _served_checked: float = float("-inf")

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

    # --- which generation ---------------------------------------------------------------

    def _generations(self) -> list[TwinGeneration]:
        rows = self._fetch("read the twin generations", sql_generations.SELECT_GENERATIONS)
        return [sql_generations.generation_from_row(r, self._read_time) for r in rows]

    def _look_again(self) -> None:
        """Forget the served generation: the next read looks it up."""
        self._served_checked = float("-inf")

    def served_generation(self) -> TwinGeneration:
        now = time.monotonic()
        if now - self._served_checked >= self.generation_check_s:
            seen = self._generations()
            self._served, self._served_seen = served(seen, self._twin_format), seen
            self._served_checked = now
        if self._served is None:
            raise not_ready(self._served_seen, self._twin_format)
        return self._served

    def _read(self, what: str, pick: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Run the statement named ``pick`` of the served generation's statements."""
        statements = read_statements(self.served_generation().suffix, self.alert_select)
        return self._read_sql(what, getattr(statements, pick), params)

    def _read_sql(self, what: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._fetch(what, sql, params)
        except UnavailableError:
            self._look_again()
            raise

    # --- queries ------------------------------------------------------------------------

    def _doc(self, kind: SubjectKind, key: str) -> Twin | None:
        statements = read_statements(self.served_generation().suffix, self.alert_select)
        spec = TWIN_TABLES[kind]
        try:
            rows = self._fetch(f"read {spec.table}", statements.docs[kind], (key,))
        except UnavailableError:
            self._look_again()
            raise
        return spec.decode(rows[0][0]) if rows else None

    def customer(self, customer_id: str) -> CustomerTwin | None:
        twin = self._doc(SubjectKind.CUSTOMER, customer_id)
        return twin if isinstance(twin, CustomerTwin) else None

    def branch(self, branch_id: str) -> BranchTwin | None:
        twin = self._doc(SubjectKind.BRANCH, branch_id)
        return twin if isinstance(twin, BranchTwin) else None

    def branches(self, limit: int, offset: int) -> Page[BranchTwin]:
        total = self._read("read branches", "count_branches", ())[0][0]
        rows = self._read("read branches", "branches_page", (limit, offset))
        twins = (codec.decode_twin(SubjectKind.BRANCH, doc) for (doc,) in rows)
        return Page([b for b in twins if isinstance(b, BranchTwin)], int(total))

    def loan(self, application_id: str) -> LoanTwin | None:
        twin = self._doc(SubjectKind.LOAN, application_id)
        return twin if isinstance(twin, LoanTwin) else None

    def customer_version(self, customer_id: str) -> str | None:
        rows = self._read(
            "read a customer's version", "customer_version", (customer_id, customer_id)
        )
        return f"{rows[0][0]}.{rows[0][1]}.{rows[0][2]}" if rows else None

    def loans_of(self, customer_id: str) -> list[LoanTwin]:
        rows = self._read("read loans", "loans_of", (customer_id,))
        loans = (codec.decode_twin(SubjectKind.LOAN, doc) for (doc,) in rows)
        return [loan for loan in loans if isinstance(loan, LoanTwin)]

    def transactions(self, customer_id: str, limit: int, offset: int) -> Page[TransactionRecord]:
        total = self._read("read transactions", "count_transactions", (customer_id,))[0][0]
        rows = self._read("read transactions", "transactions_page", (customer_id, limit, offset))
        return Page([transaction_from_row(r, self._read_time) for r in rows], int(total))

    def recent_transactions(
        self, customer_id: str, limit: int, until: datetime | None = None
    ) -> list[TransactionRecord]:
        if until is None:
            rows = self._read("read transactions", "transactions_page", (customer_id, limit, 0))
        else:
            rows = self._read(
                "read transactions",
                "transactions_until",
                (customer_id, self._time_param(until), limit),
            )
        return [transaction_from_row(r, self._read_time) for r in rows]

    def transaction(self, customer_id: str, transaction_id: str) -> TransactionRecord | None:
        rows = self._read("read a transaction", "transaction_by_id", (customer_id, transaction_id))
        return transaction_from_row(rows[0], self._read_time) if rows else None

    def fraud_alerts(self, query: AlertQuery, limit: int, offset: int) -> Page[FraudAlert]:
        given = {
            "status": query.status,
            "severity": query.severity,
            "customer_id": query.customer_id,
            "raised_since": None
            if query.raised_since is None
            else self._time_param(query.raised_since),
        }
        criteria = tuple(c for c in _ALERT_CRITERIA if given[c] is not None)
        params = tuple(given[c] for c in criteria)
        count, page = alert_list_statements(
            self.served_generation().suffix, self.alert_select, criteria
        )
        total = self._read_sql("read fraud alerts", count, params)[0][0]
        rows = self._read_sql("read fraud alerts", page, (*params, limit, offset))
        return Page([alert_from_row(r, self._read_time) for r in rows], int(total))

    def fraud_alert(self, alert_id: str) -> FraudAlert | None:
        rows = self._read("read a fraud alert", "alert_by_id", (alert_id,))
        return alert_from_row(rows[0], self._read_time) if rows else None

    def ping(self) -> None:
        self._fetch("reach the state store", "SELECT 1 FROM projection_positions LIMIT 1")
