"""Training the risk model on a labelled table: cross-validate, choose, calibrate, fit.

:func:`train_risk_model` takes any table of features with one boolean label per row (a bank's
own portfolio, or the twin's table from its event log) and:

1. deals the rows into stratified folds (:func:`~banktwin.risk.evaluation.stratified_folds`);
2. runs each candidate recipe (:mod:`banktwin.risk.candidates`) on the same folds: every row
   gets an uncalibrated out-of-fold log-odds from a model that never saw it;
3. keeps the candidate with the higher mean ROC AUC over the folds (the first listed, the
   logistic one by default, on a tie);
4. measures calibration honestly: each fold's out-of-fold scores are calibrated by a Platt
   scaling fitted on the *other* folds' scores, and Brier score, log-loss and the calibration
   table are computed on those;
5. fits the chosen recipe on every row, calibrated by a Platt scaling fitted on all the
   out-of-fold scores, with the reference of the training distribution for drift.

No I/O: the caller reads the table and writes the results (``banktwin train risk``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

import numpy as np
import pandas as pd

from banktwin.risk.calibration import PlattScaling
from banktwin.risk.candidates import KINDS, LIGHTGBM, LOGISTIC, fit_candidate
from banktwin.risk.columns import Columns, feature_columns, take
from banktwin.risk.evaluation import (
    CalibrationBin,
    calibration_table,
    expected_calibration_error,
    score_metrics,
    stratified_folds,
)
from banktwin.risk.model import RiskModel
from banktwin.risk.reference import reference_of
from banktwin.risk.schema import FeatureSpec, TableSchema, infer_features

MIN_POSITIVES: Final = 10
"""Fewer positives (or negatives) than this tell nothing a model could be judged by."""


class TrainingProgress(Protocol):
    """Told how far training is: ``(task, done, total)``, e.g. ``("lightgbm", 3, 5)``."""

    def __call__(self, task: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class RiskTrainingConfig:
    """How :func:`train_risk_model` trains."""

    folds: int = 5
    seed: int = 0
    candidates: tuple[str, ...] = (LOGISTIC, LIGHTGBM)
    """Recipes to compare, in order of preference on a tie."""
    categorical: tuple[str, ...] = ()
    """Columns to read as categories whatever their type (codes such as a region number)."""
    exclude: tuple[str, ...] = ()
    """Columns of the table that are not features."""
    monotone: Mapping[str, int] = field(default_factory=dict)
    """Numeric column -> +1 (risk may only rise with it) or -1; honoured by the trees."""
    lightgbm_params: Mapping[str, object] = field(default_factory=dict)
    """Overrides of :data:`~banktwin.risk.candidates.DEFAULT_LIGHTGBM_PARAMS`."""
    logistic_params: Mapping[str, object] = field(default_factory=dict)
    """Overrides of ``LogisticRegression``'s arguments (``C`` fixes the L2 strength)."""

    def check(self) -> None:
        """Raises ``ValueError`` naming the setting that cannot work."""
        if self.folds < 2:
            raise ValueError(f"folds: at least 2, not {self.folds}")
        if not self.candidates:
            raise ValueError("candidates: name at least one")
        unknown = [c for c in self.candidates if c not in KINDS]
        if unknown:
            raise ValueError(
                f"candidates: unknown {', '.join(map(repr, unknown))}; use {', '.join(KINDS)}"
            )
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError("candidates: a candidate is named twice")


@dataclass(frozen=True)
class CandidateFigures:
    """One candidate's cross-validated figures (its out-of-fold scores calibrated as in step
    4 of the module)."""

    kind: str
    fold_roc_auc: tuple[float, ...]
    roc_auc_mean: float
    roc_auc_std: float
    """Population standard deviation of the folds' ROC AUC."""
    metrics: dict[str, float]
    """Pooled over every out-of-fold row: ROC AUC, average precision, Brier, log-loss."""
    chosen: tuple[dict[str, float], ...]
    """Per fold, what its inner validation chose (``rounds`` or ``C``)."""
    seconds: float


@dataclass(frozen=True)
class OutOfFold:
    """Every training row's out-of-fold probability from the chosen candidate."""

    ids: tuple[str, ...]
    folds: np.ndarray
    """1 … k: the fold the row was scored in."""
    labels: np.ndarray
    probabilities: np.ndarray


