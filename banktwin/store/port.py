"""The state-store ports: where the projector writes the twin and where readers find it.

One adapter implements both. The write side has one rule that everything rests on: a batch's
new state and the log positions it reaches are committed in **one transaction**, so a crash
never loses an applied event or applies one twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import AlertStatusChange, TransactionRecord
from banktwin.domain.twin import Twin

SubjectKey = tuple[SubjectKind, str]
T = TypeVar("T")

TWIN_CONSUMER = "twin"
"""The name the twin projector's positions are kept under."""


@dataclass
class ProjectionChanges:
    """Everything one projector batch writes."""

    consumer: str
    start: dict[int, int]
    """Positions the batch was read from; the commit fails if the store has moved on."""
    end: dict[int, int]
    """Positions after the batch (next offset to read, per partition)."""
    twins: dict[SubjectKey, Twin] = field(default_factory=dict)
    before: dict[SubjectKey, Twin] = field(default_factory=dict)
    """The same subjects' twins as the store held them before the batch, where known: a store
    may then skip rows the batch left as they were (accounts no event touched)."""
    transactions: list[TransactionRecord] = field(default_factory=list)
    alerts_raised: list[FraudAlert] = field(default_factory=list)
    alert_changes: list[AlertStatusChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int


class ProjectionStore(Protocol):
    """The projector's side of the store."""

    def positions(self, consumer: str) -> dict[int, int]:
        """Per partition, the next log offset ``consumer`` will apply (missing means 0)."""
        ...

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        """The twins of the given subjects that exist (unknown keys are left out)."""
        ...

    def commit(self, changes: ProjectionChanges) -> None:
        """Write twins, rows and new positions in one transaction.

        Raises:
            ConflictError: the stored positions are not ``changes.start`` (another projector
                applied these events); nothing was written.
            UnavailableError: the store cannot be written; nothing was written.
        """
        ...

    def reset(self, consumer: str = TWIN_CONSUMER) -> None:
        """Delete every twin, row and the positions of ``consumer`` (before a replay from the
        log); other consumers' positions and state are left alone."""
        ...


class TwinReader(Protocol):
    """Queries the API serves from. Lists are newest first."""

    @property
    def reads_are_local(self) -> bool:
        """True when a read never waits on a network (an embedded file, memory): the API may
        then read inline on its event loop rather than hop to a worker thread."""
        ...

    def customer(self, customer_id: str) -> CustomerTwin | None: ...

    def branch(self, branch_id: str) -> BranchTwin | None: ...

    def loan(self, application_id: str) -> LoanTwin | None: ...

    def loans_of(self, customer_id: str) -> list[LoanTwin]:
        """A customer's loan applications, newest first."""
        ...

    def customer_version(self, customer_id: str) -> str | None:
        """A token that changes whenever the customer's twin or any of their loan
        applications changes (``None`` for an unknown customer): a cheap check before
        reusing a rendered view."""
        ...

    def transactions(self, customer_id: str, limit: int, offset: int) -> Page[TransactionRecord]:
        """One page of a customer's transactions by ``occurred_at``, newest first."""
        ...

    def recent_transactions(
        self, customer_id: str, limit: int, until: datetime | None = None
    ) -> list[TransactionRecord]:
        """A customer's ``limit`` newest transactions by ``occurred_at`` (those that occurred
        at or before ``until``, if given: the recent transactions of an as-of read)."""
        ...

    def fraud_alerts(self, status: str | None, limit: int, offset: int) -> Page[FraudAlert]:
        """One page of fraud alerts by ``raised_at``, newest first, optionally of one status."""
        ...

    def ping(self) -> None:
        """Return if the store is reachable, raise ``UnavailableError`` otherwise."""
        ...


class StateStore(ProjectionStore, TwinReader, Protocol):
    """Both sides, as adapters provide them."""

    def close(self) -> None: ...
