"""The fraud model: gradient-boosted trees (LightGBM), with logistic regression as baseline.

A :class:`FraudModel` turns feature rows (``feature_matrix``) into the probability that a
transaction is fraud, explains a score as per-feature contributions to its log-odds, and
serialises to bytes without pickle: a one-line JSON header (format, kind, feature names)
followed by LightGBM's own text format (``model_to_string``) or, for the logistic baseline,
a JSON document of means, scales, coefficients and intercept, predicted with numpy.

The module does no I/O; training takes arrays, serialisation gives bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np

from banktwin.fraud.feature_names import FEATURE_NAMES

if TYPE_CHECKING:
    import lightgbm as lgb

KINDS: Final = ("lightgbm", "logistic")
FORMAT: Final = "banktwin-fraud-model"
FORMAT_VERSION: Final = 1

DEFAULT_LIGHTGBM_PARAMS: Final[Mapping[str, object]] = {
    "objective": "binary",
    "num_iterations": 300,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 5,
    "min_data_in_leaf": 100,
    "min_sum_hessian_in_leaf": 1e-3,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}
"""LightGBM's training defaults for rare-event fraud.

No class re-weighting (``is_unbalance`` / ``scale_pos_weight``): the backtest ranks models by
average precision and card precision top-k, which depend only on the order of the scores, and
re-weighting did not improve that order (on the synthetic backtest table, average precision
0.649 unweighted, 0.629 with ``scale_pos_weight`` 10, 0.622 with ``is_unbalance``); it does
distort the probabilities, and the engine compares the probability with an alert threshold,
which means "P(fraud) >= threshold" only while the model stays calibrated.
``min_data_in_leaf`` 100 and ``lambda_l2`` keep leaves away from a handful of frauds.
Small trees (15 leaves, depth 5) bound the cost of an explanation: ``pred_contrib`` (TreeSHAP)
grows with leaves times depth squared, 1.6 ms a row with 31 leaves and depth 6, 0.66 ms here,
at the same average precision on that table (0.655 and 0.662).
``deterministic`` with ``force_row_wise`` gives the same model for the same data and seed.
One thread: with two, LightGBM's OpenMP threads wait for each other whenever another process
holds a core, and training took 10 to 20 times longer (33-66 s instead of 3.4 s for 82,000
rows) on the shared 2-core machine; pass ``num_threads`` to use more on a quiet one."""

DEFAULT_LOGISTIC_PARAMS: Final[Mapping[str, object]] = {"C": 1.0, "max_iter": 1000}
"""scikit-learn ``LogisticRegression`` defaults for the baseline (L2, lbfgs, no class weight,
for the same reason as the trees)."""


class _Scorer(Protocol):
    def log_odds(self, rows: np.ndarray) -> np.ndarray: ...

    def contributions(self, rows: np.ndarray) -> np.ndarray: ...

    def dump(self) -> str: ...


class _LightGbmScorer:
    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        # One thread: the live engine scores one transaction at a time, where OpenMP's
        # start-up would cost more than the trees.
        raw = self.booster.predict(rows, raw_score=True, num_threads=1)
        return np.asarray(raw, dtype=np.float64)

    def contributions(self, rows: np.ndarray) -> np.ndarray:
        out = self.booster.predict(rows, pred_contrib=True, num_threads=1)
        return np.asarray(out, dtype=np.float64)

    def dump(self) -> str:
        return str(self.booster.model_to_string())


@dataclass(frozen=True, slots=True)
class _LogisticScorer:
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        standardised = (rows - self.means) / self.scales
        return np.asarray(standardised @ self.coefficients + self.intercept, dtype=np.float64)

    def contributions(self, rows: np.ndarray) -> np.ndarray:
        standardised = (rows - self.means) / self.scales
        bias = np.full((rows.shape[0], 1), self.intercept)
        return np.hstack([standardised * self.coefficients, bias])

    def dump(self) -> str:
        return json.dumps(
            {
                "means": self.means.tolist(),
                "scales": self.scales.tolist(),
                "coefficients": self.coefficients.tolist(),
                "intercept": self.intercept,
            }
        )

    @classmethod
    def load(cls, text: str, width: int) -> _LogisticScorer:
        data = json.loads(text)
        scorer = cls(
            means=np.asarray(data["means"], dtype=np.float64),
            scales=np.asarray(data["scales"], dtype=np.float64),
            coefficients=np.asarray(data["coefficients"], dtype=np.float64),
            intercept=float(data["intercept"]),
        )
        for name in ("means", "scales", "coefficients"):
            if getattr(scorer, name).shape != (width,):
                raise ValueError(f"logistic model: {name} has not one value per feature")
        return scorer


def _sigmoid(log_odds: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * log_odds)), dtype=np.float64)


class FraudModel:
    """A trained fraud model and the features it reads, in order.

    Attributes:
        kind: ``"lightgbm"`` or ``"logistic"``.
        feature_names: the columns of the rows it takes, in order.
    """

    kind: str
    feature_names: tuple[str, ...]

    def __init__(self, kind: str, feature_names: Sequence[str], scorer: _Scorer) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
        self.kind = kind
        self.feature_names = tuple(feature_names)
        self._scorer = scorer

    def __repr__(self) -> str:
        return f"FraudModel(kind={self.kind!r}, features={len(self.feature_names)})"

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.feature_names):
            raise ValueError(
                f"rows must have {len(self.feature_names)} columns (the model's features), "
                f"not shape {matrix.shape}"
            )
        return matrix

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """The probability of fraud of each row.

        Args:
            rows: ``(n, k)`` feature values in the order of ``feature_names`` (a single
                ``(k,)`` row is taken as one row).

        Returns:
            ``(n,)`` float64 probabilities in [0, 1].
        """
        return _sigmoid(self._scorer.log_odds(self._rows(rows)))

    def contributions(self, rows: np.ndarray) -> np.ndarray:
        """Each feature's contribution to each row's log-odds of fraud.

        For LightGBM these are its TreeSHAP values (``pred_contrib``); for the logistic model,
        coefficient * standardised value. Either way a row's contributions sum to its
        log-odds, ``log(p / (1 - p))``.

        Args:
            rows: ``(n, k)`` feature values, as for :meth:`predict`.

        Returns:
            ``(n, k + 1)`` float64: one column per feature, the last the bias (the log-odds of
            a row at the training average).
        """
        return self._scorer.contributions(self._rows(rows))

    def top_factors(self, contributions: np.ndarray, top: int = 3) -> list[tuple[str, float]]:
        """The features that push one row's score up most.

        Args:
            contributions: one row of :meth:`contributions`, shape ``(k + 1,)`` or
                ``(1, k + 1)``.
            top: how many to return at most.

        Returns:
            ``(feature name, contribution)`` of the ``top`` largest positive contributions,
            largest first (fewer when fewer are positive); the bias is never a factor.
        """
        values = np.asarray(contributions, dtype=np.float64)
        if values.ndim == 2 and values.shape[0] == 1:
            values = values[0]
        width = len(self.feature_names)
        if values.shape != (width + 1,):
            raise ValueError(f"give one row of {width + 1} contributions, not {values.shape}")
        features = values[:width]
        order = np.argsort(-features, kind="stable")
        return [(self.feature_names[i], float(features[i])) for i in order[:top] if features[i] > 0]

    def to_bytes(self) -> bytes:
        """The model as bytes: a JSON header line, then LightGBM's text model or the logistic
        model's JSON (no pickle: safe to load from a registry)."""
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "feature_names": list(self.feature_names),
        }
        return (json.dumps(header) + "\n" + self._scorer.dump()).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> FraudModel:
        """A model from :meth:`to_bytes`; raises ``ValueError`` for anything else."""
        try:
            head, _, body = data.decode().partition("\n")
        except UnicodeDecodeError:
            raise ValueError(f"not a {FORMAT}: not UTF-8 text") from None
        try:
            header = json.loads(head)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a {FORMAT} (no JSON header line): {exc}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT}: the header names no such format")
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"{FORMAT} version {header.get('version')} is not supported")
        kind = header.get("kind")
        names = tuple(header.get("feature_names") or ())
        scorer: _Scorer
        if kind == "lightgbm":
            lgb = _lightgbm()
            try:
                booster = lgb.Booster(model_str=body)
            except lgb.basic.LightGBMError as exc:
                raise ValueError(f"lightgbm model: {exc}") from None
            if tuple(booster.feature_name()) != names:
                raise ValueError("lightgbm model: its features differ from the header's")
            scorer = _LightGbmScorer(booster)
        elif kind == "logistic":
            try:
                scorer = _LogisticScorer.load(body, len(names))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"logistic model: not its JSON ({exc})") from None
        else:
            raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
        return cls(kind, names, scorer)


