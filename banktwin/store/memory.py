"""An in-memory state store: the fake that unit tests run the whole flow on."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.errors import ConflictError
from banktwin.store.port import TWIN_CONSUMER, Page, ProjectionChanges, SubjectKey


class InMemoryStateStore:
    """The :class:`~banktwin.store.port.StateStore` in dictionaries."""

    @property
    def reads_are_local(self) -> bool:
        return True  # memory

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._positions: dict[str, dict[int, int]] = {}
        self._empty_tables()

    def _empty_tables(self) -> None:
        self._twins: dict[SubjectKey, Twin] = {}
        self._transactions: dict[tuple[str, datetime, str], TransactionRecord] = {}
        self._alerts: dict[str, FraudAlert] = {}

    def positions(self, consumer: str) -> dict[int, int]:
        with self._lock:
            return dict(self._positions.get(consumer, {}))

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        with self._lock:
            return {key: self._twins[key] for key in keys if key in self._twins}

    def commit(self, changes: ProjectionChanges) -> None:
        with self._lock:
            stored = self._positions.get(changes.consumer, {})
            for partition, offset in changes.start.items():
                if stored.get(partition, 0) != offset:
                    raise ConflictError(
                        f"partition {partition} is at {stored.get(partition, 0)}, not {offset}"
                    )
            self._twins.update(changes.twins)
            for record in changes.transactions:
                key = (record.customer_id, record.occurred_at, record.transaction_id)
                self._transactions.setdefault(key, record)  # rows.TRANSACTION_KEY
            for alert in changes.alerts_raised:
                self._alerts.setdefault(alert.alert_id, alert)
            for change in changes.alert_changes:
                if change.alert_id in self._alerts:
                    self._alerts[change.alert_id] = replace(
                        self._alerts[change.alert_id],
                        status=change.status,
                        updated_at=change.updated_at,
                    )
            self._positions[changes.consumer] = {**stored, **changes.end}

    def reset(self, consumer: str = TWIN_CONSUMER) -> None:
        with self._lock:
            self._positions.pop(consumer, None)
            self._empty_tables()

    def customer(self, customer_id: str) -> CustomerTwin | None:
        twin = self._twins.get((SubjectKind.CUSTOMER, customer_id))
        return twin if isinstance(twin, CustomerTwin) else None

    def branch(self, branch_id: str) -> BranchTwin | None:
        twin = self._twins.get((SubjectKind.BRANCH, branch_id))
        return twin if isinstance(twin, BranchTwin) else None

    def loan(self, application_id: str) -> LoanTwin | None:
        twin = self._twins.get((SubjectKind.LOAN, application_id))
        return twin if isinstance(twin, LoanTwin) else None

    def customer_version(self, customer_id: str) -> str | None:
        customer = self.customer(customer_id)
        if customer is None:
            return None
        loans = self.loans_of(customer_id)
        return f"{customer.events_applied}.{len(loans)}.{sum(x.events_applied for x in loans)}"

    def loans_of(self, customer_id: str) -> list[LoanTwin]:
        with self._lock:
            loans = [
                t
                for t in self._twins.values()
                if isinstance(t, LoanTwin) and t.customer_id == customer_id
            ]
        return sorted(loans, key=lambda t: t.last_updated, reverse=True)

    def transactions(self, customer_id: str, limit: int, offset: int) -> Page[TransactionRecord]:
        mine = self._newest_first(customer_id, None)
        return Page(mine[offset : offset + limit], len(mine))

    def recent_transactions(
        self, customer_id: str, limit: int, until: datetime | None = None
    ) -> list[TransactionRecord]:
        return self._newest_first(customer_id, until)[:limit]

    def _newest_first(self, customer_id: str, until: datetime | None) -> list[TransactionRecord]:
        with self._lock:
            mine = [
                t
                for t in self._transactions.values()
                if t.customer_id == customer_id and (until is None or t.occurred_at <= until)
            ]
        mine.sort(key=lambda t: (t.occurred_at, t.transaction_id), reverse=True)
        return mine

    def fraud_alerts(self, status: str | None, limit: int, offset: int) -> Page[FraudAlert]:
        with self._lock:
            alerts = [a for a in self._alerts.values() if status is None or a.status == status]
        alerts.sort(key=lambda a: (a.raised_at, a.alert_id), reverse=True)
        return Page(alerts[offset : offset + limit], len(alerts))

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
