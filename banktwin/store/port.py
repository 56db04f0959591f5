"""The state-store ports: where the projector writes the twin and where readers find it.

One adapter implements both. The write side has one rule that everything rests on: a batch's
new state and the log positions it reaches are committed in **one transaction**, so a crash
never loses an applied event or applies one twice.

A store may hold several *generations* of the twin (:mod:`banktwin.store.generations`): the
projector writes one, readers are served one, and they differ while a new one is built beside
the served one (a build whose twin format changed, a replay). The ports hide which is which:
``positions``, ``load`` and ``commit`` work on the projector's, the reads on the served one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from banktwin.domain.branch import BranchTwin
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import SubjectKind
from banktwin.domain.loan import LoanTwin
from banktwin.domain.records import AlertStatusChange, TransactionRecord
from banktwin.domain.twin import Twin
from banktwin.store.generations import TwinGeneration

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
    log_end: dict[int, int] | None = None
    """While the projector's generation is being built (:meth:`ProjectionStore.rebuilding`),
    the log's end offsets of every partition when the batch began: once commits have
    reached them on every partition, the store serves that generation."""


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Which fraud alerts a list holds: those meeting every criterion given."""

    status: str | None = None
    severity: str | None = None
    customer_id: str | None = None
    raised_since: datetime | None = None
    """Raised at or after this time."""


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
        """Start the twin over (before a replay from the log): a new, empty generation that
        the projector writes from now on, built beside the one readers are served until it
        has caught up (a store serving none serves it at once). Other consumers' positions
        and state are left alone.

        Raises:
            TwinNotReadyError: the store's active twin has a newer format than this build's.
        """
        ...

    def rebuilding(self) -> bool:
        """True while the projector's generation is being built beside the served one: its
        commits then carry ``log_end``."""
        ...

    def switch_if_caught_up(self, consumer: str, log_end: Mapping[int, int]) -> bool:
        """Serve the generation being built if ``consumer``'s positions have reached
        ``log_end`` on every partition (for a log that grows no more, where no commit
        would): returns True if it switched."""
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

    def branches(self, limit: int, offset: int) -> Page[BranchTwin]:
        """One page of every branch twin, by branch id (a stable order for paging), with
        the number of branches in ``total``."""
        ...

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

    def transaction(self, customer_id: str, transaction_id: str) -> TransactionRecord | None:
        """One of a customer's transactions by its id (``None``: not in the twin). A
        transaction posted twice at different times has two rows: the newest is given."""
        ...

    def fraud_alerts(self, query: AlertQuery, limit: int, offset: int) -> Page[FraudAlert]:
        """One page of the fraud alerts ``query`` selects, newest raised first (then by alert
        id, descending: a stable order for paging)."""
        ...

    def fraud_alert(self, alert_id: str) -> FraudAlert | None:
        """One fraud alert by its id (``None``: not in the twin)."""
        ...

    def ping(self) -> None:
        """Return if the store is reachable, raise ``UnavailableError`` otherwise."""
        ...

    def served_generation(self) -> TwinGeneration:
        """The generation reads are served from (looked up again at most every second).

        Raises:
            TwinNotReadyError: none of this build's twin format is complete yet (one is being
                built); every read raises it meanwhile (the API answers 503).
        """
        ...


@dataclass(frozen=True, slots=True)
class GenerationStatus:
    """A twin generation and its positions (for ``banktwin projections``)."""

    generation: TwinGeneration
    positions: dict[int, int]


class StateStore(ProjectionStore, TwinReader, Protocol):
    """Both sides, as adapters provide them, and the upkeep of generations."""

    def generations(self, consumer: str = TWIN_CONSUMER) -> list[GenerationStatus]:
        """Every generation the store recorded, oldest first, with ``consumer``'s positions."""
        ...

    def drop_retired(self) -> list[int]:
        """Drop the retired generations' tables (a build that wrote one must no longer run);
        returns their numbers."""
        ...

    def close(self) -> None: ...
