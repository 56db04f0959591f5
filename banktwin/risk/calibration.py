"""Calibration: from a candidate's log-odds to a probability that means what it says.

**Platt scaling** (a logistic regression of the label on the uncalibrated log-odds, fitted on
out-of-fold scores), not isotonic regression, because:

- it is **strictly increasing**, so it never changes the order of customers: ROC AUC and
  average precision are the candidate's own, and no two customers get an equal score that
  the model had told apart (isotonic regression makes plateaus of ties);
- it is **linear in the log-odds** (``a + b·z``), so an explanation stays exact: the
  candidate's per-feature contributions times ``b``, plus ``b·bias + a``, add up to the
  calibrated log-odds a customer is shown;
- it has **two parameters**: it cannot overfit the few hundred defaults of a small portfolio,
  where isotonic regression's step function follows their noise (on the German credit table,
  300 defaults, it did worse out of sample; docs/risk-model.md has the figures).

Its limit: it corrects a miscalibration that is a shift and a stretch of the log-odds (what
regularisation and early stopping cause), not an arbitrary bend. The calibration table shows
what is left.

Targets are smoothed as in Platt (1999): a positive counts as ``(P + 1) / (P + 2)`` and a
negative as ``1 / (N + 2)``, which keeps a perfectly separated training set from giving an
infinite slope. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class PlattScaling:
    """Calibrated log-odds = ``intercept + slope · uncalibrated log-odds``."""

    intercept: float = 0.0
    slope: float = 1.0

    def log_odds(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated log-odds of uncalibrated ones."""
        return self.intercept + self.slope * np.asarray(raw, dtype=np.float64)

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of uncalibrated log-odds."""
        return sigmoid(self.log_odds(raw))

    @classmethod
    def fit(cls, raw: np.ndarray, labels: np.ndarray, iterations: int = 100) -> PlattScaling:
        """Fit on out-of-fold log-odds ``raw`` and their labels (Newton's method on the
        smoothed targets; both classes must occur).

        Raises:
            ValueError: one class only, or lengths differ.
        """
        z = np.asarray(raw, dtype=np.float64).ravel()
        y = np.asarray(labels, dtype=bool).ravel()
        if z.shape != y.shape:
            raise ValueError(f"{z.size} scores but {y.size} labels")
        positives = int(y.sum())
        negatives = y.size - positives
        if positives == 0 or negatives == 0:
            raise ValueError("calibration needs both classes")
        target = np.where(y, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0))
        design = np.column_stack([np.ones_like(z), z])
        params = np.array([0.0, 1.0])
        for _ in range(iterations):
            p = sigmoid(design @ params)
            gradient = design.T @ (p - target)
            weights = np.maximum(p * (1.0 - p), 1e-12)
            hessian = design.T @ (design * weights[:, None]) + 1e-9 * np.eye(2)
            step = np.linalg.solve(hessian, gradient)
            params -= step
            if np.abs(step).max() < 1e-10:
                break
        return cls(float(params[0]), float(params[1]))


def sigmoid(log_odds: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(log_odds))), dtype=np.float64)


def logit(probabilities: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))``, clipped away from 0 and 1."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-15, 1 - 1e-15)
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)