def feature_matrix(
    features: Sequence[Mapping[str, float | int | bool]], names: Sequence[str] = FEATURE_NAMES
) -> np.ndarray:
    """Feature mappings (as ``features_at`` gives) as a float64 ``(n, k)`` matrix, columns in
    the order of ``names``, flags as 0/1. Raises ``KeyError`` naming a missing feature."""
    out = np.empty((len(features), len(names)), dtype=np.float64)
    for i, row in enumerate(features):
        try:
            out[i] = [row[name] for name in names]
        except KeyError as exc:
            raise KeyError(f"row {i} has no feature {exc.args[0]!r}") from None
    return out


def train_model(
    rows: np.ndarray,
    labels: np.ndarray,
    feature_names: Sequence[str],
    *,
    kind: str = "lightgbm",
    seed: int = 0,
    params: Mapping[str, object] | None = None,
) -> FraudModel:
    """Train a fraud model.

    Args:
        rows: ``(n, k)`` feature values, columns in the order of ``feature_names``.
        labels: ``(n,)`` 1 for a fraud, 0 for genuine; both must occur.
        feature_names: the names of the columns.
        kind: ``"lightgbm"`` (gradient-boosted trees, :data:`DEFAULT_LIGHTGBM_PARAMS`) or
            ``"logistic"`` (standardised logistic regression, :data:`DEFAULT_LOGISTIC_PARAMS`).
        seed: the random seed (same data and seed, same model).
        params: overrides of the defaults: LightGBM parameters (``num_iterations`` is the
            number of rounds) or ``LogisticRegression`` arguments.

    Returns:
        The trained model.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels).astype(np.float64).ravel()
    names = tuple(feature_names)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"rows must be (n, {len(names)}), not {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"{x.shape[0]} rows but {y.size} labels")
    if not ((y == 0) | (y == 1)).all():
        raise ValueError("labels must be 0 or 1")
    frauds = int(y.sum())
    if frauds == 0 or frauds == y.size:
        raise ValueError(f"training needs both classes: {frauds} frauds among {y.size} rows")
    if kind == "lightgbm":
        return FraudModel(kind, names, _train_lightgbm(x, y, names, seed, params or {}))
    return FraudModel(kind, names, _train_logistic(x, y, seed, params or {}))


def _lightgbm() -> Any:
    """LightGBM, imported when a model is trained or loaded: it brings scikit-learn with it
    (about 1.5 s), which every process that imports the engine would pay otherwise."""
    import lightgbm

    return lightgbm


def _train_lightgbm(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], seed: int, params: Mapping[str, object]
) -> _LightGbmScorer:
    merged: dict[str, Any] = {**DEFAULT_LIGHTGBM_PARAMS, "seed": seed, **params}
    rounds = int(merged.pop("num_iterations"))
    lgb = _lightgbm()
    dataset = lgb.Dataset(x, label=y, feature_name=list(names), free_raw_data=True)
    booster = lgb.train(merged, dataset, num_boost_round=rounds)
    return _LightGbmScorer(booster)


def _train_logistic(
    x: np.ndarray, y: np.ndarray, seed: int, params: Mapping[str, object]
) -> _LogisticScorer:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    scaler = StandardScaler().fit(x)
    merged: dict[str, Any] = {**DEFAULT_LOGISTIC_PARAMS, "random_state": seed, **params}
    regression = LogisticRegression(**merged).fit(scaler.transform(x), y)
    return _LogisticScorer(
        means=np.asarray(scaler.mean_, dtype=np.float64),
        scales=np.asarray(scaler.scale_, dtype=np.float64),
        coefficients=np.asarray(regression.coef_[0], dtype=np.float64),
        intercept=float(regression.intercept_[0]),
    )
