"""The holdout is chosen by a hash of the row id: the same rows in every run, whatever else
the table holds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.risk.holdout import holdout_mask


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=100, unique=True))
def test_a_row_is_held_out_or_not_whatever_the_other_rows(ids: list[str]) -> None:
    mask = holdout_mask(ids, 0.3)
    half = ids[::2]
    assert np.array_equal(holdout_mask(half, 0.3), mask[::2])
    assert np.array_equal(holdout_mask(list(reversed(ids)), 0.3), mask[::-1])


def test_the_share_is_kept_and_a_larger_share_holds_the_smaller_one() -> None:
    ids = [f"customer-{i}" for i in range(20_000)]
    small, large = holdout_mask(ids, 0.1), holdout_mask(ids, 0.2)
    assert small.mean() == pytest.approx(0.1, abs=0.01)
    assert large.mean() == pytest.approx(0.2, abs=0.01)
    assert not (small & ~large).any()
    assert not holdout_mask(ids, 0.0).any()
    with pytest.raises(ValueError, match="holdout share"):
        holdout_mask(ids, 1.0)