@dataclass(frozen=True)
class RiskTrainingResult:
    """What :func:`train_risk_model` trained and measured."""

    model: RiskModel
    metrics: dict[str, float]
    """The chosen candidate's cross-validated figures (``cv_roc_auc_mean``, ``cv_roc_auc_std``,
    ``cv_roc_auc`` pooled, ``cv_average_precision``, ``cv_brier``, ``cv_brier_uncalibrated``,
    ``cv_log_loss``, ``cv_ece``), each candidate's ``<kind>_cv_roc_auc_mean``, and the rows."""
    candidates: dict[str, CandidateFigures]
    oof: OutOfFold
    calibration: list[CalibrationBin]
    """The calibration table of the out-of-fold probabilities (deciles)."""
    data_hash: str
    params: dict[str, str | int | float]
    window: tuple[datetime, datetime]
    schema: TableSchema
    """The features used and the columns left out, with the reason."""

    @property
    def kind(self) -> str:
        """The chosen candidate."""
        return self.model.kind


def data_hash(table: pd.DataFrame, labels: np.ndarray, ids: Sequence[str]) -> str:
    """SHA-256 of the table (column names, types and every value), the labels and the ids:
    the same data gives the same hash, in any process."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(f"{c}:{table[c].dtype}" for c in table.columns).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    digest.update(np.asarray(labels, dtype=bool).tobytes())
    digest.update("\x1f".join(ids).encode())
    return digest.hexdigest()


def train_risk_model(
    table: pd.DataFrame,
    labels: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    config: RiskTrainingConfig = RiskTrainingConfig(),
    progress: TrainingProgress | None = None,
    window: tuple[datetime, datetime] | None = None,
    groups: Sequence[str] | None = None,
) -> RiskTrainingResult:
    """Train the risk model on ``table`` (see the module).

    Args:
        table: one row per customer (and as-of date), one column per candidate feature; the
            label and the id are not in it. Kinds are inferred (:func:`infer_features`).
        labels: ``(rows,)`` booleans: True when the loss event happened.
        ids: one id per row, for the out-of-fold scores (default: the row numbers).
        config: folds, seed, candidates, column roles, parameter overrides.
        progress: told each fold done (``(candidate, folds done, folds)``, then
            ``("final model", 0|1, 1)``).
        window: the time span of the rows (timezone-aware); default: the moment of training.
        groups: one group per row, kept whole within a fold (a customer's rows at several
            as-of dates are alike: split between folds, they would flatter the figures).

    Raises:
        ValueError: the config cannot work, the lengths differ, a class has fewer than
            :data:`MIN_POSITIVES` rows, or no column is usable as a feature.
    """
    config.check()
    y = np.asarray(labels, dtype=bool).ravel()
    if y.size != len(table):
        raise ValueError(f"{len(table)} rows but {y.size} labels")
    row_ids = tuple(str(i) for i in (ids if ids is not None else range(len(table))))
    if len(row_ids) != len(table):
        raise ValueError(f"{len(table)} rows but {len(row_ids)} ids")
    positives = int(y.sum())
    if min(positives, y.size - positives) < max(MIN_POSITIVES, config.folds):
        raise ValueError(
            f"{positives} positive and {y.size - positives} negative rows: need at least "
            f"{max(MIN_POSITIVES, config.folds)} of each"
        )
    schema = infer_features(
        table,
        categorical=config.categorical,
        exclude=config.exclude,
        monotone=dict(config.monotone),
    )
    if not schema.features:
        reasons = "; ".join(f"{n}: {r}" for n, r in schema.ignored) or "the table has no column"
        raise ValueError(f"no usable feature column ({reasons})")
    columns = feature_columns(table, schema.features)
    if groups is not None and len(groups) != len(table):
        raise ValueError(f"{len(table)} rows but {len(groups)} groups")
    folds = stratified_folds(y, config.folds, config.seed, groups)
    report: TrainingProgress = progress or _silent

    raw: dict[str, np.ndarray] = {}
    figures: dict[str, CandidateFigures] = {}
    for kind in config.candidates:
        raw[kind], figures[kind] = _cross_validate(
            kind, schema.features, columns, y, folds, config, report
        )
    chosen = max(
        config.candidates, key=lambda k: (figures[k].roc_auc_mean, -config.candidates.index(k))
    )

    report("final model", 0, 1)
    calibration = PlattScaling.fit(raw[chosen], y)
    oof_probabilities = _cross_calibrated(raw[chosen], y, folds)
    scorer = fit_candidate(
        chosen, schema.features, columns, y, seed=config.seed, params=_params(chosen, config)
    )
    model = RiskModel(
        scorer, calibration, reference_of(schema.features, columns, oof_probabilities)
    )
    report("final model", 1, 1)

    table_bins = calibration_table(y, oof_probabilities)
    best = figures[chosen]
    metrics = {
        "cv_roc_auc_mean": best.roc_auc_mean,
        "cv_roc_auc_std": best.roc_auc_std,
        **{
            f"cv_{name}": value
            for name, value in best.metrics.items()
            if name not in ("rows", "positives")
        },
        "cv_brier_uncalibrated": _uncalibrated_brier(raw[chosen], y),
        "cv_ece": expected_calibration_error(table_bins),
        **{f"{kind}_cv_roc_auc_mean": figures[kind].roc_auc_mean for kind in config.candidates},
        **{f"{kind}_cv_roc_auc_std": figures[kind].roc_auc_std for kind in config.candidates},
        "train_rows": float(y.size),
        "train_positives": float(positives),
        "features": float(len(schema.features)),
    }
    params: dict[str, str | int | float] = {
        "kind": chosen,
        "candidates": ",".join(config.candidates),
        "folds": config.folds,
        "seed": config.seed,
        "calibration": "platt",
        "calibration_intercept": calibration.intercept,
        "calibration_slope": calibration.slope,
        **scorer.chosen,
        **{f"lightgbm_{k}": _param(v) for k, v in config.lightgbm_params.items()},
        **{f"logistic_{k}": _param(v) for k, v in config.logistic_params.items()},
        "monotone": ",".join(f"{n}={s:+d}" for n, s in sorted(config.monotone.items())) or "none",
        "categorical": ",".join(s.name for s in schema.features if s.kind == "categorical")
        or "none",
        "ignored_columns": ",".join(n for n, _ in schema.ignored) or "none",
        "window": "given" if window is not None else "not given",
    }
    now = datetime.now(UTC)
    return RiskTrainingResult(
        model=model,
        metrics=metrics,
        candidates=figures,
        oof=OutOfFold(row_ids, folds + 1, y, oof_probabilities),
        calibration=table_bins,
        data_hash=data_hash(table, y, row_ids),
        params=params,
        window=window if window is not None else (now, now),
        schema=schema,
    )


def _silent(task: str, done: int, total: int) -> None:
    return None


def _param(value: object) -> str | int | float:
    return value if isinstance(value, str | int | float) else str(value)


def _params(kind: str, config: RiskTrainingConfig) -> Mapping[str, object]:
    return config.lightgbm_params if kind == LIGHTGBM else config.logistic_params


def _cross_validate(
    kind: str,
    features: Sequence[FeatureSpec],
    columns: Columns,
    y: np.ndarray,
    folds: np.ndarray,
    config: RiskTrainingConfig,
    report: TrainingProgress,
) -> tuple[np.ndarray, CandidateFigures]:
    """The candidate's out-of-fold log-odds, and its figures."""
    began = time.perf_counter()
    raw = np.empty(y.size)
    chosen: list[dict[str, float]] = []
    report(kind, 0, config.folds)
    for fold in range(config.folds):
        test = folds == fold
        scorer = fit_candidate(
            kind,
            features,
            take(columns, ~test),
            y[~test],
            seed=config.seed + fold,
            params=_params(kind, config),
        )
        raw[test] = scorer.log_odds(take(columns, test))
        chosen.append(scorer.chosen)
        report(kind, fold + 1, config.folds)
    probabilities = _cross_calibrated(raw, y, folds)
    per_fold = tuple(
        score_metrics(y[folds == f], probabilities[folds == f])["roc_auc"]
        for f in range(config.folds)
    )
    figures = CandidateFigures(
        kind=kind,
        fold_roc_auc=per_fold,
        roc_auc_mean=float(np.mean(per_fold)),
        roc_auc_std=float(np.std(per_fold)),
        metrics=score_metrics(y, probabilities),
        chosen=tuple(chosen),
        seconds=time.perf_counter() - began,
    )
    return raw, figures


def _cross_calibrated(raw: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each fold's scores calibrated by a Platt scaling fitted on the other folds' scores."""
    out = np.empty(y.size)
    for fold in np.unique(folds):
        inside = folds == fold
        out[inside] = PlattScaling.fit(raw[~inside], y[~inside]).probabilities(raw[inside])
    return out


def _uncalibrated_brier(raw: np.ndarray, y: np.ndarray) -> float:
    from banktwin.risk.calibration import sigmoid
    from banktwin.risk.evaluation import brier_score

    return brier_score(y, sigmoid(raw))
