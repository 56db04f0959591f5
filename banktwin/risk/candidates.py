"""The two candidate recipes: logistic regression and gradient-boosted trees (LightGBM).

A recipe turns training rows into a fitted scorer, and every fit, in a cross-validation fold
or on all the rows, follows the same steps, so the cross-validated figures are those of the
recipe that makes the final model:

1. hold out an inner, stratified validation split (:data:`INNER_VALIDATION` of the rows);
2. choose on it what data alone can tell: the trees' number of rounds (early stopping on the
   validation log-loss); for the logistic model, its L2 strength (the best of
   :data:`LOGISTIC_C_GRID` by log-loss), on inner folds rather than one split (see
   :func:`_choose_c`);
3. fit again on every training row with that choice (the rounds scaled up by the rows the
   validation split had kept away).

A fitted scorer gives uncalibrated log-odds and their per-feature contributions; calibration
is the model's (:mod:`banktwin.risk.calibration`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np

from banktwin.risk.columns import Columns, take
from banktwin.risk.linear_encoding import LinearEncoder
from banktwin.risk.schema import FeatureSpec
from banktwin.risk.tree_encoding import TreeEncoder

if TYPE_CHECKING:
    import lightgbm as lgb

LOGISTIC: Final = "logistic"
LIGHTGBM: Final = "lightgbm"
KINDS: Final = (LOGISTIC, LIGHTGBM)

INNER_VALIDATION: Final = 0.15
LOGISTIC_C_GRID: Final = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""Inverse L2 strengths tried on standardised inputs, from strong to light."""
LOGISTIC_TUNING_FOLDS: Final = 3
LOGISTIC_TUNING_ROWS: Final = 10_000
MAX_ROUNDS: Final = 3000
EARLY_STOPPING_ROUNDS: Final = 100

DEFAULT_LIGHTGBM_PARAMS: Final[Mapping[str, object]] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "min_sum_hessian_in_leaf": 1e-3,
    "feature_fraction_bynode": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 20,
    "max_cat_threshold": 32,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}
"""LightGBM's defaults for credit tables (thousands to millions of rows, tens of columns).

A low learning rate with early stopping finds the rounds per table; small trees (15 leaves),
``lambda_l2`` and column/row subsampling keep a table of a thousand rows from being learnt by
heart; ``cat_smooth``/``cat_l2`` do the same for the native categorical splits. Columns are
sampled per split (``feature_fraction_bynode``), not per tree: on a table of two or three
columns, per-tree sampling leaves each tree one column and no interaction can be learnt (0.63
ROC AUC instead of 0.87 on the interaction in tests/unit/risk/test_training.py). No class
re-weighting: the score must stay a probability (it is calibrated afterwards all the same).
One thread, as the fraud model (``banktwin/fraud/model.py``): on a shared 2-core machine
OpenMP threads waiting for each other cost far more than they give."""


class Scorer(Protocol):
    """A fitted candidate: rows in, uncalibrated log-odds and their explanation out."""

    kind: str
    features: tuple[FeatureSpec, ...]

    def log_odds(self, columns: Columns) -> np.ndarray:
        """``(rows,)`` uncalibrated log-odds of the label."""
        ...

    def contributions(self, columns: Columns) -> np.ndarray:
        """``(rows, features + 1)``: each feature's contribution to the log-odds, the last
        column the bias; a row's values sum to its :meth:`log_odds`."""
        ...

    @property
    def chosen(self) -> dict[str, float]:
        """What the inner validation chose (``rounds``, ``C``)."""
        ...

    def dump(self) -> dict[str, Any]:
        """The fitted scorer as JSON-ready data (:func:`load_scorer` reads it back)."""
        ...


def inner_split(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A stratified boolean mask of about ``share`` of the rows (at least one of each class
    present in ``labels``, and never all of a class)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.size, dtype=bool)
    for value in (False, True):
        rows = np.flatnonzero(labels == value)
        if rows.size < 2:
            continue
        count = min(rows.size - 1, max(1, round(rows.size * share)))
        mask[rng.choice(rows, size=count, replace=False)] = True
    return mask


