"""Fakes built on the jobs' own ports: a trainer that trains nothing, a clock that is moved."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from banktwin.jobs.lifecycle import JobResult, TrainingConfig
from banktwin.jobs.trainer import Parameter, ReportProgress, TrainingFailed

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeTrainer:
    """A trainer on the port that "registers" versions 1, 2, 3 … after reporting progress; it
    can be made to fail, or to wait at a progress report until released."""

    algorithms: Mapping[str, Mapping[str, Parameter]] = field(
        default_factory=lambda: {
            "fast": {"seed": Parameter("integer", "seed", minimum=0, maximum=10)},
            "slow": {
                "rate": Parameter("number", "rate", minimum=0, maximum=1),
                "deep": Parameter("boolean", "deep"),
            },
        }
    )
    fail_with: Exception | None = None
    hold: threading.Event | None = None
    """If set: the trainer reports, then waits for it (reporting every 10 ms) before going on."""
    reached: threading.Event = field(default_factory=threading.Event)
    """Set when the trainer has started (and, with ``hold``, is waiting)."""
    calls: list[TrainingConfig] = field(default_factory=list)

    def __call__(self, config: TrainingConfig, progress: ReportProgress) -> JobResult:
        self.calls.append(config)
        progress(0.25, "folding")
        self.reached.set()
        while self.hold is not None and not self.hold.wait(0.01):
            progress(0.5, "waiting")
        if self.fail_with is not None:
            raise self.fail_with
        progress(0.9, "registering")
        return JobResult(
            version=len(self.calls),
            champion=config.promote_if_better,
            metrics={"validation_average_precision": 0.5},
            trained_from=T0 - timedelta(days=30),
            trained_until=T0 - timedelta(days=7),
            note=f"registered Fake/{len(self.calls)}",
        )


def refusing_trainer() -> FakeTrainer:
    return FakeTrainer(fail_with=TrainingFailed("not enough history to train on: 0 frauds"))
