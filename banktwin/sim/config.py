"""What the simulated bank looks like: its size, its seed and how much history to make."""

from __future__ import annotations

from dataclasses import dataclass

MAX_CUSTOMERS = 2_000_000
MAX_BRANCHES = 5_000
MAX_HISTORY_DAYS = 3_660


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Options of a simulation; the same options (and backfill end) give the same events.

    Raises:
        ValueError: an option is out of range (the message names it).
    """

    customers: int = 2000
    branches: int = 20
    seed: int = 42
    history_days: int = 30
    """Days of activity a backfill generates before its end."""
    fraud_rate: float = 0.003
    """Share of transactions that are fraudulent (labelled in the ground truth only)."""
    source: str = "banktwin.sim"
    """The ``source`` of every generated event."""

    def __post_init__(self) -> None:
        _check_int("customers", self.customers, 1, MAX_CUSTOMERS)
        _check_int("branches", self.branches, 0, MAX_BRANCHES)
        _check_int("history_days", self.history_days, 0, MAX_HISTORY_DAYS)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not 0.0 <= self.fraud_rate <= 0.2:
            raise ValueError(f"fraud_rate must be between 0 and 0.2, got {self.fraud_rate!r}")
        if not self.source or len(self.source) > 100:
            raise ValueError("source must be 1 to 100 characters")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
