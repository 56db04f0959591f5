"""How the logistic candidate reads a table: imputed, clipped, one-hot or target-encoded, scaled.

Fitted on a training fold only, then applied to any rows (a test fold, live customers):

- **numbers**: a missing value becomes the training median, and a missing indicator column
  is added when the training rows had missing values (missing is often itself a signal: no
  bureau record); values are clipped to the training 1st-99th percentiles (a few huge
  balances would otherwise decide a linear model's slope); then standardised.
- **categories** with at most :data:`MAX_ONE_HOT_LEVELS` frequent levels (at least
  :data:`MIN_LEVEL_ROWS` rows each): one column per level, one for the rare and unseen ones
  pooled (``other``) and one for missing when training had them; each standardised, so the L2
  penalty treats every level alike and no level needs dropping.
- **categories** with more frequent levels: one column, the level's smoothed log-odds of the
  label (target encoding). On the training rows it is **cross-fitted**: a row's value comes
  from the other inner folds only, so the label of a row never leaks into its own input.

Every output column belongs to one feature (:attr:`LinearEncoder.groups`): a row's
contributions to the log-odds add up per feature for an explanation. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from banktwin.risk.columns import Columns, row_count
from banktwin.risk.schema import NUMERIC, FeatureSpec

MAX_ONE_HOT_LEVELS: Final = 30
MIN_LEVEL_ROWS: Final = 10
TARGET_SMOOTHING: Final = 20.0
"""Rows of prior weight in a level's target encoding: a level seen in 20 rows is half its own
rate, half the overall rate (on the log-odds of the smoothed rate)."""
TARGET_FOLDS: Final = 5
CLIP_QUANTILES: Final = (0.01, 0.99)
MISSING: Final = "(missing)"
OTHER: Final = "(other)"


def _standardise(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean()) if values.size else 0.0
    scale = float(values.std()) if values.size else 1.0
    return mean, (scale if scale > 1e-12 else 1.0)


@dataclass(frozen=True, slots=True)
class _Numeric:
    median: float
    low: float
    high: float
    mean: float
    scale: float
    missing_mean: float | None
    """Set when training had missing values: the indicator column's mean (and scale)."""
    missing_scale: float

    @property
    def width(self) -> int:
        return 1 if self.missing_mean is None else 2

    def fill(self, values: np.ndarray, out: np.ndarray) -> None:
        missing = np.isnan(values)
        filled = np.where(missing, self.median, values)
        out[:, 0] = (np.clip(filled, self.low, self.high) - self.mean) / self.scale
        if self.missing_mean is not None:
            out[:, 1] = (missing - self.missing_mean) / self.missing_scale

    @classmethod
    def fit(cls, values: np.ndarray) -> _Numeric:
        missing = np.isnan(values)
        present = values[~missing]
        if present.size == 0:
            median = low = high = 0.0
        else:
            median = float(np.median(present))
            low, high = (float(q) for q in np.quantile(present, CLIP_QUANTILES))
        clipped = np.clip(np.where(missing, median, values), low, high)
        mean, scale = _standardise(clipped)
        if not missing.any():
            return cls(median, low, high, mean, scale, None, 1.0)
        missing_mean, missing_scale = _standardise(missing.astype(np.float64))
        return cls(median, low, high, mean, scale, missing_mean, missing_scale)

    def names(self, feature: str) -> list[str]:
        return [feature] + ([f"{feature}={MISSING}"] if self.missing_mean is not None else [])


