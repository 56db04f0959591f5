"""How good a risk score is: ranking (ROC AUC, average precision), probability (Brier score,
log-loss) and the calibration table; and the stratified folds they are measured on.

Conventions: ``labels`` are booleans (True: the loss event happened), ``probabilities`` are
in [0, 1]. ROC AUC and average precision are the fraud engine's plain-numpy ones
(:mod:`banktwin.fraud.metrics`: equal to scikit-learn's, ties included). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from banktwin.fraud.metrics import average_precision, roc_auc

CALIBRATION_BINS = 10


def stratified_folds(
    labels: np.ndarray, folds: int, seed: int, groups: Sequence[str] | None = None
) -> np.ndarray:
    """Each row's fold, ``0 … folds-1``: the rows of each class shuffled (by ``seed``) and dealt
    out in turn, so every fold holds the same share of positives, give or take one row.

    With ``groups``, whole groups are dealt instead (a group is positive when any of its rows
    is), so no group is split between folds.

    Raises:
        ValueError: fewer than 2 folds, or a class with fewer rows (groups) than folds.
    """
    y = np.asarray(labels, dtype=bool)
    if folds < 2:
        raise ValueError(f"folds: at least 2, not {folds}")
    if groups is not None:
        names, index = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
        positive = np.zeros(len(names), dtype=bool)
        np.logical_or.at(positive, index, y)
        return stratified_folds(positive, folds, seed)[index]
    rng = np.random.default_rng(seed)
    out = np.empty(y.size, dtype=np.int64)
    offset = 0
    for value in (True, False):
        rows = np.flatnonzero(y == value)
        if rows.size < folds:
            name = "positive" if value else "negative"
            raise ValueError(f"{rows.size} {name} rows: fewer than the {folds} folds")
        out[rng.permutation(rows)] = (np.arange(rows.size) + offset) % folds
        offset += rows.size  # the other class starts where this one stopped: balanced sizes
    return out


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between the probability and the outcome (0 or 1); lower is
    better, and a constant at the base rate ``p`` scores ``p(1-p)``."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean negative log-likelihood of the outcomes (probabilities clipped to [1e-15, 1-1e-15])."""
    y = np.asarray(labels, dtype=bool)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One row of the calibration table: customers with similar probabilities."""

    low: float
    """The lowest probability in the bin."""
    high: float
    """The highest."""
    rows: int
    predicted: float
    """Their mean probability."""
    observed: float
    """The share of them that had the loss event: close to ``predicted`` when calibrated."""


def calibration_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """The rows sorted by probability and cut into ``bins`` groups of equal size (deciles by
    default), each with its mean probability and its observed rate."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    table = []
    for part in np.array_split(order, min(bins, max(1, p.size))):
        if part.size == 0:
            continue
        table.append(
            CalibrationBin(
                low=float(p[part].min()),
                high=float(p[part].max()),
                rows=int(part.size),
                predicted=float(p[part].mean()),
                observed=float(y[part].mean()),
            )
        )
    return table


def expected_calibration_error(table: list[CalibrationBin]) -> float:
    """Row-weighted mean of ``|predicted - observed|`` over the calibration table's bins."""
    rows = sum(b.rows for b in table)
    if not rows:
        return float("nan")
    return sum(b.rows * abs(b.predicted - b.observed) for b in table) / rows


def score_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """ROC AUC, average precision, Brier score, log-loss, rows and positives of a scored set."""
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(probabilities, dtype=np.float64)
    return {
        "roc_auc": roc_auc(y, p),
        "average_precision": average_precision(y, p),
        "brier": brier_score(y, p),
        "log_loss": log_loss(y, p),
        "rows": float(y.size),
        "positives": float(y.sum()),
    }


def table_as_dicts(table: list[CalibrationBin]) -> list[dict[str, float]]:
    """The calibration table as JSON-ready dicts."""
    return [asdict(b) for b in table]
