"""Training on a table with a known signal: cross-validated figures, the choice between the
candidates, calibration, out-of-fold scores that recompute the figures, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from banktwin.fraud.metrics import average_precision, roc_auc
from banktwin.risk.calibration import sigmoid
from banktwin.risk.columns import feature_columns
from banktwin.risk.evaluation import brier_score
from banktwin.risk.training import RiskTrainingConfig, RiskTrainingResult, train_risk_model
from tests.unit.risk.synthetic import credit_table, true_log_odds

ROWS = 2000


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    return credit_table(ROWS, seed=0)


@pytest.fixture(scope="module")
def trained(table: tuple[pd.DataFrame, np.ndarray]) -> RiskTrainingResult:
    features, labels = table
    seen: list[tuple[str, int, int]] = []
    result = train_risk_model(
        features,
        labels,
        ids=[f"customer-{i}" for i in range(ROWS)],
        progress=lambda task, done, total: seen.append((task, done, total)),
    )
    assert ("logistic", 5, 5) in seen and ("lightgbm", 5, 5) in seen
    assert seen[-1] == ("final model", 1, 1)
    return result


def test_cross_validation_finds_the_known_signal(
    trained: RiskTrainingResult, table: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = table
    best_possible = roc_auc(labels, true_log_odds(features))  # the labels' own log-odds
    m = trained.metrics
    assert best_possible - 0.04 < m["cv_roc_auc_mean"] <= best_possible + 0.01
    assert 0 < m["cv_roc_auc_std"] < 0.05
    for kind, figures in trained.candidates.items():
        assert len(figures.fold_roc_auc) == 5
        assert figures.roc_auc_mean > 0.72, kind
        assert m[f"{kind}_cv_roc_auc_mean"] == figures.roc_auc_mean
    chosen = max(trained.candidates.values(), key=lambda c: c.roc_auc_mean)
    assert trained.kind == chosen.kind == trained.model.kind
    assert m["train_rows"] == ROWS and m["train_positives"] == labels.sum()
    # The noise column and the 60 employers carry nothing; the model still ranks well.
    assert trained.schema.names == tuple(features.columns)


def test_out_of_fold_scores_recompute_the_reported_figures_exactly(
    trained: RiskTrainingResult,
) -> None:
    oof = trained.oof
    assert oof.ids[:2] == ("customer-0", "customer-1") and len(oof.ids) == ROWS
    assert set(oof.folds.tolist()) == {1, 2, 3, 4, 5}
    m = trained.metrics
    assert roc_auc(oof.labels, oof.probabilities) == m["cv_roc_auc"]
    assert average_precision(oof.labels, oof.probabilities) == m["cv_average_precision"]
    assert brier_score(oof.labels, oof.probabilities) == m["cv_brier"]
    per_fold = [
        roc_auc(oof.labels[oof.folds == f], oof.probabilities[oof.folds == f]) for f in range(1, 6)
    ]
    assert float(np.mean(per_fold)) == m["cv_roc_auc_mean"]
    assert float(np.std(per_fold)) == m["cv_roc_auc_std"]
    assert sum(b.rows for b in trained.calibration) == ROWS


def test_trees_win_when_the_signal_is_an_interaction() -> None:
    rng = np.random.default_rng(5)
    rows = 3000
    features = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    # High risk where a and b agree (a > 0 and b > 0.5, or neither): a line cannot draw it.
    log_odds = -2.0 + 4.0 * ((features["a"] > 0) == (features["b"] > 0.5))
    labels = rng.random(rows) < 1 / (1 + np.exp(-log_odds))
    result = train_risk_model(features, labels, config=RiskTrainingConfig(folds=3))
    assert result.kind == "lightgbm"
    assert result.candidates["lightgbm"].roc_auc_mean > 0.8
    assert result.candidates["logistic"].roc_auc_mean < 0.7


def test_calibration_repairs_a_skewed_model(table: tuple[pd.DataFrame, np.ndarray]) -> None:
    features, labels = table
    # Positives weighted 8 times: the trees' raw probabilities are far too high.
    skewed = RiskTrainingConfig(candidates=("lightgbm",), lightgbm_params={"scale_pos_weight": 8})
    result = train_risk_model(features, labels, config=skewed)
    m = result.metrics
    assert m["cv_brier"] < m["cv_brier_uncalibrated"] - 0.005
    columns = feature_columns(features, result.model.features)
    uncalibrated = float(sigmoid(result.model.scorer.log_odds(columns)).mean())
    assert uncalibrated > labels.mean() + 0.05
    calibrated = float(result.model.predict(features).mean())
    assert calibrated == pytest.approx(labels.mean(), abs=0.03)
    assert result.params["lightgbm_scale_pos_weight"] == 8


def test_the_same_data_and_seed_give_the_same_model(table: tuple[pd.DataFrame, np.ndarray]) -> None:
    features, labels = table
    config = RiskTrainingConfig(folds=3, candidates=("logistic",))
    first = train_risk_model(features, labels, config=config)
    second = train_risk_model(features, labels, config=config)
    assert first.data_hash == second.data_hash
    assert first.model.to_bytes() == second.model.to_bytes()
    assert np.array_equal(first.oof.probabilities, second.oof.probabilities)
    changed = features.copy()
    changed.loc[0, "income"] = 1.0
    assert train_risk_model(changed, labels, config=config).data_hash != first.data_hash


def test_window_and_params_are_recorded(table: tuple[pd.DataFrame, np.ndarray]) -> None:
    features, labels = table
    window = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC))
    result = train_risk_model(
        features,
        labels,
        config=RiskTrainingConfig(folds=3, candidates=("lightgbm",), monotone={"utilisation": 1}),
        window=window,
    )
    assert result.window == window
    assert result.params["kind"] == "lightgbm" and result.params["monotone"] == "utilisation=+1"
    assert float(result.params["rounds"]) > 0
    assert result.params["categorical"] == "region,employer"
    # The constraint holds: more utilisation never lowers the risk, all else equal.
    row = features.iloc[[0] * 50].reset_index(drop=True)
    row["utilisation"] = np.linspace(0, 1.3, 50)
    assert (np.diff(result.model.predict(row)) >= -1e-12).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("few_positives", "need at least 10 of each"),
        ("labels_short", "rows but 10 labels"),
        ("no_feature", "no usable feature column"),
        ("bad_config", "candidates: unknown 'forest'"),
    ],
)
def test_it_refuses_what_cannot_be_trained_on(change: str, message: str) -> None:
    features, labels = credit_table(300, seed=2)
    config = RiskTrainingConfig()
    if change == "few_positives":
        labels = np.zeros(300, dtype=bool)
        labels[:4] = True
    elif change == "labels_short":
        labels = labels[:10]
    elif change == "no_feature":
        features = pd.DataFrame({"same": ["x"] * 300})
    else:
        config = RiskTrainingConfig(candidates=("forest",))
    with pytest.raises(ValueError, match=message):
        train_risk_model(features, labels, config=config)
