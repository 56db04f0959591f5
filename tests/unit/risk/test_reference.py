"""The training distribution kept for drift: quantile bins, category shares, live values
binned the same way, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.risk.reference import (
    OTHER,
    Distribution,
    categorical_distribution,
    numeric_distribution,
)


def test_ten_quantile_bins_of_equal_share() -> None:
    values = np.arange(1000, dtype=np.float64)
    values[:100] = np.nan
    d = numeric_distribution(values)
    assert len(d.edges) == 9 and len(d.shares) == 10
    assert d.missing == pytest.approx(0.1)
    np.testing.assert_allclose(d.shares, 0.09, atol=0.002)
    assert d.observe(values) == d


def test_a_mostly_constant_column_gets_fewer_bins() -> None:
    values = np.r_[np.zeros(900), np.arange(1, 101)]
    d = numeric_distribution(values)
    assert d.edges[0] == 0.0 and len(d.edges) < 9
    assert d.shares[0] == pytest.approx(0.9)  # (-inf, 0]


def test_live_values_fall_in_the_training_bins() -> None:
    d = numeric_distribution(np.arange(100, dtype=np.float64))
    live = d.observe(np.array([-1e9, 5.0, 1e9, np.nan]))
    assert live.edges == d.edges and live.rows == 4
    assert live.shares[0] == 0.5 and live.shares[-1] == 0.25 and live.missing == 0.25


def test_categories_beyond_the_limit_are_pooled_and_unseen_ones_join_them() -> None:
    keys = [f"level-{i % 60}" for i in range(600)] + [None] * 60
    d = categorical_distribution(keys, max_levels=50)
    assert len(d.levels) == 51 and d.levels[-1] == OTHER
    assert d.missing == pytest.approx(60 / 660)
    live = d.observe(["level-0", "brand-new", None, None])
    assert live.shares[d.levels.index("level-0")] == 0.25
    assert live.shares[-1] == 0.25 and live.missing == 0.5


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), min_size=1, max_size=200),
    keys=st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), min_size=1, max_size=200),
)
def test_shares_add_up_and_survive_json(values: list[float | None], keys: list[str | None]) -> None:
    numeric = numeric_distribution(np.array([np.nan if v is None else v for v in values]))
    categorical = categorical_distribution(keys, max_levels=3)
    for d in (numeric, categorical):
        assert sum(d.shares) + d.missing == pytest.approx(1.0)
        assert Distribution.from_json(json.loads(json.dumps(d.to_json()))) == d
    assert list(numeric.edges) == sorted(set(numeric.edges))
