"""Metrics for a rare class (fraud is well under 1 % of transactions), in plain numpy.

Accuracy is no use here: a model that never alerts is 99.5 % accurate. These metrics look at
how well the scores *rank* frauds above genuine transactions (ROC AUC, average precision), at
what an alert threshold gives (precision, recall, alerts a day), and at what a team of
investigators who can check ``k`` cards a day would find (card precision top-k, as in the
"Reproducible Machine Learning for Credit Card Fraud Detection" handbook, chapter 4).

Conventions: ``labels`` are 0/1 (or bool), ``scores`` higher means more suspicious, and a
transaction is alerted when its score is at or above the threshold. A metric that is undefined
on its input (no fraud, no alert) is ``nan``, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike


def _labels_scores(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random fraud scores above a random
    genuine transaction, a tie counting one half.

    Computed as the Mann-Whitney statistic with average ranks for ties,
    ``(sum of the frauds' ranks - P(P+1)/2) / (P N)`` for ``P`` frauds and ``N`` genuine ones, which
    equals the trapezoidal area scikit-learn's ``roc_auc_score`` gives. ``nan`` without both
    classes.
    """
    y, s = _labels_scores(labels, scores)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(s, kind="stable")
    ordered = s[order]
    # Average rank (1-based) of each run of equal scores.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    run_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(run_rank, ends - starts)
    total = ranks[y].sum() - positives * (positives + 1) / 2.0
    return float(total / (positives * negatives))


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision, the step-wise area under the precision-recall curve.

    ``AP = sum over n of (R[n] - R[n-1]) * P[n]``, the thresholds ``n`` being the distinct
    scores from the highest down, ``P[n]`` and ``R[n]`` the precision and recall of alerting
    every transaction scoring at or above the n-th one, ``R[0] = 0``. Equal scores form one
    threshold, as in scikit-learn's ``average_precision_score`` (no interpolation). Its floor
    is the fraud rate (random scores), not 0.5. ``nan`` without a fraud.
    """
    y, s = _labels_scores(labels, scores)
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    ordered_scores, ordered_labels = s[order], y[order]
    # The last index of each run of equal scores is a threshold.
    last = np.flatnonzero(np.r_[ordered_scores[1:] != ordered_scores[:-1], True])
    true_positives = np.cumsum(ordered_labels)[last]
    alerted = last + 1
    precision = true_positives / alerted
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def precision_recall_at(
    labels: ArrayLike, scores: ArrayLike, threshold: float
) -> tuple[float, float]:
    """Precision and recall of alerting every transaction scoring at or above ``threshold``.

    Precision is ``TP / (TP + FP)``, the share of alerts that are frauds (``nan`` without an
    alert); recall is ``TP / (TP + FN)``, the share of frauds alerted (``nan`` without a fraud).
    """
    y, s = _labels_scores(labels, scores)
    alerted = s >= threshold
    hits = int((alerted & y).sum())
    alerts = int(alerted.sum())
    frauds = int(y.sum())
    precision = hits / alerts if alerts else float("nan")
    recall = hits / frauds if frauds else float("nan")
    return precision, recall


def precision_at_k(labels: ArrayLike, scores: ArrayLike, k: int) -> float:
    """Precision top-k: the share of frauds among the ``k`` highest scores.

    Frauds among the first ``k`` transactions by descending score, divided by ``k`` (also when
    there are fewer than ``k`` transactions, as the handbook's ``P@k``). Equal scores keep
    their input order.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    y, s = _labels_scores(labels, scores)
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].sum() / k)


def card_precision_at_k(
    days: ArrayLike,
    cards: ArrayLike,
    labels: ArrayLike,
    scores: ArrayLike,
    k: int = 100,
    known_compromised: Mapping[Any, Any] | None = None,
) -> float:
    """Card precision top-k, the handbook's ``CP@k``, averaged over the days.

    For each day ``d`` (in increasing order), the cards still in play that day are ranked by
    their highest score of the day; the ``k`` first are that day's alerts, and the day's
    precision is the number of them with a fraud that day, divided by ``k``. A card is out of
    play on day ``d`` when it was *detected* on an earlier day (among that day's ``k`` alerts
    and with a fraud that day: investigators have blocked it) or when it is known compromised
    by ``d``: ``known_compromised`` maps a card to the first day it is known (a fraud of it
    was reported before that day began), and the card is left out from that day on. The
    result is the mean of the daily precisions over the days present in ``days``.

    Equal best scores are ranked by card, in ascending order of the card values. As in the
    handbook, a day with fewer than ``k`` cards still divides by ``k``.

    Args:
        days: each transaction's day (any sortable values, e.g. days since the epoch).
        cards: each transaction's card (or customer, when cards are not known).
        labels: 1 for a fraud.
        scores: the model's scores.
        k: alerts an investigation team can check a day.
        known_compromised: card → first day it is known compromised.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    y, s = _labels_scores(labels, scores)
    day_values = np.asarray(days).ravel()
    card_values = np.asarray(cards).ravel()
    if day_values.shape != y.shape or card_values.shape != y.shape:
        raise ValueError("days, cards, labels and scores must have the same length")
    known = dict(known_compromised or {})
    detected: set[Any] = set()
    precisions: list[float] = []
    for day in np.unique(day_values):
        in_day = day_values == day
        day_cards = card_values[in_day]
        unique_cards, which = np.unique(day_cards, return_inverse=True)
        best = np.full(unique_cards.size, -np.inf)
        np.maximum.at(best, which, s[in_day])
        fraud = np.zeros(unique_cards.size, dtype=bool)
        np.logical_or.at(fraud, which, y[in_day])
        in_play = np.array(
            [
                card not in detected and not (card in known and known[card] <= day)
                for card in unique_cards.tolist()
            ],
            dtype=bool,
        )
        candidates = np.flatnonzero(in_play)
        # Highest score first; ties by card (np.unique sorted the cards ascending).
        ranked = candidates[np.argsort(-best[candidates], kind="stable")][:k]
        found = ranked[fraud[ranked]]
        precisions.append(found.size / k)
        detected.update(unique_cards[found].tolist())
    return float(np.mean(precisions)) if precisions else float("nan")


def alerts_per_day(days: ArrayLike, scores: ArrayLike, threshold: float) -> float:
    """Alerts a day: transactions scoring at or above ``threshold``, divided by the number of
    distinct days in ``days`` (``nan`` when empty). It is the investigation workload a
    threshold would create."""
    day_values = np.asarray(days).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if day_values.shape != s.shape:
        raise ValueError(f"{day_values.size} days but {s.size} scores")
    count = np.unique(day_values).size
    return float((s >= threshold).sum() / count) if count else float("nan")
