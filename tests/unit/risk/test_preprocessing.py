"""The candidates' encodings: missing values, unseen and rare categories, leak-free target
encoding, and the fitted encodings' JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.risk.columns import feature_columns
from banktwin.risk.linear_encoding import MISSING, OTHER, LinearEncoder
from banktwin.risk.schema import CATEGORICAL, NUMERIC, FeatureSpec
from banktwin.risk.tree_encoding import TreeEncoder

FEATURES = (FeatureSpec("balance", NUMERIC), FeatureSpec("region", CATEGORICAL))


def training_columns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    balance = rng.normal(1000, 200, 300)
    balance[:30] = np.nan
    region = rng.choice(["north", "south", "east"], 300).astype(object)
    region[:5] = "rare"  # fewer rows than MIN_LEVEL_ROWS: pooled as (other)
    region[5:20] = None
    return feature_columns({"balance": balance, "region": region}, FEATURES)


def test_missing_numbers_get_the_median_and_an_indicator_column() -> None:
    columns = training_columns()
    encoder, matrix = LinearEncoder.fit_transform(FEATURES, columns, np.zeros(300, dtype=bool))
    names = encoder.column_names
    assert names[:2] == ["balance", f"balance={MISSING}"]
    assert not np.isnan(matrix).any()
    # Standardised on the training rows.
    np.testing.assert_allclose(matrix.mean(axis=0), 0.0, atol=1e-9)
    live = encoder.transform(feature_columns({"balance": [None], "region": ["north"]}, FEATURES))
    median = np.nanmedian(columns["balance"])
    at_median = encoder.transform(
        feature_columns({"balance": [median], "region": ["north"]}, FEATURES)
    )
    assert live[0, 0] == pytest.approx(at_median[0, 0])  # the median stands in for missing
    assert live[0, 1] > 0 > at_median[0, 1]  # and the indicator tells them apart


def test_unseen_and_rare_categories_share_the_other_column_and_missing_has_its_own() -> None:
    encoder, _ = LinearEncoder.fit_transform(
        FEATURES, training_columns(), np.zeros(300, dtype=bool)
    )
    region = [n for n in encoder.column_names if n.startswith("region=")]
    assert set(region) == {f"region={v}" for v in ("north", "south", "east", OTHER, MISSING)}
    rows = feature_columns(
        {"balance": [1.0, 1.0, 1.0], "region": ["rare", "never-seen", None]}, FEATURES
    )
    matrix = encoder.transform(rows)
    assert not np.isnan(matrix).any()
    np.testing.assert_array_equal(matrix[0], matrix[1])  # unseen reads as a rare level
    assert not np.array_equal(matrix[0], matrix[2])


def test_the_trees_see_missing_and_unseen_categories_as_missing() -> None:
    encoder = TreeEncoder.fit(FEATURES, training_columns())
    rows = feature_columns(
        {"balance": [None, 5.0, 5.0], "region": ["north", "never-seen", None]}, FEATURES
    )
    matrix = encoder.transform(rows)
    assert np.isnan(matrix[0, 0]) and matrix[0, 1] in (0.0, 1.0, 2.0)
    assert np.isnan(matrix[1, 1]) and np.isnan(matrix[2, 1])
    assert encoder.categorical_indices == [1]


def test_target_encoding_is_cross_fitted_a_rows_label_never_reaches_its_own_input() -> None:
    rng = np.random.default_rng(0)
    rows = 2000
    features = (FeatureSpec("merchant", CATEGORICAL),)
    # 200 levels: more than the one-hot limit, so target-encoded.
    columns = feature_columns({"merchant": [f"m{i}" for i in rng.integers(0, 200, rows)]}, features)
    labels = rng.random(rows) < 0.3
    encoder, matrix = LinearEncoder.fit_transform(features, columns, labels, seed=1)
    assert encoder.column_names == ["merchant=(target log-odds)"]
    flipped = labels.copy()
    flipped[7] = not flipped[7]
    other, again = LinearEncoder.fit_transform(features, columns, flipped, seed=1)

    def log_odds(encoder: LinearEncoder, value: float) -> float:  # before standardising
        block = encoder.to_json()[0]
        return float(value * block["scale"] + block["mean"])

    # Row 7's own label is not in its value (only in the other rows' standardisation).
    assert log_odds(other, again[7, 0]) == pytest.approx(log_odds(encoder, matrix[7, 0]), abs=1e-12)
    # The levels are noise: in-sample, the cross-fitted values carry no signal.
    assert abs(np.corrcoef(matrix[:, 0], labels)[0, 1]) < 0.06


@settings(max_examples=40, deadline=None)
@given(
    balances=st.lists(
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=15, max_size=60
    ),
    regions=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=60, max_size=60),
    probe=st.lists(st.sampled_from(["a", "z", None]), min_size=3, max_size=3),
)
def test_fitted_encodings_survive_json(
    balances: list[float | None], regions: list[str | None], probe: list[str | None]
) -> None:
    rows = len(balances)
    columns = feature_columns({"balance": balances, "region": regions[:rows]}, FEATURES)
    labels = np.arange(rows) % 3 == 0
    linear, _ = LinearEncoder.fit_transform(FEATURES, columns, labels)
    tree = TreeEncoder.fit(FEATURES, columns)
    linear_back = LinearEncoder.from_json(FEATURES, json.loads(json.dumps(linear.to_json())))
    tree_back = TreeEncoder.from_json(FEATURES, json.loads(json.dumps(tree.to_json())))
    live = feature_columns({"balance": [1.0, None, 3.0], "region": probe}, FEATURES)
    np.testing.assert_array_equal(linear_back.transform(live), linear.transform(live))
    np.testing.assert_array_equal(tree_back.transform(live), tree.transform(live))


def test_columns_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="no column 'region'"):
        feature_columns({"balance": [1.0]}, FEATURES)
    with pytest.raises(ValueError, match="column 'balance': 'lots' is not a number"):
        feature_columns({"balance": ["lots"], "region": ["a"]}, FEATURES)
    with pytest.raises(ValueError, match="column 'region' has 2 values"):
        feature_columns({"balance": [1.0], "region": ["a", "b"]}, FEATURES)
    # A DataFrame, a mapping of sequences and a mapping of scalars read alike.
    frame = pd.DataFrame({"balance": [2.5], "region": ["a"], "other": [0]})
    for table in (frame, {"balance": [2.5], "region": ["a"]}, {"balance": 2.5, "region": "a"}):
        columns = feature_columns(table, FEATURES)
        assert columns["balance"].tolist() == [2.5] and columns["region"].tolist() == ["a"]
