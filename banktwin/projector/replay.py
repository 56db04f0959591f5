"""Rebuild every projection from the log (after a rule change, or to verify the twin)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

from banktwin.log.port import EventLog
from banktwin.projector.projector import TWIN_CONSUMER, Projector
from banktwin.store.port import ProjectionStore
from banktwin.worker_processes import split_partitions

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
    store.reset()
    if on_start is not None:
        on_start(sum(log.end_offsets().values()))
    projector = Projector(log, store, batch_size=batch_size)
    return projector.run_until_caught_up(on_progress)


def rebuild_projections_in_parallel(
    log_url: str,
    store_url: str,
    *,
    processes: int,
    batch_size: int = 50_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """:func:`rebuild_projections` with the log's partitions split between ``processes``
    processes (a subject's events are all in one partition, so they never write the same
    twin). Progress is read from the positions they commit.

    Raises:
        Exception: what the first failing process raised (after the others finished; run the
            replay again once the cause is fixed).
    """
    from banktwin.adapters import open_event_log, open_state_store

    if log_url.startswith("memory:") or store_url.startswith("memory:"):
        raise ValueError("an in-memory log or store cannot be shared with other processes")
    log, store = open_event_log(log_url), open_state_store(store_url)
    try:
        groups = split_partitions(range(log.partitions), processes)
        store.reset()
        if on_start is not None:
            on_start(sum(log.end_offsets().values()))
        shown = 0
        # spawn, not fork: the parent may hold connections and threads (the progress bar).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
            futures = [
                pool.submit(_project_partitions, log_url, store_url, group, batch_size)
                for group in groups
            ]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                applied = sum(store.positions(TWIN_CONSUMER).values())
                if on_progress is not None and applied > shown:
                    on_progress(applied - shown)
                shown = max(shown, applied)
                if any(f.exception() is not None for f in done):
                    wait(pending)
                    break
            return sum(f.result() for f in futures)
    finally:
        log.close()
        store.close()


def _project_partitions(log_url: str, store_url: str, partitions: list[int], batch: int) -> int:
    """One replay process: project ``partitions`` until caught up."""
    from banktwin.adapters import open_event_log, open_state_store

    log, store = open_event_log(log_url), open_state_store(store_url)
    try:
        return Projector(log, store, batch_size=batch, partitions=partitions).run_until_caught_up()
    finally:
        log.close()
        store.close()
