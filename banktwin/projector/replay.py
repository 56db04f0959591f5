"""Rebuild consumers' state from the log (after a rule change, or to verify the twin)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING

from banktwin.log.port import EventLog
from banktwin.projector.projector import Projector
from banktwin.store.port import ProjectionStore
from banktwin.worker_processes import split_partitions

if TYPE_CHECKING:
    from banktwin.runtime import Runtime

POLL_S = 0.25


def rebuild_projections(
    log: EventLog,
    store: ProjectionStore,
    *,
    batch_size: int = 50_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the twin and apply the whole log again, in this process; returns events applied.

    Run it with no other projector working on the same store (stop ``serve``/``worker``).

    Args:
        on_start: called once with the number of events in the log.
        on_progress: called after each batch with the events it applied.
    """
    projector = Projector(log, store, batch_size=batch_size)
    projector.engine.reset()
    if on_start is not None:
        on_start(sum(log.end_offsets().values()))
    return projector.run_until_caught_up(on_progress)


def rebuild_consumers(
    runtime: Runtime,
    *,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the state of the runtime's selected consumers and apply the whole log to each
    again, the log's partitions split between ``processes`` processes (a subject's events
    are all in one partition, and every engine keys its state by partition, so they never
    write the same thing). Progress is read from the positions they commit.

    Run it with nothing else consuming for those consumers (stop ``serve``/``worker``).

    Args:
        on_start: called once with the events to apply (the log's, once per consumer).
        on_progress: called with the events applied since the last call.

    Returns:
        The events applied (once per consumer).

    Raises:
        Exception: what the first failing process raised (after the others finished; run the
            replay again once the cause is fixed).
    """
    consumers = runtime.running_here()
    for consumer in consumers:
        consumer.engine.reset()
    if on_start is not None:
        on_start(sum(runtime.log.end_offsets().values()) * len(consumers))
    if processes <= 1:
        return runtime.catch_up(on_progress=lambda _, n: on_progress(n) if on_progress else None)
    settings = runtime.settings
    if settings.event_log_url.startswith("memory:") or settings.state_store_url.startswith(
        "memory:"
    ):
        raise ValueError("an in-memory log or store cannot be shared with other processes")
    groups = split_partitions(range(runtime.log.partitions), processes)
    shown = 0
    # spawn, not fork: the parent holds connections and threads (the progress bar).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = [
            pool.submit(
                _consume_partitions,
                settings.event_log_url,
                settings.state_store_url,
                runtime.selected,
                group,
                settings.projector_batch_size,
            )
            for group in groups
        ]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
            applied = sum(sum(c.engine.positions().values()) for c in consumers)
            if on_progress is not None and applied > shown:
                on_progress(applied - shown)
            shown = max(shown, applied)
            if any(f.exception() is not None for f in done):
                wait(pending)
                break
        return sum(f.result() for f in futures)


def _consume_partitions(
    log_url: str, store_url: str, consumers: Sequence[str], partitions: list[int], batch: int
) -> int:
    """One replay process: the consumers, on ``partitions``, until caught up."""
    from banktwin.config import load_settings
    from banktwin.runtime import Runtime

    settings = load_settings(
        log_url=log_url,
        store_url=store_url,
        consumers=",".join(consumers),
        partitions=",".join(map(str, partitions)),
        projector_batch_size=batch,
    )
    runtime = Runtime(settings)
    try:
        return runtime.catch_up()
    finally:
        runtime.close()
