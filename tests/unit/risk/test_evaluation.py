"""Folds, probability metrics, the calibration table, and Platt scaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.risk.calibration import PlattScaling, logit, sigmoid
from banktwin.risk.evaluation import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    log_loss,
    stratified_folds,
)


@settings(max_examples=50, deadline=None)
@given(
    positives=st.integers(5, 200),
    negatives=st.integers(5, 400),
    folds=st.integers(2, 5),
    seed=st.integers(0, 10),
)
def test_folds_share_out_each_class_evenly(
    positives: int, negatives: int, folds: int, seed: int
) -> None:
    labels = np.array([True] * positives + [False] * negatives)
    assigned = stratified_folds(labels, folds, seed)
    assert set(assigned.tolist()) == set(range(folds))
    for value in (True, False):
        counts = np.bincount(assigned[labels == value], minlength=folds)
        assert counts.max() - counts.min() <= 1
    sizes = np.bincount(assigned, minlength=folds)
    assert sizes.max() - sizes.min() <= 1
    assert np.array_equal(assigned, stratified_folds(labels, folds, seed))


def test_folds_need_enough_rows_of_each_class() -> None:
    with pytest.raises(ValueError, match="3 positive rows: fewer than the 5 folds"):
        stratified_folds(np.array([True] * 3 + [False] * 50), 5, 0)


def test_brier_and_log_loss_on_known_values() -> None:
    labels = np.array([True, False, True, False])
    probabilities = np.array([0.8, 0.2, 0.6, 0.5])
    assert brier_score(labels, probabilities) == pytest.approx((0.04 + 0.04 + 0.16 + 0.25) / 4)
    expected = -(np.log(0.8) + np.log(0.8) + np.log(0.6) + np.log(0.5)) / 4
    assert log_loss(labels, probabilities) == pytest.approx(expected)


def test_calibration_table_deciles_and_error() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    labels = rng.random(p.size) < p  # calibrated by construction
    table = calibration_table(labels, p)
    assert len(table) == 10 and sum(b.rows for b in table) == p.size
    assert all(abs(b.predicted - b.observed) < 0.03 for b in table)
    assert expected_calibration_error(table) < 0.02
    skewed = calibration_table(labels, p**2)
    assert expected_calibration_error(skewed) > 0.1


def test_platt_scaling_recovers_a_shift_and_a_stretch() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 2, 50_000)
    labels = rng.random(raw.size) < sigmoid(-1.0 + 0.5 * raw)
    fitted = PlattScaling.fit(raw, labels)
    assert fitted.intercept == pytest.approx(-1.0, abs=0.05)
    assert fitted.slope == pytest.approx(0.5, abs=0.03)
    before = brier_score(labels, sigmoid(raw))
    after = brier_score(labels, fitted.probabilities(raw))
    assert after < before - 0.02
    # Strictly increasing: the order of the scores is kept.
    assert np.array_equal(np.argsort(fitted.log_odds(raw)), np.argsort(raw))


def test_platt_scaling_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        PlattScaling.fit(np.array([0.1, 0.2]), np.array([True, True]))


def test_logit_inverts_sigmoid() -> None:
    z = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(logit(sigmoid(z)), z, atol=1e-6)
