"""The fraud engine: a consumer of the log that scores every debit as it arrives.

For each ``transaction.posted`` debit it computes the leak-free features (customer, card,
terminal, merchant and category: :mod:`banktwin.fraud.features`), evaluates the rules, asks
the champion model, blends them (:mod:`banktwin.fraud.decision`) and, above the threshold,
appends a ``fraud.alert_raised``. Logins, devices, profile changes and fraud reports only
change the state the features are computed from.

Deciding is the :class:`~banktwin.fraud.scorer.Scorer`'s: one alert per transaction, whatever
rescoring.

**State and positions.** The engine runs over every partition of the log in one process: the
terminal, merchant and category state spans customers, so one owner keeps it exact. The
staged engine (:mod:`banktwin.fraud.customer_stage`, :mod:`banktwin.fraud.entity_stage`)
splits it over processes by re-keying through the log (``docs/fraud.md``, "Scaling out").
State lives in memory and is folded in place, as a Kafka Streams local store. Every commit
writes the positions; every ``snapshot_interval_s`` the commit also writes the whole state
(customers by partition, and the entity book) with the positions it reflects, in the same
transaction. On start, or after a failed batch, the engine loads the last snapshot and folds
the log from its positions up to the committed ones *without scoring* (those transactions were
scored and their alerts appended before that commit), then scores from there. So no
transaction is scored twice or skipped, whatever fails when.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec

from banktwin.consumers.engine import Checkpoint, nonzero_positions
from banktwin.domain.events import Event
from banktwin.domain.payloads.account import Direction, TransactionPosted
from banktwin.fraud.entities import EntityBook
from banktwin.fraud.features import CustomerState, Features, features_at
from banktwin.fraud.history import in_time_order
from banktwin.fraud.scored_until import load_scored_until, reset_keeping_mark
from banktwin.fraud.scorer import ScoredDebit, Scorer
from banktwin.fraud.state_codec import (
    decode_book,
    decode_customers,
    encode_book,
    encode_customers,
)
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig
from banktwin.log.port import EventLog, LoggedEvent
from banktwin.observability.instruments import instruments
from banktwin.store.kv import KeyValueStore

log = logging.getLogger(__name__)

FRAUD_CONSUMER: Final = "fraud"
FOLDED_TYPES: Final = frozenset(
    {
        "transaction.posted",
        "customer.login",
        "customer.device_seen",
        "customer.profile_updated",
        "fraud.reported",
    }
)
"""The events the features are computed from; the engine skips every other type."""
SNAPSHOT_META: Final = "snapshot/meta"
SNAPSHOT_BOOK: Final = "snapshot/entities"
SNAPSHOT_CUSTOMERS: Final = "snapshot/customers/"


@dataclass(slots=True)
class FraudWork:
    """What the engine did since its last commit (for listeners and metrics)."""

    scored: int = 0
    alerts: int = 0


class _Meta(msgspec.Struct):
    """A snapshot's positions (the next offset of each partition it reflects)."""

    positions: dict[int, int]
    written_at: float


@dataclass(slots=True)
class FraudState:
    """Everything the features need: each customer's state and the entity book."""

    config: FeatureConfig = DEFAULT_CONFIG
    customers: dict[str, CustomerState] = field(default_factory=dict)
    entities: EntityBook = field(default_factory=EntityBook)

    def customer(self, customer_id: str) -> CustomerState:
        state = self.customers.get(customer_id)
        if state is None:
            state = self.customers[customer_id] = CustomerState(self.config)
        return state

    def fold(self, event: Event) -> None:
        """Fold one event the features use (any other is ignored)."""
        if event.type not in FOLDED_TYPES:
            return
        self.customer(event.subject_id).fold(event)
        if event.type in ("transaction.posted", "fraud.reported"):
            self.entities.fold(event)


def is_scored(event: Event) -> bool:
    """Debits are scored (money leaving is what fraud takes); credits only feed the state."""
    payload = event.payload
    return isinstance(payload, TransactionPosted) and payload.direction is Direction.DEBIT


def scored_debit(event: Event, features: Features) -> ScoredDebit:
    """A ``transaction.posted`` debit with its features, to decide on."""
    payload = event.payload
    assert isinstance(payload, TransactionPosted)
    return ScoredDebit(payload.transaction_id, event.subject_id, event.occurred_at, features)


