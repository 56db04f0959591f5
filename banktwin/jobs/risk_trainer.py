"""The RiskScore trainer: the twin's leak-free training table (:mod:`banktwin.risk.twin_table`),
the risk pipeline and its release (:mod:`banktwin.risk.twin_training`), as ``banktwin train
risk`` does without ``--data``. The new version serves only if it beats the champion on the
customers held out (or there is none): the registry's rule for RiskScore, whatever the job's
``promoteIfBetter``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from banktwin.config import Settings
from banktwin.jobs.lifecycle import JobResult, TrainingConfig
from banktwin.jobs.trainer import Parameter, ReportProgress, TrainingFailed
from banktwin.log.port import EventLog
from banktwin.registry.port import RISK_MODEL

if TYPE_CHECKING:  # pandas loads when a job runs
    from banktwin.risk.twin_table import TwinTable

_COMMON: Mapping[str, Parameter] = {
    "seed": Parameter(
        "integer", "The seed of the folds and the trees.", minimum=0, maximum=2**31 - 1
    ),
    "folds": Parameter("integer", "Cross-validation folds.", minimum=2, maximum=10),
    "horizonDays": Parameter(
        "number",
        "A row is positive when a loss follows its as-of date within this many days.",
        minimum=1,
        maximum=3660,
    ),
}
ALGORITHMS: Mapping[str, Mapping[str, Parameter]] = {
    "auto": _COMMON,
    "logistic": _COMMON,
    "lightgbm": _COMMON,
}
"""``auto`` compares logistic regression and LightGBM by cross-validation and keeps the
better; the others train one candidate."""
CANDIDATES = {
    "auto": ("logistic", "lightgbm"),
    "logistic": ("logistic",),
    "lightgbm": ("lightgbm",),
}
TABLE = 0.5
"""The share of the job's progress the table stands for; training follows, then release."""
TRAINED = 0.9


class RiskScoreTrainer:
    """Trains ``RiskScore`` on the twin's history and releases it."""

    algorithms = ALGORITHMS

    def __init__(self, settings: Settings, log: EventLog) -> None:
        self.settings = settings
        self.log = log

    def __call__(self, config: TrainingConfig, progress: ReportProgress) -> JobResult:
        from banktwin.registry import open_model_registry
        from banktwin.risk.labels import DEFAULT_HORIZON
        from banktwin.risk.training import RiskTrainingConfig
        from banktwin.risk.twin_training import (
            NotEnoughLossesError,
            release_twin_model,
            train_on_twin,
            twin_table,
        )

        progress = _never_back(progress)
        params = config.parameters
        horizon = timedelta(days=float(params.get("horizonDays", DEFAULT_HORIZON.days)))

        def on_table(task: str, done: int, total: int | None) -> None:
            share = done / total if total else 0.0
            step = 0.8 * share if task == "events" else 0.8 + 0.2 * share
            progress(TABLE * step, f"building the training table: {task} {done:,}")

        twin = twin_table(self.log, horizon, on_table)
        twin = _within(twin, config)
        progress(TABLE, f"training on {len(twin.labels):,} rows ({twin.positives:,} losses)")
        training_config = RiskTrainingConfig(
            folds=int(params.get("folds", 5)),
            seed=int(params.get("seed", 0)),
            candidates=CANDIDATES[config.algorithm],
        )

        def on_fold(task: str, done: int, total: int) -> None:
            progress(TABLE + (TRAINED - TABLE) * done / max(total, 1), f"{task}: {done}/{total}")

        try:
            training = train_on_twin(twin, config=training_config, progress=on_fold)
        except NotEnoughLossesError as exc:
            raise TrainingFailed(str(exc)) from None
        progress(TRAINED, f"registering a new {RISK_MODEL} version")
        release = release_twin_model(open_model_registry(self.settings), training)
        start, end = release.version.card.training_window
        return JobResult(
            version=release.version.version,
            champion=release.champion,
            metrics=dict(training.trained.metrics),
            trained_from=start,
            trained_until=end,
            note=f"registered {RISK_MODEL}/{release.version.version}: {release.reason}",
        )


def _never_back(progress: ReportProgress) -> ReportProgress:
    """``progress`` that never moves back (the candidates' folds, then the final fit, each
    count from zero)."""
    furthest = 0.0

    def report(share: float, message: str) -> None:
        nonlocal furthest
        furthest = max(furthest, share)
        progress(furthest, message)

    return report


def _within(twin: TwinTable, config: TrainingConfig) -> TwinTable:
    """The rows whose as-of date lies in the job's training window (all without one)."""
    if config.window_start is None and config.window_end is None:
        return twin
    start, end = config.window_start, config.window_end
    keep = np.asarray(
        [(start is None or at >= start) and (end is None or at < end) for at in twin.as_of],
        dtype=bool,
    )
    return replace(
        twin,
        frame=twin.frame.loc[keep].reset_index(drop=True),
        labels=twin.labels[keep],
        customer_ids=tuple(c for c, k in zip(twin.customer_ids, keep, strict=True) if k),
        as_of=tuple(a for a, k in zip(twin.as_of, keep, strict=True) if k),
    )
