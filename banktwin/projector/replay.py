"""Rebuild every projection from the log (after a rule change, or to verify the twin)."""

from __future__ import annotations

from collections.abc import Callable

from banktwin.log.port import EventLog
from banktwin.projector.projector import Projector
from banktwin.store.port import ProjectionStore


def rebuild_projections(
    log: EventLog,
    store: ProjectionStore,
    *,
    batch_size: int = 50_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the twin and apply the whole log again; returns events applied.

    Run it with no other projector working on the same store (stop ``serve``/``worker``).

    Args:
        on_start: called once with the number of events in the log.
        on_progress: called after each batch with the events it applied.
    """
    store.reset()
    if on_start is not None:
        on_start(sum(log.end_offsets().values()))
    projector = Projector(log, store, batch_size=batch_size)
    return projector.run_until_caught_up(on_progress)
