"""The training distribution a risk model keeps, for drift to be measured against (PSI).

Per feature and for the score, a :class:`Distribution`: for numbers, up to 10 quantile bins
(the edges are the training deciles, repeated ones merged, so a value mostly 0 gives fewer
bins) with the share of rows in each and the share missing; for categories, each level's share
(the :data:`MAX_LEVELS` most frequent, the rest pooled as ``(other)``) and the share missing.
Shares are of all rows: the bins' shares and ``missing`` add up to 1.

A drift engine bins live values with the same edges (:meth:`Distribution.observe`) and
compares the two sets of shares; the binning rule is here so both sides use the same one.
Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np

from banktwin.risk.schema import NUMERIC, FeatureSpec

QUANTILE_BINS: Final = 10
MAX_LEVELS: Final = 50
OTHER: Final = "(other)"


@dataclass(frozen=True, slots=True)
class Distribution:
    """A column's distribution as shares of rows.

    Numeric: ``edges`` ``e1 < … < ek`` cut the line into ``k + 1`` bins, right-closed:
    ``(-inf, e1], (e1, e2], …, (ek, inf)``; ``shares[i]`` is the share of rows in bin ``i``.
    Categorical: ``levels[i]`` has share ``shares[i]``; ``(other)`` pools the rest.
    Either way ``missing`` is the share of rows with no value, and all shares sum to 1.
    """

    kind: Literal["numeric", "categorical"]
    shares: tuple[float, ...]
    missing: float
    rows: int
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {level: i for i, level in enumerate(self.levels)})

    def counts(self, values: np.ndarray | Sequence[Any]) -> tuple[np.ndarray, int]:
        """How many of ``values`` fall in each bin (or level) of this distribution, and how
        many are missing. Numeric values: NaN is missing; category keys: ``None`` is missing,
        and a level not listed counts as ``(other)`` (or is dropped when there is none)."""
        if self.kind == NUMERIC:
            x = np.asarray(values, dtype=np.float64)
            missing = np.isnan(x)
            bins = np.searchsorted(np.asarray(self.edges), x[~missing], side="left")
            return np.bincount(bins, minlength=len(self.shares)), int(missing.sum())
        out = np.zeros(len(self.shares), dtype=np.int64)
        other = self._index.get(OTHER)
        missing_count = 0
        for key in values:
            if key is None:
                missing_count += 1
                continue
            i = self._index.get(key, other)
            if i is not None:
                out[i] += 1
        return out, missing_count

    def observe(self, values: np.ndarray | Sequence[Any]) -> Distribution:
        """The distribution of ``values`` over this one's bins or levels (for PSI)."""
        counts, missing = self.counts(values)
        rows = int(counts.sum()) + missing
        total = max(rows, 1)
        return Distribution(
            kind=self.kind,
            shares=tuple(float(c) / total for c in counts),
            missing=missing / total,
            rows=rows,
            edges=self.edges,
            levels=self.levels,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (:meth:`from_json` reads it back)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "shares": list(self.shares),
            "missing": self.missing,
            "rows": self.rows,
        }
        if self.kind == NUMERIC:
            out["edges"] = list(self.edges)
        else:
            out["levels"] = list(self.levels)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Distribution:
        return cls(
            kind=data["kind"],
            shares=tuple(float(s) for s in data["shares"]),
            missing=float(data["missing"]),
            rows=int(data["rows"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            levels=tuple(str(level) for level in data.get("levels", ())),
        )


def numeric_distribution(values: np.ndarray, bins: int = QUANTILE_BINS) -> Distribution:
    """The quantile bins of ``values`` (NaN missing): the inner ``bins - 1`` quantiles as edges."""
    x = np.asarray(values, dtype=np.float64)
    present = x[~np.isnan(x)]
    if present.size:
        cuts = np.quantile(present, np.arange(1, bins) / bins)
        edges = tuple(float(e) for e in np.unique(cuts))
    else:
        edges = ()
    empty = Distribution("numeric", (0.0,) * (len(edges) + 1), 0.0, 0, edges=edges)
    return empty.observe(x)


def categorical_distribution(keys: Sequence[Any], max_levels: int = MAX_LEVELS) -> Distribution:
    """Each level's share of ``keys`` (``None`` missing), the rarest beyond ``max_levels``
    pooled as ``(other)``."""
    counts = Counter(k for k in keys if k is not None)
    levels = [k for k, _ in counts.most_common(max_levels)]
    if len(counts) > max_levels:
        levels.append(OTHER)
    empty = Distribution("categorical", (0.0,) * len(levels), 0.0, 0, levels=tuple(levels))
    return empty.observe(keys)


@dataclass(frozen=True, slots=True)
class ModelReference:
    """The training distribution of each feature and of the score."""

    features: dict[str, Distribution]
    score: Distribution
    """The calibrated probabilities the recipe gave the training rows out of fold (scores of
    rows the scoring model had not learnt from, as live scores are)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "features": {name: d.to_json() for name, d in self.features.items()},
            "score": self.score.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelReference:
        return cls(
            features={n: Distribution.from_json(d) for n, d in data["features"].items()},
            score=Distribution.from_json(data["score"]),
        )


def reference_of(
    features: Sequence[FeatureSpec], columns: Mapping[str, np.ndarray], scores: np.ndarray
) -> ModelReference:
    """The reference of training ``columns`` (see :mod:`banktwin.risk.columns`) and ``scores``."""
    return ModelReference(
        features={
            spec.name: (
                numeric_distribution(columns[spec.name])
                if spec.kind == NUMERIC
                else categorical_distribution(list(columns[spec.name]))
            )
            for spec in features
        },
        score=numeric_distribution(scores),
    )
