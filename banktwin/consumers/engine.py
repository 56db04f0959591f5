"""What an engine is: the policy and state a consumer of the log runs.

Every engine (the twin projector, bank-wide KPIs, and the fraud engine, risk model, drift and
alerting after them) reads the log through one runtime, :class:`~banktwin.consumers.consumer.
Consumer`. The runtime owns what is the same for all of them — positions per partition,
batching, the commit interval, appending derived events, retries with back-off, listeners —
and an engine supplies only what is its own: how a batch of events changes its state, and how
that state is written together with the positions it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from banktwin.domain.events import Event
from banktwin.log.port import LoggedEvent

W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The positions a unit of work was read from and reaches, per partition (the next offset
    to read, Kafka's convention)."""

    consumer: str
    start: Mapping[int, int]
    end: Mapping[int, int]


class Engine(Protocol[W]):
    """An engine's policy and its state. ``W`` is its unit of work: what it has applied since
    its last commit, in memory only until :meth:`commit`."""

    @property
    def name(self) -> str:
        """The consumer's name: its positions and state are kept under it."""
        ...

    def positions(self) -> dict[int, int]:
        """The committed positions, per partition (a partition not listed is at 0)."""
        ...

    def begin(self) -> W:
        """A new, empty unit of work."""
        ...

    def process(self, work: W, batch: Sequence[LoggedEvent]) -> Sequence[Event]:
        """Apply ``batch`` (each partition's events in offset order) to ``work``.

        Returns:
            The events this engine concludes, under ids fixed by their cause
            (:func:`~banktwin.domain.events.derived_event_id`): the runtime appends them before
            the commit, so deriving them again after a crash appends nothing twice.
        """
        ...

    def commit(self, work: W, checkpoint: Checkpoint) -> None:
        """Write ``work`` and ``checkpoint.end`` as the new positions in **one transaction**.

        Raises:
            ConflictError: the stored positions are not ``checkpoint.start`` (another process
                consumed these events); nothing was written.
            UnavailableError: the store cannot be written; nothing was written.
        """
        ...

    def reset(self) -> None:
        """Delete this engine's state and positions (before it is rebuilt from the log)."""
        ...


@dataclass(frozen=True, slots=True)
class Committed(Generic[W]):
    """What a listener hears after each commit: which events the commit covered and the unit
    of work it wrote (an engine's own type: the twin's changes, for example)."""

    checkpoint: Checkpoint
    events: int
    work: W


Listener = Callable[[Committed[W]], None]


def event_types_of(engine: object) -> frozenset[str] | None:
    """The only event types an engine reads, if it says (an ``event_types`` attribute): the
    runtime then has the log decode nothing else (:meth:`EventLog.read_types`); ``None``
    (the default) hands it every event."""
    types = getattr(engine, "event_types", None)
    return None if types is None else frozenset(types)


def nonzero_positions(positions: Mapping[int, int]) -> dict[int, int]:
    """``positions`` without the partitions at 0 (a partition not listed is at 0): for
    comparing two sets of positions."""
    return {p: o for p, o in positions.items() if o}
