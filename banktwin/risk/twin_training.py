"""Training the risk model on the twin's own history: the leak-free table of
:mod:`banktwin.risk.twin_table`, the pipeline of :mod:`banktwin.risk.training`, the release of
:mod:`banktwin.risk.release`. ``banktwin train risk`` (without ``--data``), the retraining
jobs and the demo all train this way.

A customer has a row per weekly as-of date, and their rows are alike; so cross-validation
keeps each customer's rows in one fold, and the holdout the new version is compared with the
champion on is a set of customers (by a hash of their id), not of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from banktwin.log.port import EventLog
from banktwin.registry.port import ModelRegistry
from banktwin.risk.holdout import holdout_mask
from banktwin.risk.labels import DEFAULT_HORIZON
from banktwin.risk.release import RiskRelease, release_risk_model
from banktwin.risk.tabular import LabelledTable
from banktwin.risk.training import (
    RiskTrainingConfig,
    RiskTrainingResult,
    TrainingProgress,
    train_risk_model,
)
from banktwin.risk.twin_table import TableProgress, TwinTable, training_table

HOLDOUT = 0.2
"""The share of customers kept out of training to compare a new version with the champion."""
POSITIVE = "loss"


class NotEnoughLossesError(ValueError):
    """The history holds too few rows or losses to train on."""


@dataclass(frozen=True)
class TwinTraining:
    """A model trained on the twin, with the table it learned from."""

    twin: TwinTable
    labelled: LabelledTable
    trained: RiskTrainingResult
    holdout: np.ndarray
    """The rows kept out of training (their customers' every row)."""


def twin_table(
    log: EventLog, horizon: timedelta = DEFAULT_HORIZON, progress: TableProgress | None = None
) -> TwinTable:
    """The log's leak-free training table (every event, read in time order)."""
    return training_table(log, horizon=horizon, progress=progress)


def train_on_twin(
    twin: TwinTable,
    *,
    config: RiskTrainingConfig | None = None,
    holdout_share: float = HOLDOUT,
    progress: TrainingProgress | None = None,
) -> TwinTraining:
    """Train on ``twin``, keeping a share of its customers out.

    Raises:
        NotEnoughLossesError: no rows, or too few losses among the rows trained on.
    """
    if not len(twin.labels):
        raise NotEnoughLossesError(
            "the history has no as-of date with a whole horizon after it: it is too short"
        )
    labelled = LabelledTable(
        features=twin.frame,
        labels=twin.labels,
        ids=twin.ids,
        positive=POSITIVE,
        window=twin.window,
        unlabelled=0,
    )
    customers = list(twin.customer_ids)
    held = holdout_mask(customers, holdout_share)
    keep = ~held
    try:
        trained = train_risk_model(
            twin.frame.loc[keep].reset_index(drop=True),
            twin.labels[keep],
            ids=[i for i, k in zip(twin.ids, keep, strict=True) if k],
            config=config or RiskTrainingConfig(),
            progress=progress,
            window=twin.window,
            groups=[c for c, k in zip(customers, keep, strict=True) if k],
        )
    except ValueError as exc:
        if "positive" in str(exc) or "negative" in str(exc):
            raise NotEnoughLossesError(f"too few losses in the history: {exc}") from None
        raise
    return TwinTraining(twin, labelled, trained, held)


def release_twin_model(
    registry: ModelRegistry, training: TwinTraining, *, force: bool = False
) -> RiskRelease:
    """Register the model, champion only if it beats the champion on the held-out customers
    (or ``force``, or there is none)."""
    held = training.holdout
    holdout = None
    if held.any():
        holdout = (
            training.twin.frame.loc[held].reset_index(drop=True),
            training.twin.labels[held],
        )
    return release_risk_model(registry, training.trained, holdout=holdout, force=force)


def train_and_release(
    log: EventLog,
    registry: Callable[[], ModelRegistry],
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    config: RiskTrainingConfig | None = None,
    force: bool = False,
    table_progress: TableProgress | None = None,
    progress: TrainingProgress | None = None,
) -> tuple[TwinTraining, RiskRelease]:
    """The whole way: the table, the training, the release."""
    twin = twin_table(log, horizon, table_progress)
    training = train_on_twin(twin, config=config, progress=progress)
    return training, release_twin_model(registry(), training, force=force)