@dataclass(frozen=True, slots=True)
class _OneHot:
    levels: tuple[str, ...]
    """The columns: frequent levels, then ``(other)`` and ``(missing)`` when training had them."""
    means: np.ndarray
    scales: np.ndarray
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {level: i for i, level in enumerate(self.levels)})

    @property
    def width(self) -> int:
        return len(self.levels)

    def codes(self, keys: np.ndarray) -> np.ndarray:
        index = self._index
        other = index.get(OTHER, -1)
        missing = index.get(MISSING, other)
        return np.fromiter(
            (missing if k is None else index.get(k, other) for k in keys),
            dtype=np.int64,
            count=len(keys),
        )

    def fill(self, keys: np.ndarray, out: np.ndarray) -> None:
        codes = self.codes(keys)
        hot = np.zeros((len(keys), self.width))
        known = codes >= 0
        hot[np.flatnonzero(known), codes[known]] = 1.0
        out[:, :] = (hot - self.means) / self.scales

    @classmethod
    def fit(cls, keys: np.ndarray, frequent: list[str]) -> _OneHot:
        chosen = set(frequent)
        rare = any(k is not None and k not in chosen for k in keys)
        has_missing = any(k is None for k in keys)
        levels = (*frequent, *([OTHER] if rare else []), *([MISSING] if has_missing else []))
        empty = cls(levels, np.zeros(len(levels)), np.ones(len(levels)))
        hot = np.zeros((len(keys), len(levels)))
        codes = empty.codes(keys)
        hot[np.arange(len(keys)), codes] = 1.0
        means = hot.mean(axis=0)
        scales = hot.std(axis=0)
        return cls(levels, means, np.where(scales > 1e-12, scales, 1.0))

    def names(self, feature: str) -> list[str]:
        return [f"{feature}={level}" for level in self.levels]


@dataclass(frozen=True, slots=True)
class _TargetEncoded:
    log_odds: dict[str, float]
    """A level's smoothed log-odds of the label (missing under ``(missing)``)."""
    prior: float
    """The overall log-odds: what an unseen level gets."""
    mean: float
    scale: float

    @property
    def width(self) -> int:
        return 1

    def raw(self, keys: np.ndarray) -> np.ndarray:
        table, prior = self.log_odds, self.prior
        return np.fromiter(
            (table.get(MISSING if k is None else k, prior) for k in keys),
            dtype=np.float64,
            count=len(keys),
        )

    def fill(self, keys: np.ndarray, out: np.ndarray) -> None:
        out[:, 0] = (self.raw(keys) - self.mean) / self.scale

    @staticmethod
    def encodings(keys: np.ndarray, labels: np.ndarray) -> tuple[dict[str, float], float]:
        rate = (labels.sum() + 0.5) / (labels.size + 1.0)
        prior = float(np.log(rate / (1 - rate)))
        positives: Counter[str] = Counter()
        rows: Counter[str] = Counter()
        for key, label in zip(keys, labels.tolist(), strict=True):
            level = MISSING if key is None else key
            rows[level] += 1
            positives[level] += label
        m = TARGET_SMOOTHING
        table = {}
        for level, n in rows.items():
            smoothed = (positives[level] + m * rate) / (n + m)
            table[level] = float(np.log(smoothed / (1 - smoothed)))
        return table, prior

    @classmethod
    def fit_cross(
        cls, keys: np.ndarray, labels: np.ndarray, seed: int
    ) -> tuple[_TargetEncoded, np.ndarray]:
        """The encoder from every row, and each row's value from the other inner folds."""
        folds = np.random.default_rng(seed).permutation(len(keys)) % TARGET_FOLDS
        crossed = np.empty(len(keys))
        for fold in range(TARGET_FOLDS):
            inside = folds == fold
            table, prior = cls.encodings(keys[~inside], labels[~inside])
            crossed[inside] = cls(table, prior, 0.0, 1.0).raw(keys[inside])
        table, prior = cls.encodings(keys, labels)
        mean, scale = _standardise(crossed)
        return cls(table, prior, mean, scale), (crossed - mean) / scale

    def names(self, feature: str) -> list[str]:
        return [f"{feature}=(target log-odds)"]


_Block = _Numeric | _OneHot | _TargetEncoded


