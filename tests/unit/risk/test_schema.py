"""Which columns are features, of which kind, and how categories are compared."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from banktwin.risk.schema import CATEGORICAL, NUMERIC, category_key, infer_features


def test_numbers_and_flags_are_numeric_text_is_categorical() -> None:
    table = pd.DataFrame(
        {
            "balance": [1.5, 2.0, np.nan, 4.0],
            "count": [1, 2, 3, 4],
            "flag": [True, False, True, False],
            "region": ["n", "s", None, "n"],
            "code": [1, 2, 1, 3],
        }
    )
    schema = infer_features(table, categorical=["code"], monotone={"balance": -1})
    kinds = {f.name: (f.kind, f.monotone) for f in schema.features}
    assert kinds == {
        "balance": (NUMERIC, -1),
        "count": (NUMERIC, 0),
        "flag": (NUMERIC, 0),
        "region": (CATEGORICAL, 0),
        "code": (CATEGORICAL, 0),
    }
    assert schema.ignored == ()


def test_unusable_columns_are_left_out_with_the_reason() -> None:
    rows = 200
    table = pd.DataFrame(
        {
            "opened": pd.date_range("2024-01-01", periods=rows, freq="D"),
            "empty": [np.nan] * rows,
            "constant": ["x"] * rows,
            "account": [f"acc-{i}" for i in range(rows)],
            "excluded": range(rows),
            "useful": np.arange(rows) % 7,
            "mostly_missing_one_value": [1.0] + [np.nan] * (rows - 1),
        }
    )
    schema = infer_features(table, exclude=["excluded"])
    reasons = dict(schema.ignored)
    assert "date" in reasons["opened"]
    assert "no value" in reasons["empty"]
    assert "same value" in reasons["constant"]
    assert "identifier" in reasons["account"]
    assert reasons["excluded"] == "excluded"
    # One value plus missing values still says something (whether it is known).
    assert schema.names == ("useful", "mostly_missing_one_value")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"categorical": ["nope"]}, "categorical: no column 'nope'"),
        ({"exclude": ["nope"]}, "exclude: no column 'nope'"),
        ({"monotone": {"nope": 1}}, "monotone: no column 'nope'"),
        ({"monotone": {"a": 2}}, "monotone: 'a' must be +1 or -1"),
        ({"monotone": {"b": 1}}, "monotone: 'b' is categorical"),
    ],
)
def test_options_naming_a_column_are_checked(options: dict[str, object], message: str) -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(ValueError, match=re.escape(message)):
        infer_features(table, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
        (2.0, "2"),
        (np.int64(2), "2"),
        (2, "2"),
        (2.5, "2.5"),
        (True, "true"),
        (np.bool_(False), "false"),
        ("north", "north"),
    ],
)
def test_category_keys_match_across_types(value: object, key: str | None) -> None:
    assert category_key(value) == key