class LogisticScorer:
    """Standardised logistic regression over :class:`LinearEncoder`'s columns."""

    kind = LOGISTIC

    def __init__(
        self, encoder: LinearEncoder, coefficients: np.ndarray, intercept: float, c: float
    ) -> None:
        self.features = encoder.features
        self.encoder = encoder
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        self.intercept = float(intercept)
        self.c = float(c)
        self._starts = np.flatnonzero(np.r_[True, encoder.groups[1:] != encoder.groups[:-1]])
        if self.coefficients.shape != (encoder.width,):
            raise ValueError("logistic model: not one coefficient per encoded column")

    @property
    def chosen(self) -> dict[str, float]:
        return {"C": self.c}

    def log_odds(self, columns: Columns) -> np.ndarray:
        return np.asarray(
            self.encoder.transform(columns) @ self.coefficients + self.intercept, dtype=np.float64
        )

    def contributions(self, columns: Columns) -> np.ndarray:
        parts = self.encoder.transform(columns) * self.coefficients
        per_feature = np.add.reduceat(parts, self._starts, axis=1)
        bias = np.full((parts.shape[0], 1), self.intercept)
        return np.hstack([per_feature, bias])

    def dump(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.to_json(),
            "coefficients": self.coefficients.tolist(),
            "intercept": self.intercept,
            "C": self.c,
        }

    @classmethod
    def load(cls, features: Sequence[FeatureSpec], data: Mapping[str, Any]) -> LogisticScorer:
        encoder = LinearEncoder.from_json(features, data["encoder"])
        return cls(encoder, np.asarray(data["coefficients"]), data["intercept"], data["C"])


class LightGbmScorer:
    """Gradient-boosted trees over :class:`TreeEncoder`'s columns."""

    kind = LIGHTGBM

    def __init__(self, encoder: TreeEncoder, booster: lgb.Booster, rounds: int) -> None:
        self.features = encoder.features
        self.encoder = encoder
        self.booster = booster
        self.rounds = rounds

    @property
    def chosen(self) -> dict[str, float]:
        return {"rounds": float(self.rounds)}

    def log_odds(self, columns: Columns) -> np.ndarray:
        # One thread: one customer at a time, where OpenMP's start-up costs more than trees.
        raw = self.booster.predict(self.encoder.transform(columns), raw_score=True, num_threads=1)
        return np.asarray(raw, dtype=np.float64)

    def contributions(self, columns: Columns) -> np.ndarray:
        out = self.booster.predict(
            self.encoder.transform(columns), pred_contrib=True, num_threads=1
        )
        return np.asarray(out, dtype=np.float64)

    def dump(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.to_json(),
            "rounds": self.rounds,
            "booster": self.booster.model_to_string(),
        }

    @classmethod
    def load(cls, features: Sequence[FeatureSpec], data: Mapping[str, Any]) -> LightGbmScorer:
        lgb = _lightgbm()
        encoder = TreeEncoder.from_json(features, data["encoder"])
        try:
            booster = lgb.Booster(model_str=data["booster"])
        except lgb.basic.LightGBMError as exc:
            raise ValueError(f"lightgbm model: {exc}") from None
        if booster.num_feature() != len(encoder.features):
            raise ValueError("lightgbm model: its features differ from the model's")
        return cls(encoder, booster, int(data["rounds"]))


def load_scorer(kind: str, features: Sequence[FeatureSpec], data: Mapping[str, Any]) -> Scorer:
    """A scorer from its :meth:`Scorer.dump`; ``ValueError`` for anything else."""
    if kind == LOGISTIC:
        return LogisticScorer.load(features, data)
    if kind == LIGHTGBM:
        return LightGbmScorer.load(features, data)
    raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")


def fit_candidate(
    kind: str,
    features: Sequence[FeatureSpec],
    columns: Columns,
    labels: np.ndarray,
    *,
    seed: int = 0,
    params: Mapping[str, object] | None = None,
) -> Scorer:
    """Fit the ``kind`` recipe (see the module) on training rows.

    Args:
        kind: ``logistic`` or ``lightgbm``.
        features: the inputs, in order.
        columns: the training rows (:func:`~banktwin.risk.columns.feature_columns`).
        labels: ``(rows,)`` booleans; both classes must occur.
        seed: the same rows and seed give the same scorer.
        params: overrides of :data:`DEFAULT_LIGHTGBM_PARAMS` (trees; ``num_iterations`` fixes
            the rounds and skips early stopping) or of ``LogisticRegression``'s arguments
            (``C`` fixes it and skips the choice).
    """
    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(f"training needs both classes: {int(y.sum())} positives in {y.size} rows")
    if kind == LOGISTIC:
        return _fit_logistic(features, columns, y, seed, dict(params or {}))
    if kind == LIGHTGBM:
        return _fit_lightgbm(features, columns, y, seed, dict(params or {}))
    raise ValueError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")


def _logistic_regression(c: float, seed: int, params: Mapping[str, object]) -> Any:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    arguments: dict[str, Any] = {"C": c, "max_iter": 2000, "random_state": seed, **params}
    return LogisticRegression(**arguments)


