"""Rebuild consumers' state from the log (after a rule change, or to verify the twin).

The twin is rebuilt as a new generation beside the one readers are served
(:mod:`banktwin.store.generations`): reads go on meanwhile, and switch to the new one in the
commit that brings it to the end of the log. Other consumers (the KPIs) are emptied and
rebuilt in place: their readers see them fill up again.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from banktwin.log.port import EventLog
from banktwin.projector.projector import Projector
from banktwin.store.port import TWIN_CONSUMER, ProjectionStore
from banktwin.worker_processes import consumers_of_group, split_partitions

if TYPE_CHECKING:
    from banktwin.consumers.consumer import Consumer
    from banktwin.runtime import Runtime

POLL_S = 0.25
logger = logging.getLogger(__name__)


def rebuild_projections(
    log: EventLog,
    store: ProjectionStore,
    *,
    batch_size: int = 50_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Build the twin again from the whole log, in this process, beside the one readers are
    served, and serve it once it has caught up; returns events applied.

    Projectors running elsewhere (``serve``, ``worker``) may go on: they keep the served
    twin current until the switch, then move to the new one.

    Args:
        on_start: called once with the number of events in the log.
        on_progress: called after each batch with the events it applied.
    """
    projector = Projector(log, store, batch_size=batch_size)
    projector.reset()
    if on_start is not None:
        on_start(sum(log.end_offsets().values()))
    applied = projector.run_until_caught_up(on_progress)
    _finish_twin(log, store, projector)
    return applied


def rebuild_consumers(
    runtime: Runtime,
    *,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the runtime's selected consumers from the whole log, the log's partitions
    split between ``processes`` processes (a subject's events are all in one partition, and
    every engine keys its state by partition, so they never write the same thing; an engine
    whose state spans partitions, the fraud engine, runs whole in the first process). Progress
    is read from the positions they commit.

    The twin is built as a new generation beside the served one, which readers and running
    projectors keep using until the new one has caught up; then it is served. Other
    consumers are emptied and rebuilt in place: stop what runs them (``serve``/``worker``)
    first, or their processes and the replay's share the work.

    Args:
        on_start: called once with the events to apply (the log's, once per consumer).
        on_progress: called with the events applied since the last call.

    Returns:
        The events applied (once per consumer).

    Raises:
        Exception: what the first failing process raised (after the others finished; run the
            replay again once the cause is fixed).
    """
    for consumer in runtime.running_here():
        consumer.reset()
    applied = catch_up_consumers(
        runtime, processes=processes, on_start=on_start, on_progress=on_progress
    )
    if TWIN_CONSUMER in runtime.selected:
        _finish_twin(runtime.log, runtime.store, runtime.projector)
    return applied


FINISH_ATTEMPTS = 20


def _finish_twin(log: EventLog, store: ProjectionStore, projector: Projector) -> None:
    """See the new twin generation switched in. The commit that caught up did it, unless the
    log had nothing to apply or events were appended while the last batches were committed
    (the log is live): then apply those here and look again."""
    for _ in range(FINISH_ATTEMPTS):
        if not store.rebuilding() or store.switch_if_caught_up(TWIN_CONSUMER, log.end_offsets()):
            return
        projector.run_until_caught_up()
    logger.warning(
        "the replayed twin has not caught up with the log yet: readers keep the previous "
        "one; a projector started from now on finishes it and switches them over"
    )


def catch_up_consumers(
    runtime: Runtime,
    *,
    processes: int = 1,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Apply what the runtime's selected consumers have not applied yet, the log's partitions
    split between ``processes`` processes (a subject's events are all in one partition, and
    every engine keys its state by partition, so they never write the same thing; an engine
    whose state spans partitions, the fraud engine, runs whole in the first process). Progress
    is read from the positions they commit. The demo's first projection and a replay run it.

    Run it with nothing else consuming for those consumers.

    Args:
        on_start: called once with the events to apply (counted once per consumer).
        on_progress: called with the events applied since the last call.

    Returns:
        The events applied (once per consumer).

    Raises:
        Exception: what the first failing process raised (after the others finished; run it
            again once the cause is fixed: nothing committed is lost).
    """
    consumers = runtime.running_here()
    if on_start is not None:
        on_start(sum(c.lag() for c in consumers))
    settings = runtime.settings
    in_memory = settings.event_log_url.startswith("memory:") or settings.state_store_url.startswith(
        "memory:"
    )

    def here() -> int:
        return runtime.catch_up(on_progress=lambda _, n: on_progress(n) if on_progress else None)

    if processes <= 1 or in_memory:
        return here() + _settle(consumers, here)
    groups = split_partitions(range(runtime.log.partitions), processes)
    before = sum(sum(c.engine.positions().values()) for c in consumers)
    shown = 0
    # spawn, not fork: the parent holds connections and threads (the progress bar).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = [
            pool.submit(
                _consume_partitions,
                settings.event_log_url,
                settings.state_store_url,
                consumers_of_group(runtime.selected, i),
                group,
                settings.projector_batch_size,
            )
            for i, group in enumerate(groups)
        ]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
            applied = sum(sum(c.engine.positions().values()) for c in consumers) - before
            if on_progress is not None and applied > shown:
                on_progress(applied - shown)
            shown = max(shown, applied)
            if any(f.exception() is not None for f in done):
                wait(pending)
                break
        applied = sum(f.result() for f in futures)
    return applied + _settle(consumers, here)


SETTLE_PASSES = 5


def _settle(consumers: list[Consumer[Any]], catch_up: Callable[[], int]) -> int:
    """Catch up again while a consumer is behind. A consumer's derived events can land after
    another consumer caught up: the staged fraud engine's stages send each other hops in every
    partition, including one whose process had finished. A few passes at most (a log that
    keeps growing is left to the consumers that run on)."""
    applied = 0
    for _ in range(SETTLE_PASSES):
        if not any(c.lag() for c in consumers):
            break
        applied += catch_up()
    return applied


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