class LinearEncoder:
    """A fitted encoding of the features into a standardised matrix for logistic regression."""

    def __init__(self, features: Sequence[FeatureSpec], blocks: Sequence[_Block]) -> None:
        self.features = tuple(features)
        self._blocks = tuple(blocks)
        self.width = sum(b.width for b in self._blocks)
        self.groups = np.repeat(np.arange(len(self._blocks)), [b.width for b in self._blocks])
        """The feature (its index in ``features``) each output column belongs to."""

    @property
    def column_names(self) -> list[str]:
        """One name per output column (``income``, ``income=(missing)``, ``region=north`` …)."""
        return [
            n for f, b in zip(self.features, self._blocks, strict=True) for n in b.names(f.name)
        ]

    def transform(self, columns: Columns) -> np.ndarray:
        """The ``(rows, width)`` matrix of ``columns`` (see :mod:`banktwin.risk.columns`)."""
        out = np.empty((row_count(columns), self.width))
        start = 0
        for spec, block in zip(self.features, self._blocks, strict=True):
            block.fill(columns[spec.name], out[:, start : start + block.width])
            start += block.width
        return out

    @classmethod
    def fit_transform(
        cls, features: Sequence[FeatureSpec], columns: Columns, labels: np.ndarray, seed: int = 0
    ) -> tuple[LinearEncoder, np.ndarray]:
        """Fit on training rows; return the encoder and the training rows' matrix (target
        encodings cross-fitted, see the module)."""
        y = np.asarray(labels, dtype=np.float64)
        blocks: list[_Block] = []
        crossed: dict[int, np.ndarray] = {}
        for i, spec in enumerate(features):
            values = columns[spec.name]
            if spec.kind == NUMERIC:
                blocks.append(_Numeric.fit(values))
                continue
            counts = Counter(k for k in values if k is not None)
            frequent = [k for k, n in counts.most_common() if n >= MIN_LEVEL_ROWS]
            if len(frequent) <= MAX_ONE_HOT_LEVELS:
                blocks.append(_OneHot.fit(values, frequent))
            else:
                block, crossed[i] = _TargetEncoded.fit_cross(values, y, seed + i)
                blocks.append(block)
        encoder = cls(features, blocks)
        matrix = encoder.transform(columns)
        starts = np.cumsum([0] + [b.width for b in blocks])
        for i, values in crossed.items():
            matrix[:, starts[i]] = values
        return encoder, matrix

    def to_json(self) -> list[dict[str, Any]]:
        """The fitted encoding as JSON-ready data (:meth:`from_json` reads it back)."""
        out: list[dict[str, Any]] = []
        for block in self._blocks:
            if isinstance(block, _Numeric):
                out.append({"type": "numeric", **{k: getattr(block, k) for k in block.__slots__}})
            elif isinstance(block, _OneHot):
                out.append(
                    {
                        "type": "one_hot",
                        "levels": list(block.levels),
                        "means": block.means.tolist(),
                        "scales": block.scales.tolist(),
                    }
                )
            else:
                out.append(
                    {
                        "type": "target",
                        "log_odds": block.log_odds,
                        "prior": block.prior,
                        "mean": block.mean,
                        "scale": block.scale,
                    }
                )
        return out

    @classmethod
    def from_json(
        cls, features: Sequence[FeatureSpec], data: list[dict[str, Any]]
    ) -> LinearEncoder:
        """An encoder from :meth:`to_json`'s data; ``ValueError`` if it does not fit."""
        if len(data) != len(features):
            raise ValueError("linear encoding: not one block per feature")
        blocks: list[_Block] = []
        for item in data:
            fields = {k: v for k, v in item.items() if k != "type"}
            kind = item["type"]
            if kind == "numeric":
                blocks.append(_Numeric(**fields))
            elif kind == "one_hot":
                blocks.append(
                    _OneHot(
                        tuple(fields["levels"]),
                        np.asarray(fields["means"], dtype=np.float64),
                        np.asarray(fields["scales"], dtype=np.float64),
                    )
                )
            elif kind == "target":
                blocks.append(_TargetEncoded(**fields))
            else:
                raise ValueError(f"linear encoding: unknown block type {kind!r}")
        return cls(features, blocks)
