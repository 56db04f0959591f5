"""Feeding a sink: the backfill in bulk, then live activity in step with a clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from banktwin.domain.events import Event
from banktwin.sim.simulation import Simulation
from banktwin.sim.sinks import EventSink

DEFAULT_BATCH_SIZE = 5000
LIVE_TICK_SECONDS = 0.15
MAX_AHEAD_SECONDS = 60.0


def run_backfill(
    sim: Simulation,
    sink: EventSink,
    *,
    end: datetime,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Generate the backfill up to ``end`` and send it in batches; returns the events sent.

    With ``progress`` a progress bar (on standard error) counts events against the estimate.
    """
    batches = sim.backfill(end=end, batch_size=batch_size)
    sent = 0
    if not progress:
        for batch in batches:
            sink.send(batch)
            sent += len(batch)
        return sent
    columns = (
        TextColumn("[bold]backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("backfill", total=sim.estimated_backfill_events())
        for batch in batches:
            sink.send(batch)
            sent += len(batch)
            total = bar.tasks[0].total or 0
            bar.update(task, completed=sent, total=max(total, sent))
        bar.update(task, total=sent)
    return sent


def _send_in_batches(sink: EventSink, events: Sequence[Event], batch_size: int) -> int:
    for i in range(0, len(events), batch_size):
        sink.send(events[i : i + batch_size])
    return len(events)


def run_live(
    sim: Simulation,
    sink: EventSink,
    rate: float = 50.0,
    duration: float | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    *,
    tick_seconds: float = LIVE_TICK_SECONDS,
) -> int:
    """Emit about ``rate`` events per second of ``clock`` time until ``duration`` seconds have
    passed or ``stop`` is set; returns the events sent.

    Continues the simulation where it stands (after a backfill: at its end). Simulated time
    follows the clock, so events carry the clock's time: events between the simulation's
    instant and the clock's now (say, while a backfill was being sent) come first, at the
    bank's natural pace, then customer activity runs at ``rate``. Events go out in small
    batches every ``tick_seconds``.

    Raises:
        ValueError: ``rate`` or ``tick_seconds`` is not positive, ``duration`` is negative,
            or the simulation is more than a minute ahead of the clock.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if duration is not None and duration < 0:
        raise ValueError(f"duration must not be negative, got {duration}")
    if tick_seconds <= 0:
        raise ValueError(f"tick_seconds must be positive, got {tick_seconds}")
    stop = stop or threading.Event()
    started = clock()
    reached = sim.simulated_until
    if reached is not None and reached.timestamp() - started > MAX_AHEAD_SECONDS:
        raise ValueError(
            f"the simulation is at {reached.isoformat()}, ahead of the clock; "
            "backfill up to now (or earlier) before going live"
        )
    sent = _send_in_batches(sink, sim.advance_to(_instant(started)), DEFAULT_BATCH_SIZE)
    sim.set_live_rate(rate)
    deadline = None if duration is None else started + duration
    next_tick = started
    while not stop.is_set():
        next_tick += tick_seconds
        if deadline is not None:
            next_tick = min(next_tick, deadline)
        pause = next_tick - clock()
        if pause > 0:
            sleep(pause)
        now = clock()
        target = now if deadline is None else min(now, deadline)
        sent += _send_in_batches(sink, sim.advance_to(_instant(target)), DEFAULT_BATCH_SIZE)
        if deadline is not None and target >= deadline:
            break
    return sent


def _instant(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
