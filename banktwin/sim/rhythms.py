"""When things happen: activity by local hour of day for customers and branch visitors."""

from __future__ import annotations


def _normalised(weights: tuple[float, ...]) -> tuple[float, ...]:
    """Scaled so the 24 hourly weights average 1 (a daily rate keeps its meaning)."""
    mean = sum(weights) / len(weights)
    return tuple(w / mean for w in weights)


# fmt: off
CHRONOTYPES: dict[str, tuple[float, ...]] = {
    # hour:        0     1     2     3     4     5     6     7     8     9    10    11
    #             12    13    14    15    16    17    18    19    20    21    22    23
    "early": _normalised((
                0.05, 0.02, 0.02, 0.02, 0.10, 0.50, 1.60, 2.20, 2.00, 1.60, 1.50, 1.60,
                2.00, 1.80, 1.40, 1.30, 1.40, 1.50, 1.20, 0.90, 0.60, 0.30, 0.15, 0.08,
    )),
    "daytime": _normalised((
                0.05, 0.03, 0.02, 0.02, 0.03, 0.10, 0.40, 1.00, 1.50, 1.70, 1.80, 1.90,
                2.20, 2.00, 1.70, 1.60, 1.70, 1.90, 1.70, 1.30, 0.90, 0.60, 0.30, 0.10,
    )),
    "evening": _normalised((
                0.30, 0.15, 0.05, 0.03, 0.03, 0.05, 0.20, 0.50, 0.80, 0.90, 1.00, 1.10,
                1.50, 1.30, 1.10, 1.10, 1.30, 1.80, 2.20, 2.40, 2.30, 1.90, 1.30, 0.70,
    )),
    "night": _normalised((
                1.40, 1.10, 0.80, 0.50, 0.30, 0.15, 0.10, 0.20, 0.40, 0.60, 0.80, 1.00,
                1.20, 1.10, 1.00, 1.00, 1.10, 1.30, 1.50, 1.70, 1.90, 2.00, 2.00, 1.80,
    )),
}
# fmt: on
"""A customer's relative activity by local hour, one curve per chronotype."""

CHRONOTYPE_SHARES: dict[str, float] = {"early": 0.25, "daytime": 0.35, "evening": 0.3, "night": 0.1}

BRANCH_VISITS_BY_HOUR: dict[int, float] = {
    8: 0.7,
    9: 0.8,
    10: 0.9,
    11: 1.0,
    12: 1.5,
    13: 1.4,
    14: 0.9,
    15: 1.0,
    16: 1.3,
    17: 1.3,
    18: 0.9,
}
"""Relative arrivals at a branch by local hour (hours not listed: 0.6)."""
BRANCH_VISITS_PEAK = max(BRANCH_VISITS_BY_HOUR.values())
BRANCH_VISITS_DEFAULT = 0.6
SATURDAY_VISITS = 1.3
"""Saturday mornings are busier than weekday mornings."""
