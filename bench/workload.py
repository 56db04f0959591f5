"""Benchmark workloads: the simulator's realistic event mix, generated once per run."""

from __future__ import annotations

import gc
import math
from datetime import UTC, datetime

from banktwin.domain.events import Event
from banktwin.sim import SimConfig, Simulation

END = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
EVENTS_PER_CUSTOMER_DAY = 5.6
"""What the default bank makes (336,618 events for 2,000 customers over 30 days)."""


def simulated_events(count: int, customers: int = 2000, seed: int = 42) -> list[Event]:
    """About ``count`` events of a synthetic bank (history sized to reach the count)."""
    days = max(1, math.ceil(1.15 * count / (customers * EVENTS_PER_CUSTOMER_DAY)))
    sim = Simulation(SimConfig(customers=customers, seed=seed, history_days=days))
    events: list[Event] = []
    for batch in sim.backfill(end=END, batch_size=20_000):
        events.extend(batch)
        if len(events) >= count:
            break
    # The workload lives for the whole run: move it out of the cycle collector's sight, or
    # every collection in the measured code would rescan these objects (a bench artifact).
    gc.collect()
    gc.freeze()
    return events[:count]
