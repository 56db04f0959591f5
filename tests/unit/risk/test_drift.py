"""PSI against hand-computed figures, and the drift report's judgement."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.risk.drift import EPSILON, MIN_ROWS, drift_report, psi
from banktwin.risk.reference import Distribution, ModelReference


def test_psi_of_a_shift_between_two_bins_by_hand() -> None:
    # (0.7 - 0.5) ln(0.7 / 0.5) + (0.3 - 0.5) ln(0.3 / 0.5)
    #   = 0.2 * 0.336472 + 0.2 * 0.510826 = 0.169460
    assert psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(0.1694596, abs=1e-7)


def test_psi_of_the_textbook_ten_bins_by_hand() -> None:
    train = [0.1] * 10
    live = [0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.15, 0.15]
    # four bins move by 0.05: 2 * (-0.05 ln 0.5) + 2 * (0.05 ln 1.5)
    expected = 2 * (-0.05 * math.log(0.5)) + 2 * (0.05 * math.log(1.5))
    assert expected == pytest.approx(0.1098612, abs=1e-7)
    assert psi(train, live) == pytest.approx(expected, rel=1e-12)


def test_an_empty_bin_is_floored_not_infinite() -> None:
    value = psi([0.5, 0.5], [1.0, 0.0])
    by_hand = 0.5 * math.log(1.0 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    assert value == pytest.approx(by_hand) and math.isfinite(value)


def test_bins_must_match() -> None:
    with pytest.raises(ValueError, match="3 live bins against 2"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])


shares = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(lambda s: sum(s) > 0)


@given(shares)
def test_psi_of_a_distribution_with_itself_is_zero_and_never_negative(raw: list[float]) -> None:
    total = sum(raw)
    train = [x / total for x in raw]
    assert psi(train, train) == pytest.approx(0.0, abs=1e-12)
    live = list(reversed(train))
    assert psi(train, live) >= -1e-12
    assert psi(train, live) == pytest.approx(psi(live, train))  # symmetric


def test_the_report_bins_live_values_with_the_training_edges_and_counts_missing() -> None:
    # Training: edges at 10 and 20, 25 % below, 50 % between, 25 % above; none missing.
    balance = Distribution("numeric", (0.25, 0.5, 0.25), 0.0, 1000, edges=(10.0, 20.0))
    score = Distribution("numeric", (0.5, 0.5), 0.0, 1000, edges=(0.1,))
    reference = ModelReference({"balance": balance}, score)
    live_balance = [5.0] * 50 + [15.0] * 100 + [25.0] * 30 + [float("nan")] * 20
    live_scores = [0.05] * 100 + [0.5] * 100
    report = drift_report(reference, {"balance": live_balance}, live_scores)
    # live shares 0.25, 0.5, 0.15 and 0.10 missing (floored training share)
    by_hand = (0.15 - 0.25) * math.log(0.15 / 0.25) + (0.10 - EPSILON) * math.log(0.10 / EPSILON)
    assert report.features["balance"] == pytest.approx(by_hand)
    assert report.score == pytest.approx(0.0, abs=1e-12)
    assert report.worst == ("balance", report.features["balance"])
    assert report.rows == 200 and report.drifted


def test_too_few_live_rows_are_reported_but_never_judged_drifted() -> None:
    score = Distribution("numeric", (0.5, 0.5), 0.0, 1000, edges=(0.1,))
    report = drift_report(ModelReference({}, score), {}, [0.9] * (MIN_ROWS - 1))
    assert report.score > 1.0 and not report.drifted
