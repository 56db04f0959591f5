"""Rare-event metrics: hand-computed examples, and agreement with scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    roc_auc_score,
)

from banktwin.fraud.metrics import (
    alerts_per_day,
    average_precision,
    card_precision_at_k,
    precision_at_k,
    precision_recall_at,
    roc_auc,
)


def test_roc_auc_counts_the_pairs_a_fraud_wins() -> None:
    # frauds 0.35 and 0.8; genuine 0.1 and 0.4. Pairs (fraud, genuine):
    # 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3 of 4 = 0.75
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75


def test_roc_auc_counts_a_tie_as_half_a_pair() -> None:
    # frauds 0.5 and 0.9; genuine 0.5 and 0.2. Pairs: 0.5=0.5 half, 0.5>0.2 yes,
    # 0.9>0.5 yes, 0.9>0.2 yes -> 3.5 of 4 = 0.875
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875


def test_roc_auc_is_undefined_with_one_class() -> None:
    assert math.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))


def test_average_precision_sums_precision_over_recall_steps() -> None:
    # by score, highest first: 0.8 (fraud) 0.4 (genuine) 0.35 (fraud) 0.1 (genuine)
    # threshold 0.8:  P = 1/1, R = 1/2  -> (1/2 - 0) * 1     = 0.5
    # threshold 0.4:  P = 1/2, R = 1/2  -> (1/2 - 1/2) * 1/2 = 0
    # threshold 0.35: P = 2/3, R = 2/2  -> (1 - 1/2) * 2/3   = 1/3
    # threshold 0.1:  P = 2/4, R = 2/2  -> 0
    # AP = 0.5 + 1/3 = 0.8333...
    assert average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(5 / 6)


def test_average_precision_takes_equal_scores_as_one_threshold() -> None:
    # 0.9 (fraud) and 0.9 (genuine) tie: one threshold, P = 1/2, R = 1/2 -> 0.25
    # threshold 0.5 (fraud): P = 2/3, R = 1 -> (1 - 1/2) * 2/3 = 1/3
    # AP = 0.25 + 1/3 = 0.58333...
    assert average_precision([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1]) == pytest.approx(7 / 12)


def test_average_precision_is_undefined_without_a_fraud() -> None:
    assert math.isnan(average_precision([0, 0], [0.3, 0.7]))


def test_precision_and_recall_at_a_threshold() -> None:
    labels = [1, 0, 1, 0, 0]
    scores = [0.9, 0.6, 0.4, 0.5, 0.1]
    # alerted at >= 0.5: 0.9 (fraud), 0.6, 0.5 -> precision 1/3; frauds 2 -> recall 1/2
    precision, recall = precision_recall_at(labels, scores, 0.5)
    assert precision == pytest.approx(1 / 3)
    assert recall == 0.5
    # no alert at all: precision undefined, recall 0
    precision, recall = precision_recall_at(labels, scores, 0.95)
    assert math.isnan(precision) and recall == 0.0


def test_precision_at_k_divides_the_frauds_of_the_top_k_by_k() -> None:
    labels = [1, 0, 1, 0, 0]
    scores = [0.9, 0.6, 0.4, 0.5, 0.1]
    assert precision_at_k(labels, scores, 1) == 1.0  # 0.9 is a fraud
    assert precision_at_k(labels, scores, 2) == 0.5  # 0.9, 0.6: one fraud of 2
    assert precision_at_k(labels, scores, 10) == 0.2  # 2 frauds in all, over k = 10
    # equal scores keep their order: the first 0.7 (genuine) comes before the second
    assert precision_at_k([0, 1], [0.7, 0.7], 1) == 0.0
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(labels, scores, 0)


DAYS = [1, 1, 1, 1, 2, 2, 2, 2]
CARDS = ["A", "A", "B", "C", "A", "B", "C", "D"]
LABELS = [1, 0, 0, 1, 1, 0, 1, 0]
SCORES = [0.9, 0.2, 0.8, 0.3, 0.95, 0.1, 0.7, 0.6]


def test_card_precision_ranks_cards_by_their_best_score_of_the_day() -> None:
    # day 1: A best 0.9 (fraud), B 0.8, C 0.3 (fraud); top 2 = A, B -> 1 fraud / 2 = 0.5
    #        A is detected and out of play from then on.
    # day 2: A left out; C 0.7 (fraud), D 0.6, B 0.1; top 2 = C, D -> 1/2 = 0.5
    # mean = 0.5
    assert card_precision_at_k(DAYS, CARDS, LABELS, SCORES, k=2) == 0.5


def test_card_precision_leaves_out_cards_known_compromised_by_the_day() -> None:
    # C known compromised from day 2: day 2 ranks D 0.6, B 0.1 -> no fraud -> 0
    # mean = (0.5 + 0) / 2 = 0.25
    known = {"C": 2}
    assert card_precision_at_k(DAYS, CARDS, LABELS, SCORES, k=2, known_compromised=known) == 0.25
    # known only from day 3: no effect on days 1 and 2
    assert card_precision_at_k(DAYS, CARDS, LABELS, SCORES, k=2, known_compromised={"C": 3}) == 0.5


def test_card_precision_divides_by_k_on_a_quiet_day_and_breaks_ties_by_card() -> None:
    # one card, a fraud, k = 2 -> 1 / 2
    assert card_precision_at_k([5], ["Z"], [1], [0.4], k=2) == 0.5
    # B and A tie at 0.5: A ranks first (ascending card), A is genuine -> 0 / 1
    assert card_precision_at_k([1, 1], ["B", "A"], [1, 0], [0.5, 0.5], k=1) == 0.0


def test_alerts_per_day_counts_alerts_over_the_days() -> None:
    # alerts at >= 0.5: 0.9, 0.6, 0.7 -> 3 alerts over days 1, 2, 3 -> 1.0 a day
    assert alerts_per_day([1, 1, 2, 2, 3], [0.9, 0.1, 0.6, 0.7, 0.2], 0.5) == 1.0
    assert math.isnan(alerts_per_day([], [], 0.5))


@pytest.mark.parametrize("seed", range(12))
def test_auc_and_average_precision_agree_with_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 400))
    labels = rng.random(size) < rng.uniform(0.01, 0.5)
    labels[0], labels[-1] = True, False  # both classes
    scores = rng.random(size) + labels * rng.uniform(0, 0.5)
    if seed % 2:  # coarse scores: many ties, across the classes too
        scores = np.round(scores, 1)
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    expected = average_precision_score(labels, scores)
    assert average_precision(labels, scores) == pytest.approx(expected, abs=1e-12)


def test_metrics_refuse_mismatched_or_nan_input() -> None:
    with pytest.raises(ValueError, match="labels but"):
        roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError, match="NaN"):
        average_precision([0, 1], [0.5, float("nan")])
