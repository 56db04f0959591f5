"""The fraud model: training both kinds, bytes round trip, contributions, top factors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.metrics import roc_auc
from banktwin.fraud.model import FraudModel, feature_matrix, train_model

K = len(FEATURE_NAMES)
SMALL_TREES = {"num_iterations": 40, "min_data_in_leaf": 20}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """3,000 rows, ~6 % fraud driven by two features and their interaction."""
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(3000, K))
    rows[:, FEATURE_NAMES.index("is_online")] = rng.random(3000) < 0.3
    log_odds = -3.5 + 1.5 * rows[:, 0] + 2.0 * rows[:, 1] * rows[:, 2]
    labels = rng.random(3000) < 1 / (1 + np.exp(-log_odds))
    return rows, labels.astype(np.int8)


@pytest.fixture(scope="module", params=["lightgbm", "logistic"])
def model(request: pytest.FixtureRequest, data: tuple[np.ndarray, np.ndarray]) -> FraudModel:
    rows, labels = data
    params = SMALL_TREES if request.param == "lightgbm" else None
    return train_model(rows, labels, FEATURE_NAMES, kind=request.param, seed=1, params=params)


def test_a_model_predicts_probabilities_that_rank_the_frauds(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, labels = data
    scores = model.predict(rows)
    assert scores.shape == (len(rows),) and scores.dtype == np.float64
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc(labels, scores) > 0.7
    assert model.feature_names == FEATURE_NAMES
    assert model.predict(rows[0]).shape == (1,)  # one (k,) row


def test_bytes_round_trip_gives_identical_predictions(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, _ = data
    loaded = FraudModel.from_bytes(model.to_bytes())
    assert loaded.kind == model.kind and loaded.feature_names == model.feature_names
    assert np.array_equal(loaded.predict(rows), model.predict(rows))
    assert np.array_equal(loaded.contributions(rows[:50]), model.contributions(rows[:50]))
    assert loaded.to_bytes() == model.to_bytes()


def test_the_bytes_are_a_json_header_and_a_text_model_not_a_pickle(model: FraudModel) -> None:
    head, _, body = model.to_bytes().decode().partition("\n")
    header = json.loads(head)
    assert header["kind"] == model.kind
    assert header["feature_names"] == list(FEATURE_NAMES)
    if model.kind == "lightgbm":
        assert body.startswith("tree\n")
    else:
        assert set(json.loads(body)) == {"means", "scales", "coefficients", "intercept"}


def test_contributions_sum_to_the_log_odds(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows = data[0][:200]
    contributions = model.contributions(rows)
    assert contributions.shape == (200, K + 1)
    p = model.predict(rows)
    assert np.allclose(contributions.sum(axis=1), np.log(p) - np.log1p(-p), atol=1e-8)


def test_logistic_contributions_are_coefficient_times_standardised_value(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    rows, labels = data
    model = train_model(rows, labels, FEATURE_NAMES, kind="logistic")
    params = json.loads(model.to_bytes().decode().partition("\n")[2])
    row = rows[3]
    standardised = (row - np.array(params["means"])) / np.array(params["scales"])
    expected = np.r_[standardised * np.array(params["coefficients"]), params["intercept"]]
    assert np.allclose(model.contributions(row)[0], expected)


def test_top_factors_are_the_largest_positive_contributions_without_the_bias(
    model: FraudModel,
) -> None:
    contributions = np.zeros(K + 1)
    contributions[[0, 1, 2, 3]] = [0.1, -2.0, 0.5, 0.3]
    contributions[-1] = 9.0  # the bias is never a factor
    assert model.top_factors(contributions) == [
        (FEATURE_NAMES[2], 0.5),
        (FEATURE_NAMES[3], 0.3),
        (FEATURE_NAMES[0], 0.1),
    ]
    assert model.top_factors(contributions.reshape(1, -1), top=1) == [(FEATURE_NAMES[2], 0.5)]
    assert model.top_factors(-np.abs(contributions)) == []  # nothing pushes up
    with pytest.raises(ValueError, match="one row"):
        model.top_factors(np.zeros(K))


def test_top_factors_of_a_real_score(
    model: FraudModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, _ = data
    riskiest = rows[np.argmax(model.predict(rows))]
    factors = model.top_factors(model.contributions(riskiest)[0])
    assert 1 <= len(factors) <= 3
    values = [value for _, value in factors]
    assert values == sorted(values, reverse=True) and all(v > 0 for v in values)


def test_training_is_deterministic_for_a_seed(data: tuple[np.ndarray, np.ndarray]) -> None:
    rows, labels = data
    first = train_model(rows, labels, FEATURE_NAMES, seed=3, params=SMALL_TREES)
    second = train_model(rows, labels, FEATURE_NAMES, seed=3, params=SMALL_TREES)
    assert np.array_equal(first.predict(rows), second.predict(rows))


def test_training_refuses_bad_input(data: tuple[np.ndarray, np.ndarray]) -> None:
    rows, labels = data
    with pytest.raises(ValueError, match="both classes"):
        train_model(rows, np.zeros(len(rows)), FEATURE_NAMES)
    with pytest.raises(ValueError, match="unknown model kind"):
        train_model(rows, labels, FEATURE_NAMES, kind="forest")
    with pytest.raises(ValueError, match="rows must be"):
        train_model(rows[:, :5], labels, FEATURE_NAMES)
    with pytest.raises(ValueError, match="0 or 1"):
        train_model(rows, labels * 2, FEATURE_NAMES)


def test_loading_refuses_what_is_not_a_model(model: FraudModel) -> None:
    with pytest.raises(ValueError, match="not a banktwin-fraud-model"):
        FraudModel.from_bytes(b"\x80\x04 a pickle")
    with pytest.raises(ValueError, match="not a banktwin-fraud-model"):
        FraudModel.from_bytes(b'{"format": "other"}\n')
    head, _, body = model.to_bytes().decode().partition("\n")
    header = json.loads(head) | {"kind": "forest"}
    with pytest.raises(ValueError, match="unknown model kind"):
        FraudModel.from_bytes((json.dumps(header) + "\n" + body).encode())
    with pytest.raises(ValueError, match=f"{model.kind} model"):
        FraudModel.from_bytes((head + "\n" + "{broken").encode())


def test_predict_refuses_rows_of_another_width(model: FraudModel) -> None:
    with pytest.raises(ValueError, match=f"{K} columns"):
        model.predict(np.zeros((2, K - 1)))


def test_feature_matrix_orders_columns_by_name_and_turns_flags_into_numbers() -> None:
    rows = [{"a": 1, "b": True, "c": 2.5}, {"c": -1.0, "b": False, "a": 0}]
    matrix = feature_matrix(rows, ["c", "a", "b"])
    assert matrix.dtype == np.float64
    assert matrix.tolist() == [[2.5, 1.0, 1.0], [-1.0, 0.0, 0.0]]
    assert feature_matrix([]).shape == (0, K)
    with pytest.raises(KeyError, match="row 1 has no feature 'd'"):
        feature_matrix([{"d": 1}, {"a": 1}], ["d"])
