"""An in-memory state store: the fake that unit tests run the whole flow on.

It keeps generations as the SQL stores do (a replay builds a new one beside the one readers
are served, and readers switch when it has caught up), within one process and one format.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.errors import ConflictError
from banktwin.store import codec
from banktwin.store.generations import (
    ACTIVE,
    BUILDING,
    DROPPED,
    RETIRED,
    TwinGeneration,
    caught_up,
    obsolete_at_switch,
)
from banktwin.store.port import (
    TWIN_CONSUMER,
    AlertQuery,
    GenerationStatus,
    Page,
    ProjectionChanges,
    SubjectKey,
)


@dataclass
class _Tables:
    """One generation's twins and rows, and its consumers' positions."""

    generation: TwinGeneration
    twins: dict[SubjectKey, Twin] = field(default_factory=dict)
    transactions: dict[tuple[str, datetime, str], TransactionRecord] = field(default_factory=dict)
    alerts: dict[str, FraudAlert] = field(default_factory=dict)
    positions: dict[str, dict[int, int]] = field(default_factory=dict)
    reached: set[int] = field(default_factory=set)


def _selects(query: AlertQuery, alert: FraudAlert) -> bool:
    return (
        (query.status is None or alert.status == query.status)
        and (query.severity is None or alert.severity == query.severity)
        and (query.customer_id is None or alert.customer_id == query.customer_id)
        and (query.raised_since is None or alert.raised_at >= query.raised_since)
    )


class InMemoryStateStore:
    """The :class:`~banktwin.store.port.StateStore` in dictionaries."""

    @property
    def reads_are_local(self) -> bool:
        return True  # memory

    def __init__(self) -> None:
        self._lock = threading.Lock()
        now = datetime.now(UTC)
        first = TwinGeneration(2, codec.TWIN_FORMAT, ACTIVE, now, now)
        self._all: list[_Tables] = [_Tables(first)]
        self._served = self._writing = self._all[0]

    # --- generations --------------------------------------------------------------------

    def _new_generation(self) -> None:
        for tables in self._all:
            if tables.generation.state == BUILDING:
                tables.generation = replace(tables.generation, state=DROPPED)
                tables.twins, tables.transactions, tables.alerts = {}, {}, {}
                tables.positions = {}
        number = max(t.generation.number for t in self._all) + 1
        made = _Tables(TwinGeneration(number, codec.TWIN_FORMAT, BUILDING, datetime.now(UTC)))
        self._all.append(made)
        self._writing = made

    def _switch_if_caught_up(self, at: Mapping[int, int], log_end: Mapping[int, int]) -> bool:
        building = self._writing
        if building.generation.state != BUILDING:
            return False
        building.reached = caught_up(building.reached, at, log_end)
        if not set(log_end) <= building.reached:
            return False
        now = datetime.now(UTC)
        before = [t.generation for t in self._all]
        dropped = {g.number for g in obsolete_at_switch(before, building.generation)}
        for tables in self._all:
            g = tables.generation
            if g.number in dropped:
                tables.generation = replace(g, state=DROPPED)
                tables.twins, tables.transactions, tables.alerts = {}, {}, {}
                tables.positions = {}
            elif g.state == ACTIVE:
                tables.generation = replace(g, state=RETIRED, retired_at=now)
        building.generation = replace(building.generation, state=ACTIVE, completed_at=now)
        self._served = building
        return True

    def rebuilding(self) -> bool:
        return self._writing.generation.state == BUILDING

    def switch_if_caught_up(self, consumer: str, log_end: Mapping[int, int]) -> bool:
        with self._lock:
            at = self._writing.positions.get(consumer, {})
            return self._switch_if_caught_up(at, log_end)

    def served_generation(self) -> TwinGeneration:
        return self._served.generation

    def generations(self, consumer: str = TWIN_CONSUMER) -> list[GenerationStatus]:
        with self._lock:
            return [
                GenerationStatus(t.generation, dict(t.positions.get(consumer, {})))
                for t in self._all
            ]

    def drop_retired(self) -> list[int]:
        with self._lock:
            dropped = []
            for tables in self._all:
                if tables.generation.state == RETIRED:
                    tables.generation = replace(tables.generation, state=DROPPED)
                    tables.twins, tables.transactions, tables.alerts = {}, {}, {}
                    tables.positions = {}
                    dropped.append(tables.generation.number)
            return dropped

    # --- projector side -----------------------------------------------------------------

    def positions(self, consumer: str) -> dict[int, int]:
        with self._lock:
            return dict(self._writing.positions.get(consumer, {}))

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        with self._lock:
            twins = self._writing.twins
            return {key: twins[key] for key in keys if key in twins}

    def commit(self, changes: ProjectionChanges) -> None:
        with self._lock:
            mine = self._writing
            stored = mine.positions.get(changes.consumer, {})
            for partition, offset in changes.start.items():
                if stored.get(partition, 0) != offset:
                    raise ConflictError(
                        f"partition {partition} is at {stored.get(partition, 0)}, not {offset}"
                    )
            mine.twins.update(changes.twins)
            for record in changes.transactions:
                key = (record.customer_id, record.occurred_at, record.transaction_id)
                mine.transactions.setdefault(key, record)  # rows.TRANSACTION_KEY
            for alert in changes.alerts_raised:
                mine.alerts.setdefault(alert.alert_id, alert)
            for change in changes.alert_changes:
                if change.alert_id in mine.alerts:
                    mine.alerts[change.alert_id] = replace(
                        mine.alerts[change.alert_id],
                        status=change.status,
                        updated_at=change.updated_at,
                    )
            mine.positions[changes.consumer] = at = {**stored, **changes.end}
            if changes.log_end is not None:
                self._switch_if_caught_up(at, changes.log_end)

    def reset(self, consumer: str = TWIN_CONSUMER) -> None:
        with self._lock:
            self._new_generation()

    # --- reader side --------------------------------------------------------------------

    def customer(self, customer_id: str) -> CustomerTwin | None:
        twin = self._served.twins.get((SubjectKind.CUSTOMER, customer_id))
        return twin if isinstance(twin, CustomerTwin) else None

    def branch(self, branch_id: str) -> BranchTwin | None:
        twin = self._served.twins.get((SubjectKind.BRANCH, branch_id))
        return twin if isinstance(twin, BranchTwin) else None

    def branches(self, limit: int, offset: int) -> Page[BranchTwin]:
        with self._lock:
            found = [t for t in self._served.twins.values() if isinstance(t, BranchTwin)]
        found.sort(key=lambda b: b.branch_id)
        return Page(found[offset : offset + limit], len(found))

    def loan(self, application_id: str) -> LoanTwin | None:
        twin = self._served.twins.get((SubjectKind.LOAN, application_id))
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
                for t in self._served.twins.values()
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
                for t in self._served.transactions.values()
                if t.customer_id == customer_id and (until is None or t.occurred_at <= until)
            ]
        mine.sort(key=lambda t: (t.occurred_at, t.transaction_id), reverse=True)
        return mine

    def transaction(self, customer_id: str, transaction_id: str) -> TransactionRecord | None:
        mine = self._newest_first(customer_id, None)
        return next((t for t in mine if t.transaction_id == transaction_id), None)

    def fraud_alerts(self, query: AlertQuery, limit: int, offset: int) -> Page[FraudAlert]:
        with self._lock:
            alerts = [a for a in self._served.alerts.values() if _selects(query, a)]
        alerts.sort(key=lambda a: (a.raised_at, a.alert_id), reverse=True)
        return Page(alerts[offset : offset + limit], len(alerts))

    def fraud_alert(self, alert_id: str) -> FraudAlert | None:
        with self._lock:
            return self._served.alerts.get(alert_id)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
