"""The risk model artifact: predictions from any table shape, explanations that add up to the
log-odds, bytes that load back to the same predictions, and one customer scored fast."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.risk.calibration import logit
from banktwin.risk.model import RiskModel
from banktwin.risk.training import RiskTrainingConfig, train_risk_model
from tests.unit.risk.synthetic import REGIONS, credit_table


@pytest.fixture(scope="module", params=["logistic", "lightgbm"])
def model(request: pytest.FixtureRequest) -> RiskModel:
    features, labels = credit_table(1500, seed=4)
    config = RiskTrainingConfig(folds=3, candidates=(request.param,))
    return train_risk_model(features, labels, config=config).model


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    features, _ = credit_table(300, seed=9)
    return features


def test_predictions_are_probabilities_read_by_column_name(
    model: RiskModel, rows: pd.DataFrame
) -> None:
    p = model.predict(rows)
    assert p.shape == (300,) and p.dtype == np.float64
    assert ((p > 0) & (p < 1)).all()
    shuffled = rows[list(reversed(rows.columns))].assign(extra="ignored")
    assert np.array_equal(model.predict(shuffled), p)
    one = {str(k): v for k, v in rows.iloc[0].to_dict().items()}
    assert model.predict(one) == pytest.approx(p[:1], abs=1e-12)  # scalars: one row
    as_lists = {str(k): list(v) for k, v in rows.to_dict(orient="list").items()}
    np.testing.assert_allclose(model.predict(as_lists), p, atol=1e-12)


def test_missing_values_and_unseen_categories_are_scored(model: RiskModel) -> None:
    row = {
        "income": None,
        "utilisation": np.nan,
        "days_past_due": 0,
        "region": "a region never seen",
        "has_mortgage": None,
        "employer": None,
        "noise": 0.0,
    }
    p = model.predict(row)
    assert p.shape == (1,) and 0 < p[0] < 1


def test_a_missing_column_is_named(model: RiskModel) -> None:
    with pytest.raises(ValueError, match="no column 'utilisation'"):
        model.predict({"income": [1.0]})


def test_contributions_and_base_value_add_up_to_the_log_odds(
    model: RiskModel, rows: pd.DataFrame
) -> None:
    contributions = model.contributions(rows)
    assert contributions.shape == (300, len(model.feature_names) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), logit(model.predict(rows)), atol=1e-6)
    np.testing.assert_allclose(contributions.sum(axis=1), model.log_odds(rows), atol=1e-9)
    assert np.ptp(contributions[:, -1]) < 1e-9  # one base value for every row


def test_explain_gives_the_largest_contributions_signed(
    model: RiskModel, rows: pd.DataFrame
) -> None:
    one = rows.iloc[[3]]
    factors = model.explain(one, top=3)
    assert len(factors) == 3
    full = model.contributions(one)[0, :-1]
    by_name = dict(zip(model.feature_names, full, strict=True))
    magnitudes = [abs(v) for _, v in factors]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert magnitudes[0] == pytest.approx(np.abs(full).max())
    assert all(by_name[name] == value for name, value in factors)
    everything = model.explain(one, top=100)
    assert len(everything) == len(model.feature_names)
    with pytest.raises(ValueError, match="one row"):
        model.explain(rows.iloc[:2])


def test_the_utilisation_drives_high_scores(model: RiskModel, rows: pd.DataFrame) -> None:
    riskiest = rows.iloc[[int(np.argmax(model.predict(rows)))]]
    assert "utilisation" in [name for name, _ in model.explain(riskiest, top=3)]


def test_bytes_are_json_then_the_booster_text_never_a_pickle(model: RiskModel) -> None:
    data = model.to_bytes()
    head, _, body = data.decode().partition("\n")
    header = json.loads(head)
    assert header["format"] == "banktwin-risk-model" and header["kind"] == model.kind
    assert [f["name"] for f in header["features"]] == list(model.feature_names)
    assert body.startswith("tree") if model.kind == "lightgbm" else body == ""
    for bad in (
        b"\x80\x04pickle",
        b'{"format": "other"}\n',
        data.replace(b'"version":1', b'"version":9'),
    ):
        with pytest.raises(ValueError):
            RiskModel.from_bytes(bad)


@settings(max_examples=25, deadline=None)
@given(
    incomes=st.lists(st.one_of(st.none(), st.floats(1.0, 1e6)), min_size=1, max_size=20),
    region=st.one_of(st.none(), st.sampled_from([*REGIONS, "unknown"])),
    utilisation=st.floats(-1.0, 3.0),
    days=st.integers(0, 30),
)
def test_a_loaded_model_predicts_and_explains_identically(
    model: RiskModel,
    incomes: list[float | None],
    region: str | None,
    utilisation: float,
    days: int,
) -> None:
    n = len(incomes)
    table = {
        "income": incomes,
        "utilisation": [utilisation] * n,
        "days_past_due": [days] * n,
        "region": [region] * n,
        "has_mortgage": [True] * n,
        "employer": ["employer-3"] * n,
        "noise": [0.5] * n,
    }
    loaded = RiskModel.from_bytes(model.to_bytes())
    assert loaded.kind == model.kind and loaded.features == model.features
    assert np.array_equal(loaded.predict(table), model.predict(table))
    assert np.array_equal(loaded.contributions(table), model.contributions(table))
    assert loaded.reference == model.reference
    assert loaded.to_bytes() == model.to_bytes()


def test_the_reference_summarises_training_features_and_score(model: RiskModel) -> None:
    reference = model.reference
    assert set(reference.features) == set(model.feature_names)
    income = reference.features["income"]
    assert income.kind == "numeric" and len(income.edges) == 9
    assert income.missing == pytest.approx(0.1, abs=0.03)
    region = reference.features["region"]
    assert set(region.levels) == set(REGIONS)
    for distribution in (*reference.features.values(), reference.score):
        assert sum(distribution.shares) + distribution.missing == pytest.approx(1.0)
    assert reference.score.rows == 1500 and reference.score.missing == 0


def test_one_customer_is_scored_and_explained_in_well_under_5_ms(model: RiskModel) -> None:
    customer = {
        "income": 38_000.0,
        "utilisation": 0.95,
        "days_past_due": 2,
        "region": "south",
        "has_mortgage": False,
        "employer": "employer-7",
        "noise": 0.1,
    }
    model.predict(customer)  # warm
    timings = []
    for _ in range(300):
        began = time.perf_counter()
        model.predict(customer)
        timings.append(time.perf_counter() - began)
    p99 = float(np.quantile(timings, 0.99))
    assert p99 < 0.005, f"p99 {p99 * 1e3:.2f} ms"
    began = time.perf_counter()
    model.explain(customer)
    assert time.perf_counter() - began < 0.005
