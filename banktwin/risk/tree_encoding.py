"""How the gradient-boosted candidate reads a table: numbers as they are, categories as codes.

LightGBM splits on missing values itself (NaN stays NaN) and on categories natively (it
groups levels by their gradient statistics at each split), so the only encoding is a level's
code: its rank by frequency in the training rows. Levels beyond :data:`MAX_TREE_LEVELS`,
missing values and levels never seen in training are all NaN, which LightGBM sends down the
same side of a categorical split. One column per feature, in order, so LightGBM's per-feature
contributions are the explanation as they are. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from banktwin.risk.columns import Columns, row_count
from banktwin.risk.schema import CATEGORICAL, FeatureSpec

MAX_TREE_LEVELS: Final = 1000


class TreeEncoder:
    """A fitted encoding of the features into LightGBM's matrix (float64, NaN for missing)."""

    def __init__(self, features: Sequence[FeatureSpec], levels: dict[str, list[str]]) -> None:
        self.features = tuple(features)
        self.levels = {name: list(values) for name, values in levels.items()}
        """Per categorical feature, its levels in code order."""
        self._codes = {
            name: {level: float(i) for i, level in enumerate(values)}
            for name, values in self.levels.items()
        }
        self.categorical_indices = [
            i for i, spec in enumerate(self.features) if spec.kind == CATEGORICAL
        ]

    def transform(self, columns: Columns) -> np.ndarray:
        """The ``(rows, features)`` matrix of ``columns``."""
        rows = row_count(columns)
        out = np.empty((rows, len(self.features)))
        nan = float("nan")
        for i, spec in enumerate(self.features):
            values = columns[spec.name]
            if spec.kind == CATEGORICAL:
                codes = self._codes[spec.name]
                out[:, i] = np.fromiter(
                    (nan if k is None else codes.get(k, nan) for k in values),
                    dtype=np.float64,
                    count=rows,
                )
            else:
                out[:, i] = values
        return out

    @classmethod
    def fit(cls, features: Sequence[FeatureSpec], columns: Columns) -> TreeEncoder:
        """The levels of each categorical feature in the training rows, most frequent first."""
        levels: dict[str, list[str]] = {}
        for spec in features:
            if spec.kind == CATEGORICAL:
                counts = Counter(k for k in columns[spec.name] if k is not None)
                levels[spec.name] = [k for k, _ in counts.most_common(MAX_TREE_LEVELS)]
        return cls(features, levels)

    def to_json(self) -> dict[str, Any]:
        """The fitted encoding as JSON-ready data."""
        return {"levels": self.levels}

    @classmethod
    def from_json(cls, features: Sequence[FeatureSpec], data: dict[str, Any]) -> TreeEncoder:
        """An encoder from :meth:`to_json`'s data; ``ValueError`` if it does not fit."""
        levels = data["levels"]
        wanted = {s.name for s in features if s.kind == CATEGORICAL}
        if set(levels) != wanted:
            raise ValueError("tree encoding: its categorical features differ from the model's")
        return cls(features, levels)
