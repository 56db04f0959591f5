"""Drift of a model's inputs and score: the population stability index against training.

PSI compares the shares of the live window with the training reference bin by bin (the
reference's bins, :mod:`banktwin.risk.reference`, with "missing" as one more bin):

    PSI = Σ (live_i - train_i) · ln(live_i / train_i)

A share of 0 is floored at :data:`EPSILON` on both sides before the sum, as is usual, so an
empty bin adds a large but finite term. Reading it: below 0.10 stable, 0.10 to 0.25 a moderate
shift, above 0.25 a major one. The seed's "model drift > 10 %" alert is PSI above 0.10
(``BANKTWIN_RISK_DRIFT_THRESHOLD``) on the score or on any feature. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from banktwin.risk.reference import Distribution, ModelReference

EPSILON: Final = 1e-4
"""The floor of a share before its logarithm is taken."""
DEFAULT_THRESHOLD: Final = 0.10
MIN_ROWS: Final = 100
"""Fewer live rows than this and a PSI is mostly noise: it is reported, never judged."""


def psi(train: Sequence[float], live: Sequence[float], epsilon: float = EPSILON) -> float:
    """The PSI of ``live`` shares against ``train`` shares over the same bins.

    Raises:
        ValueError: the two have different numbers of bins.
    """
    if len(train) != len(live):
        raise ValueError(f"{len(live)} live bins against {len(train)} training bins")
    total = 0.0
    for expected, actual in zip(train, live, strict=True):
        e, a = max(expected, epsilon), max(actual, epsilon)
        total += (a - e) * math.log(a / e)
    return total


def distribution_psi(train: Distribution, live: Distribution) -> float:
    """PSI of two distributions over the same bins, "missing" counted as a bin."""
    return psi((*train.shares, train.missing), (*live.shares, live.missing))


@dataclass(frozen=True, slots=True)
class DriftReport:
    """PSI of the score and of each feature, for one window of live rows."""

    score: float
    features: dict[str, float]
    rows: int
    threshold: float

    @property
    def worst(self) -> tuple[str, float]:
        """The input (``score`` or a feature) with the largest PSI."""
        name, value = max(self.features.items(), key=lambda item: item[1], default=("", 0.0))
        return ("score", self.score) if self.score >= value else (name, value)

    @property
    def drifted(self) -> bool:
        """True when enough rows were seen and the score or a feature is above threshold."""
        return self.rows >= MIN_ROWS and self.worst[1] > self.threshold


def drift_report(
    reference: ModelReference,
    live_features: Mapping[str, Sequence[object]],
    live_scores: Sequence[float],
    threshold: float = DEFAULT_THRESHOLD,
) -> DriftReport:
    """PSI of the live window (each feature's values, the scores) against ``reference``."""
    features = {
        name: distribution_psi(train, train.observe(live_features[name]))
        for name, train in reference.features.items()
        if name in live_features
    }
    score = distribution_psi(reference.score, reference.score.observe(list(live_scores)))
    return DriftReport(score, features, len(live_scores), threshold)