class FraudEngine:
    """Scores every debit; raises alerts; keeps its state with its positions (see module)."""

    def __init__(
        self,
        log: EventLog,
        store: KeyValueStore,
        scorer: Scorer,
        *,
        config: FeatureConfig = DEFAULT_CONFIG,
        snapshot_interval_s: float = 60.0,
        name: str = FRAUD_CONSUMER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._log = log
        self._store = store
        self.scorer = scorer
        self._config = config
        self._snapshot_interval_s = snapshot_interval_s
        self._name = name
        self._clock = clock
        self._state: FraudState | None = None
        self._applied: dict[int, int] = {}
        """The positions the in-memory state reflects."""
        self._committed: dict[int, int] | None = None
        self._scored_until: dict[int, int] = {}
        self._snapshot_at = 0.0

    @property
    def name(self) -> str:
        return self._name

    @property
    def event_types(self) -> frozenset[str]:
        """The only events the engine reads (the runtime decodes no other)."""
        return FOLDED_TYPES

    @property
    def state(self) -> FraudState:
        """The in-memory state, loaded on first use."""
        if self._state is None:
            self._restore()
        assert self._state is not None
        return self._state

    def positions(self) -> dict[int, int]:
        return self._store.positions(self._name)

    def begin(self) -> FraudWork:
        committed = self._committed if self._committed is not None else self.positions()
        if self._state is None or nonzero_positions(self._applied) != nonzero_positions(committed):
            self._restore()  # a batch failed after folding, or another process committed
        return FraudWork()

    def process(self, work: FraudWork, batch: Sequence[LoggedEvent]) -> list[Event]:
        state = self.state  # loaded first: restoring a snapshot is not scoring
        started = time.perf_counter()
        pending: list[ScoredDebit] = []
        applied, scored_until = self._applied, self._scored_until
        for logged in batch:
            event = logged.event
            if event.type in FOLDED_TYPES:
                if is_scored(event) and logged.offset >= scored_until.get(logged.partition, 0):
                    customer = state.customer(event.subject_id)
                    features = features_at(customer, event, state.entities)
                    pending.append(scored_debit(event, features))
                state.fold(event)
            applied[logged.partition] = logged.offset + 1
        alerts = self._decide(work, pending)
        if pending:  # one observation per batch: its seconds per debit scored
            instruments().fraud_scoring.observe((time.perf_counter() - started) / len(pending))
        return alerts

    def _decide(self, work: FraudWork, pending: list[ScoredDebit]) -> list[Event]:
        alerts = self.scorer.alerts(pending)
        work.scored += len(pending)
        work.alerts += len(alerts)
        return alerts

    def commit(self, work: FraudWork, checkpoint: Checkpoint) -> None:
        # The state reflects every event up to the end, not only the last one folded: the
        # runtime hands the engine its types only (``event_types``).
        self._applied.update(checkpoint.end)
        puts: dict[str, bytes | None] = {}
        now = self._clock()
        if now - self._snapshot_at >= self._snapshot_interval_s:
            puts = self._snapshot(checkpoint.end, now)
        try:
            self._store.commit(checkpoint, puts)
        except Exception:
            self._committed = None
            raise
        self._committed = dict(checkpoint.end)
        if puts:
            self._snapshot_at = now

    def snapshot_now(self, positions: dict[int, int]) -> None:
        """Write the state as reflecting ``positions`` and commit them (after a training pass
        folded the history up to there: the engine starts live from it)."""
        start = self.positions()
        self._applied = dict(positions)
        self._store.commit(
            Checkpoint(self._name, start, positions), self._snapshot(positions, self._clock())
        )
        self._committed = dict(positions)
        self._snapshot_at = self._clock()

    def adopt(self, state: FraudState) -> None:
        """Take ``state`` as the engine's (built by folding history elsewhere)."""
        self._state = state

    def _snapshot(self, positions: Mapping[int, int], now: float) -> dict[str, bytes | None]:
        state = self.state
        by_partition: dict[int, dict[str, CustomerState]] = {
            p: {} for p in range(self._log.partitions)
        }
        for customer_id, customer in state.customers.items():
            by_partition[self._log.partition_of(customer_id)][customer_id] = customer
        puts: dict[str, bytes | None] = {
            SNAPSHOT_META: msgspec.msgpack.encode(_Meta(dict(positions), now)),
            SNAPSHOT_BOOK: encode_book(state.entities),
        }
        for partition, customers in by_partition.items():
            puts[f"{SNAPSHOT_CUSTOMERS}{partition}"] = encode_customers(customers)
        return puts

    def _restore(self) -> None:
        """Load the last snapshot and fold the log up to the committed positions, unscored."""
        committed = self.positions()
        keys = [SNAPSHOT_META, SNAPSHOT_BOOK] + [
            f"{SNAPSHOT_CUSTOMERS}{p}" for p in range(self._log.partitions)
        ]
        found = self._store.get_many(self._name, keys)
        self._scored_until = load_scored_until(self._store, self._name)
        state, start = self._decode_snapshot(found)
        folded = 0
        for logged in in_time_order(self._log, start, committed):
            state.fold(logged.event)
            folded += 1
        if folded:
            log.info("fraud engine: folded %d events after its snapshot", folded)
        self._state = state
        self._applied = dict(committed)
        self._committed = dict(committed)

    def _decode_snapshot(self, found: dict[str, bytes]) -> tuple[FraudState, dict[int, int]]:
        config = self._config
        fresh = FraudState(config, entities=EntityBook(config))
        raw_meta = found.get(SNAPSHOT_META)
        if raw_meta is None:
            return fresh, {}
        meta = msgspec.msgpack.decode(raw_meta, type=_Meta)
        book = decode_book(found[SNAPSHOT_BOOK], config) if SNAPSHOT_BOOK in found else None
        if book is None:
            return fresh, {}
        customers: dict[str, CustomerState] = {}
        for key, raw in found.items():
            if key.startswith(SNAPSHOT_CUSTOMERS):
                decoded = decode_customers(raw, config)
                if decoded is None:
                    return fresh, {}
                customers.update(decoded)
        return FraudState(config, customers, book), dict(meta.positions)

    def reset(self) -> None:
        """Delete the state and positions, but remember how far debits were scored: the
        rebuild folds them without scoring them again (:mod:`banktwin.fraud.scored_until`)."""
        self._scored_until = reset_keeping_mark(self._store, self._name)
        self._state = None
        self._applied = {}
        self._committed = None
        self._snapshot_at = 0.0
