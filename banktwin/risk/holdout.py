"""The holdout: rows kept out of training, chosen by a hash of their id, the same every run.

A new model and the champion are compared on rows neither learnt from. A row is in the holdout
when the hash of its id falls below the holdout share, whatever else is in the table: the same
customer (and as-of date) is held out in every run, so a champion trained last month never
learnt from this month's holdout rows as long as the ids are stable. The hash ignores the
label, so the holdout holds the table's share of positives up to sampling noise (it is
stratified in expectation, and stable, which a per-class sample of each run would not be).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import numpy as np

SALT: Final = b"banktwin-risk-holdout\x1f"
DEFAULT_SHARE: Final = 0.2


def holdout_mask(ids: Sequence[str], share: float = DEFAULT_SHARE) -> np.ndarray:
    """Which rows are in the holdout: those whose id hashes (SHA-256, first 8 bytes, as a
    fraction of 2**64) below ``share``.

    Raises:
        ValueError: ``share`` is not in [0, 1).
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"holdout share: between 0 and 1 (excluded), not {share}")
    bound = int(share * 2**64)
    return np.fromiter(
        (
            int.from_bytes(hashlib.sha256(SALT + i.encode()).digest()[:8], "big") < bound
            for i in ids
        ),
        dtype=bool,
        count=len(ids),
    )
