"""What the staged fraud engine's two stages share: state per partition, kept with its position.

Each stage (:mod:`banktwin.fraud.customer_stage`, :mod:`banktwin.fraud.entity_stage`) is an
engine of the consumer runtime that may run in every worker, over the partitions its process
owns. What it keeps about a partition depends on that partition's events only, so it holds one
state per partition, folded in place in memory (a Kafka Streams local store), and snapshots
each under a key of its own (``snapshot/<partition>``) with the position it reflects, in the
transaction that commits the positions: processes owning other partitions never write it.

On first use of a partition, or after a failed batch or another process's commit, the stage
loads the partition's snapshot and folds its events from there up to the committed position
*without emitting* (what those events caused was appended before that commit), then emits
from there. Events before the ``scored-until`` mark (left by a reset, :meth:`reset`, or set
at the end of a history the stage starts after, :meth:`score_from`) are applied *without
scoring*: they still send on what the next stage counts (ids fixed by their cause: the log
keeps what was sent before once), but no debit of them is scored again, with a model that
may have learnt from it. So nothing is decided twice or skipped, whatever fails when; and a
batch applied again after a crash appends nothing new.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

import msgspec

from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event
from banktwin.fraud.scored_until import (
    load_scored_until,
    raise_scored_until,
    reset_keeping_mark,
)
from banktwin.fraud.scorer import ScoredDebit, Scorer
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig
from banktwin.log.port import EventLog, LoggedEvent
from banktwin.observability.instruments import instruments
from banktwin.store.kv import KeyValueStore

log = logging.getLogger(__name__)

S = TypeVar("S")

SNAPSHOT: Final = "snapshot/"
READ_CHUNK: Final = 5000

_ENCODER = msgspec.msgpack.Encoder()
_SNAPSHOT = msgspec.msgpack.Decoder(tuple[int, bytes])


@dataclass(slots=True)
class StageWork:
    """What a stage did since its last commit (for listeners and metrics)."""

    events_out: int = 0
    scored: int = 0
    alerts: int = 0


@dataclass(slots=True)
class Outbox:
    """What one batch concludes: events to append, and debits to decide on."""

    scoring: bool = True
    """Whether the events applied with this outbox are scored (false before the
    ``scored-until`` mark: counted and sent on, not decided)."""
    events: list[Event] = field(default_factory=list)
    debits: list[ScoredDebit] = field(default_factory=list)


class StageEngine(ABC, Generic[S]):
    """A fraud stage's engine over the partitions its consumer owns (see the module)."""

    def __init__(
        self,
        log: EventLog,
        store: KeyValueStore,
        scorer: Scorer,
        *,
        name: str,
        config: FeatureConfig = DEFAULT_CONFIG,
        snapshot_interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._log = log
        self._store = store
        self.scorer = scorer
        self._name = name
        self.config = config
        self._snapshot_interval_s = snapshot_interval_s
        self._clock = clock
        self._states: dict[int, S] = {}
        """The partitions loaded so far, each folded up to ``_applied``."""
        self._applied: dict[int, int] = {}
        self._committed: dict[int, int] | None = None
        self._scored_until: dict[int, int] | None = None
        self._snapshot_at = 0.0

    @property
    @abstractmethod
    def event_types(self) -> frozenset[str]:
        """The only events the stage reads (the runtime decodes no other)."""

    @abstractmethod
    def new_state(self) -> S:
        """An empty partition state."""

    @abstractmethod
    def encode(self, state: S) -> bytes:
        """A partition state as bytes (never pickle: a snapshot is data, not code)."""

    @abstractmethod
    def decode(self, data: bytes) -> S | None:
        """What :meth:`encode` wrote; ``None`` for another format (rebuilt from the log)."""

    @abstractmethod
    def apply(self, state: S, event: Event, out: Outbox | None) -> None:
        """Fold ``event`` into its partition's ``state``; with an ``out``, also emit what it
        causes there, scoring only if ``out.scoring`` (``None``: folding only, its effects
        are in the log already)."""

    @property
    def name(self) -> str:
        return self._name

    def positions(self) -> dict[int, int]:
        return self._store.positions(self._name)

    def begin(self) -> StageWork:
        committed = self._committed if self._committed is not None else self.positions()
        loaded = {p: self._applied.get(p, 0) for p in self._states}
        if any(committed.get(p, 0) != offset for p, offset in loaded.items()):
            self._forget()  # a batch failed after folding, or another process committed
        self._committed = committed
        return StageWork()

    def process(self, work: StageWork, batch: Sequence[LoggedEvent]) -> list[Event]:
        out = Outbox()
        history = Outbox(scoring=False, events=out.events)  # one list: what is sent keeps order
        until = self._until()
        for logged in batch:
            partition = logged.partition
            state = self._states.get(partition)
            if state is None:
                state = self._load(partition)
            scored = logged.offset >= until.get(partition, 0)
            self.apply(state, logged.event, out if scored else history)
            self._applied[partition] = logged.offset + 1
        alerts: list[Event] = []
        if out.debits:
            started = time.perf_counter()
            alerts = self.scorer.alerts(out.debits)
            instruments().fraud_scoring.observe((time.perf_counter() - started) / len(out.debits))
        work.events_out += len(out.events)
        work.scored += len(out.debits)
        work.alerts += len(alerts)
        return out.events + alerts

    def commit(self, work: StageWork, checkpoint: Checkpoint) -> None:
        for partition in self._states:  # folded up to the end: the other types are not read
            if partition in checkpoint.end:
                self._applied[partition] = checkpoint.end[partition]
        puts: dict[str, bytes | None] = {}
        now = self._clock()
        if now - self._snapshot_at >= self._snapshot_interval_s:
            puts = {
                f"{SNAPSHOT}{p}": _ENCODER.encode((self._applied.get(p, 0), self.encode(state)))
                for p, state in self._states.items()
                if p in checkpoint.end
            }
        try:
            self._store.commit(checkpoint, puts)
        except Exception:
            self._committed = None
            raise
        self._committed = dict(checkpoint.end)
        if puts:
            self._snapshot_at = now

    def reset(self) -> None:
        """Delete the state and positions, but remember how far events were scored: the
        rebuild applies them without scoring again (:mod:`banktwin.fraud.scored_until`)."""
        self._scored_until = reset_keeping_mark(self._store, self._name)
        self._forget()
        self._snapshot_at = 0.0

    def score_from(self, positions: dict[int, int]) -> None:
        """Score only the events from ``positions`` on (the end of a history a first model
        was trained on): those before are applied without scoring."""
        self._scored_until = raise_scored_until(self._store, self._name, positions)

    def state_of(self, partition: int) -> S:
        """A partition's state as committed (loaded on first use)."""
        state = self._states.get(partition)
        return self._load(partition) if state is None else state

    def _forget(self) -> None:
        self._states = {}
        self._applied = {}
        self._committed = None

    def _until(self) -> dict[int, int]:
        if self._scored_until is None:
            self._scored_until = load_scored_until(self._store, self._name)
        return self._scored_until

    def _load(self, partition: int) -> S:
        """The partition's snapshot, folded up to its committed position, without emitting."""
        committed = (self._committed or self.positions()).get(partition, 0)
        key = f"{SNAPSHOT}{partition}"
        raw = self._store.get_many(self._name, [key]).get(key)
        state, offset = self.new_state(), 0
        if raw is not None:
            position, data = _SNAPSHOT.decode(raw)
            decoded = self.decode(data)
            if decoded is not None and position <= committed:
                state, offset = decoded, position
        folded = 0
        while offset < committed:
            read = self._log.read_types(
                partition, offset, min(READ_CHUNK, committed - offset), self.event_types
            )
            if not read.looked_at:
                break
            for logged in read.events:
                if logged.offset >= committed:
                    break
                self.apply(state, logged.event, None)
                folded += 1
            offset = read.next_offset
        if folded:
            log.info("%s: folded %d events of partition %d", self._name, folded, partition)
        self._states[partition] = state
        self._applied[partition] = committed
        return state
