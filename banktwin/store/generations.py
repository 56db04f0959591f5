"""Twin generations: complete projections of the log, built beside each other.

A state store may hold several generations of the twin, each with its own tables and its own
positions, each written in one twin format (:data:`~banktwin.store.codec.TWIN_FORMAT`):

- **building**: being filled from the log (from offset 0) while readers are served another;
- **active**: the store's current twin (at most one);
- **retired**: replaced by a newer one and kept, because a process of the build that wrote it
  may still run; dropped at the next switch or by ``banktwin projections --drop-retired``;
- **dropped**: its tables are gone; the row stays as history.

A build writes the newest generation of its own format and serves the active one when it is
of its format, else the newest *complete* one of its format (one that was active once:
processes of an older build keep serving and maintaining theirs during a rolling upgrade).
When a building generation has reached the end of the log on every partition it becomes
active, in the transaction of the commit that got it there. Generation 1 is the store's
plain tables (``customers``, ``accounts`` …) as builds before generations wrote them.

Every decision is a pure function of the generations' rows, here; the adapters keep the rows
and apply the decisions in their transactions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from banktwin.errors import UnavailableError

BUILDING = "building"
ACTIVE = "active"
RETIRED = "retired"
DROPPED = "dropped"
LEGACY = 1
"""The generation held in the plain tables (builds before generations: format 3 and older)."""
UNRECORDED_FORMAT = "1"
"""The format of plain tables written before a store recorded its format."""


@dataclass(frozen=True, slots=True)
class TwinGeneration:
    """One generation of the twin as the store records it."""

    number: int
    twin_format: str
    state: str
    created_at: datetime
    completed_at: datetime | None = None
    """When it first became active (None while it is building, or if it never did)."""
    retired_at: datetime | None = None

    @property
    def complete(self) -> bool:
        """It was the store's active twin once: it holds the whole log up to its positions."""
        return self.completed_at is not None and self.state != DROPPED

    @property
    def suffix(self) -> str:
        """What its tables' names end with (``customers_g2``; nothing for generation 1)."""
        return "" if self.number == LEGACY else f"_g{self.number}"


class TwinNotReadyError(UnavailableError):
    """This build has no complete twin of its format to serve yet (one is being built)."""


def format_order(twin_format: str) -> tuple[int, int, str]:
    """Formats compare as whole numbers (``"10"`` after ``"9"``); one that is not a number
    sorts after every number (a development build)."""
    return (0, int(twin_format), "") if twin_format.isdigit() else (1, 0, twin_format)


def positions_key(consumer: str, generation: int) -> str:
    """The name a generation's positions are kept under (``twin/g2``; ``twin`` for 1)."""
    return consumer if generation == LEGACY else f"{consumer}/g{generation}"


def active(generations: Sequence[TwinGeneration]) -> TwinGeneration | None:
    return next((g for g in generations if g.state == ACTIVE), None)


def _of_format(generations: Sequence[TwinGeneration], twin_format: str) -> list[TwinGeneration]:
    return sorted(
        (g for g in generations if g.twin_format == twin_format and g.state != DROPPED),
        key=lambda g: g.number,
    )


def served(generations: Sequence[TwinGeneration], twin_format: str) -> TwinGeneration | None:
    """What readers of a build of ``twin_format`` read: the active generation if it is of
    that format, else the newest complete one of that format, else none (not ready)."""
    current = active(generations)
    if current is not None and current.twin_format == twin_format:
        return current
    complete = [g for g in _of_format(generations, twin_format) if g.complete]
    return complete[-1] if complete else None


def target(generations: Sequence[TwinGeneration], twin_format: str) -> TwinGeneration | None:
    """What a build's projector writes when it (re)starts: the newest generation of its
    format (one being built, if any)."""
    mine = _of_format(generations, twin_format)
    return mine[-1] if mine else None


def superseded(generations: Sequence[TwinGeneration], number: int) -> bool:
    """True if a projector writing generation ``number`` must move on: it was dropped, or a
    newer generation of its format became complete (a replay switched)."""
    mine = next((g for g in generations if g.number == number), None)
    if mine is None or mine.state == DROPPED:
        return True
    return any(
        g.number > number and g.twin_format == mine.twin_format and g.complete for g in generations
    )


def may_create(generations: Sequence[TwinGeneration], twin_format: str) -> bool:
    """Whether a build of ``twin_format`` with no generation of its own may start one: not
    when the active generation has a newer format (an older build must not take the store
    back from a newer one)."""
    current = active(generations)
    return current is None or format_order(twin_format) >= format_order(current.twin_format)


def new_state(generations: Sequence[TwinGeneration]) -> str:
    """A new generation is active at once in a store that serves none (nothing to keep
    serving meanwhile), else it is built beside the active one."""
    return BUILDING if active(generations) is not None else ACTIVE


def next_number(generations: Sequence[TwinGeneration]) -> int:
    return max((g.number for g in generations), default=LEGACY) + 1


def caught_up(
    reached: Collection[int], positions: Mapping[int, int], log_end: Mapping[int, int]
) -> set[int]:
    """The partitions that have reached the log's end: at ``positions`` now, or in an earlier
    commit (``reached``). A partition, once at the end, stays as close to it as its consumer
    keeps up, so each needs to have been there once, not all at the same instant (consumers
    of different partitions commit at different times while the log grows)."""
    return set(reached) | {p for p, end in log_end.items() if positions.get(p, 0) >= end}


def may_switch(generations: Sequence[TwinGeneration], candidate: TwinGeneration) -> bool:
    """A caught-up generation becomes active unless the active one has a newer format."""
    current = active(generations)
    return current is None or format_order(candidate.twin_format) >= format_order(
        current.twin_format
    )


def obsolete_at_switch(
    generations: Sequence[TwinGeneration], new: TwinGeneration
) -> list[TwinGeneration]:
    """What to drop once ``new`` has replaced the active generation (``generations`` as they
    were before the switch): the generations retired earlier (the one retired now is kept for
    the processes of its build still running), and older generations still building that
    could never become active (their format is not newer than ``new``'s)."""
    return [
        g
        for g in generations
        if g.number != new.number
        and (
            g.state == RETIRED
            or (
                g.state == BUILDING
                and g.number < new.number
                and format_order(g.twin_format) <= format_order(new.twin_format)
            )
        )
    ]


def not_ready(generations: Sequence[TwinGeneration], twin_format: str) -> TwinNotReadyError:
    """The error readers of a build with nothing to serve raise, saying why."""
    building = target(generations, twin_format)
    current = active(generations)
    serving = (
        f"generation {current.number} (format {current.twin_format}) is served by the "
        "processes of its build"
        if current is not None
        else "no generation is active"
    )
    if building is not None:
        return TwinNotReadyError(
            f"the twin of format {twin_format} is being built (generation {building.number}); "
            f"{serving} until it has caught up with the log"
        )
    return TwinNotReadyError(
        f"this build's twin format {twin_format} has no generation in the store: {serving}"
        + (
            " (a newer format: run a newer build)"
            if current is not None and not may_create(generations, twin_format)
            else ""
        )
    )