def _log_loss(labels: np.ndarray, log_odds: np.ndarray) -> float:
    # -log sigmoid(z) for positives, -log sigmoid(-z) for negatives, without overflow.
    signed = np.where(labels, log_odds, -log_odds)
    return float(np.mean(np.logaddexp(0.0, -signed)))


def _fit_logistic(
    features: Sequence[FeatureSpec],
    columns: Columns,
    y: np.ndarray,
    seed: int,
    params: dict[str, object],
) -> LogisticScorer:
    fixed = params.pop("C", None)
    c = float(fixed) if fixed is not None else _choose_c(features, columns, y, seed, params)  # type: ignore[arg-type]
    encoder, x = LinearEncoder.fit_transform(features, columns, y, seed)
    fitted = _logistic_regression(c, seed, params).fit(x, y)
    return LogisticScorer(encoder, fitted.coef_[0], float(fitted.intercept_[0]), c)


def _choose_c(
    features: Sequence[FeatureSpec],
    columns: Columns,
    y: np.ndarray,
    seed: int,
    params: Mapping[str, object],
) -> float:
    """The C of :data:`LOGISTIC_C_GRID` with the lowest log-loss over inner folds.

    Inner cross-validation, not one validation split: on a small table (a thousand rows) one
    split of 15 % held too few positives and chose C almost at random. It runs on at most
    :data:`LOGISTIC_TUNING_ROWS` rows (a stratified sample), where the choice has settled.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(y.size)
    if y.size > LOGISTIC_TUNING_ROWS:
        rows = np.sort(np.flatnonzero(inner_split(y, LOGISTIC_TUNING_ROWS / y.size, seed)))
    sample, labels = take(columns, rows), y[rows]
    folds = np.empty(labels.size, dtype=np.int64)
    for value in (False, True):
        members = rng.permutation(np.flatnonzero(labels == value))
        folds[members] = np.arange(members.size) % LOGISTIC_TUNING_FOLDS
    losses = np.zeros(len(LOGISTIC_C_GRID))
    for fold in range(LOGISTIC_TUNING_FOLDS):
        test = folds == fold
        encoder, x = LinearEncoder.fit_transform(features, take(sample, ~test), labels[~test], seed)
        x_test = encoder.transform(take(sample, test))
        for i, candidate in enumerate(LOGISTIC_C_GRID):
            fitted = _logistic_regression(candidate, seed, params).fit(x, labels[~test])
            losses[i] += _log_loss(labels[test], fitted.decision_function(x_test))
    return LOGISTIC_C_GRID[int(np.argmin(losses))]


def _lightgbm() -> Any:
    """LightGBM, imported when a model is trained or loaded (it brings scikit-learn, ~1.5 s)."""
    import lightgbm

    return lightgbm


def _fit_lightgbm(
    features: Sequence[FeatureSpec],
    columns: Columns,
    y: np.ndarray,
    seed: int,
    params: dict[str, object],
) -> LightGbmScorer:
    lgb = _lightgbm()
    merged: dict[str, Any] = {**DEFAULT_LIGHTGBM_PARAMS, "seed": seed, **params}
    if any(spec.monotone for spec in features):
        merged["monotone_constraints"] = [spec.monotone for spec in features]
    fixed = merged.pop("num_iterations", None)
    names = [f"f{i}" for i in range(len(features))]  # any text: the model keeps names apart

    def dataset(
        encoder: TreeEncoder, rows: Columns, labels: np.ndarray, reference: Any = None
    ) -> Any:
        return lgb.Dataset(
            encoder.transform(rows),
            label=labels.astype(np.float64),
            feature_name=names,
            categorical_feature=encoder.categorical_indices,
            reference=reference,
            free_raw_data=True,
        )

    if fixed is not None:
        rounds = int(fixed)
    else:
        valid = inner_split(y, INNER_VALIDATION, seed)
        inner_rows, valid_rows = take(columns, ~valid), take(columns, valid)
        encoder = TreeEncoder.fit(features, inner_rows)
        train_set = dataset(encoder, inner_rows, y[~valid])
        valid_set = dataset(encoder, valid_rows, y[valid], reference=train_set)
        booster = lgb.train(
            merged,
            train_set,
            num_boost_round=MAX_ROUNDS,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        )
        best = max(1, booster.best_iteration)
        rounds = max(1, round(best / (1.0 - INNER_VALIDATION)))
    encoder = TreeEncoder.fit(features, columns)
    booster = lgb.train(merged, dataset(encoder, columns, y), num_boost_round=rounds)
    return LightGbmScorer(encoder, booster, rounds)
