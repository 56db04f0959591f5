"""Shared configuration and helpers of the simulator's tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from banktwin.domain.events import Event
from banktwin.sim import GroundTruthStore, SimConfig, Simulation

END = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)
SMALL = SimConfig(customers=100, branches=3, seed=8, history_days=14, fraud_rate=0.1)
"""Small, but long enough for cloned skimmed cards to be used and to see every event kind and
login outcome (a 100-customer bank does not show them all under every seed)."""


@dataclass(frozen=True)
class Backfill:
    config: SimConfig
    end: datetime
    events: list[Event]
    truth: GroundTruthStore
    estimate: int

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.config.history_days)


def make_backfill(
    config: SimConfig, end: datetime, truth_path: Path | None = None, batch_size: int = 5000
) -> tuple[list[list[Event]], GroundTruthStore | None, int]:
    """Batches of a fresh simulation's backfill, its ground truth and its estimate."""
    truth = GroundTruthStore(truth_path) if truth_path else None
    sim = Simulation(config, truth)
    estimate = sim.estimated_backfill_events()
    return list(sim.backfill(end=end, batch_size=batch_size)), truth, estimate


class RecordingSink:
    """An event sink that keeps what it is sent."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    def send(self, events: Sequence[Event]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[Event]:
        return [e for batch in self.batches for e in batch]


class FakeClock:
    """A clock that moves only when slept on."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
