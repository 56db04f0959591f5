"""The FraudScore trainer: the log's history folded through the fraud engine's own state, a
model trained on it and registered exactly as ``banktwin fraud train`` does
(:func:`~banktwin.fraud.log_commands.train_and_register`), as a ``challenger``."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext

from banktwin.config import Settings
from banktwin.jobs.lifecycle import JobResult, TrainingConfig
from banktwin.jobs.trainer import Parameter, ReportProgress, TrainingFailed
from banktwin.log.port import EventLog
from banktwin.registry.port import CHALLENGER, FRAUD_MODEL

SEED = Parameter(
    "integer",
    "The seed of the model's training: the same history and seed give the same model.",
    minimum=0,
    maximum=2**31 - 1,
)
ALGORITHMS: Mapping[str, Mapping[str, Parameter]] = {
    "lightgbm": {"seed": SEED},
    "logistic": {"seed": SEED},
}
"""Gradient-boosted trees (the default) and the logistic baseline
(:mod:`banktwin.fraud.model`). Their other hyper-parameters are the model's tuned defaults:
``train_on_history`` takes none yet."""
FOLDED = 0.6
"""The share of the job's progress the fold of the history stands for (most of its time on a
big log); training starts there, registering at :data:`TRAINED`."""
TRAINED = 0.9


class FraudScoreTrainer:
    """Trains ``FraudScore`` on the log's history and registers it as a challenger (and as
    champion when it beats the champion and the job asks for that, or there is none)."""

    algorithms = ALGORITHMS

    def __init__(self, settings: Settings, log: EventLog) -> None:
        self.settings = settings
        self.log = log

    def __call__(self, config: TrainingConfig, progress: ReportProgress) -> JobResult:
        from banktwin.fraud.log_commands import feature_config, train_and_register
        from banktwin.fraud.training import NotEnoughHistoryError, fold_history

        total = max(sum(self.log.end_offsets().values()), 1)
        folded = 0

        def on_fold(events: int) -> None:
            nonlocal folded
            folded += events
            share = min(folded / total, 1.0)
            progress(FOLDED * share, f"folding the log's history: {folded:,} of {total:,} events")

        progress(0.0, f"folding the log's history: 0 of {total:,} events")
        history = fold_history(self.log, feature_config(self.settings), on_fold)
        steps = iter((FOLDED, TRAINED))

        def status(message: str) -> AbstractContextManager[object]:
            progress(next(steps, TRAINED), message)
            return nullcontext()

        try:
            trained = train_and_register(
                self.settings,
                history,
                kind=config.algorithm,
                alias=CHALLENGER,
                seed=int(config.parameters.get("seed", 0)),
                promote_if_better=config.promote_if_better,
                window=(config.window_start, config.window_end),
                status=status,
            )
        except NotEnoughHistoryError as exc:
            raise TrainingFailed(f"not enough history to train on: {exc}") from None
        version = trained.version
        start, end = version.card.training_window
        return JobResult(
            version=version.version,
            champion=trained.is_champion,
            metrics=dict(trained.metrics),
            trained_from=start,
            trained_until=end,
            note=f"registered {FRAUD_MODEL}/{version.version} as {trained.alias}"
            f"{trained.verdict}; the champion is version {trained.champion}",
        )
