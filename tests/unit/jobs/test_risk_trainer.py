"""The RiskScore retraining job on a simulated history, into a real local MLflow store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from banktwin.config import Settings
from banktwin.jobs.lifecycle import TrainingConfig
from banktwin.jobs.risk_trainer import RiskScoreTrainer
from banktwin.jobs.trainer import TrainingFailed
from banktwin.log.memory import InMemoryEventLog
from banktwin.registry import CHAMPION, open_model_registry
from banktwin.registry.port import RISK_MODEL
from banktwin.sim import SimConfig, Simulation

END = datetime(2026, 3, 2, tzinfo=UTC)


def history(days: int) -> InMemoryEventLog:
    log = InMemoryEventLog(4)
    sim = Simulation(SimConfig(customers=300, seed=5, history_days=days))
    for batch in sim.backfill(end=END, batch_size=20_000):
        log.append(batch)
    return log


def test_a_retrain_registers_a_risk_score_version_with_its_figures(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retrain_schedule="off")
    steps: list[float] = []
    result = RiskScoreTrainer(settings, history(45))(
        TrainingConfig(RISK_MODEL, "logistic", {"folds": 3, "horizonDays": 14.0}),
        lambda share, message: steps.append(share),
    )
    assert result.version == 1 and result.champion  # the first version serves
    assert {"cv_roc_auc_mean", "cv_roc_auc_std", "cv_ece", "train_rows"} <= set(result.metrics)
    assert steps == sorted(steps) and steps[-1] < 1.0
    registry = open_model_registry(settings)
    champion = registry.version_for(RISK_MODEL, CHAMPION)
    assert champion is not None and champion.version == 1
    assert result.trained_until - result.trained_from >= timedelta(days=7)


def test_a_window_with_no_row_fails_the_job_saying_why(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retrain_schedule="off")
    config = TrainingConfig(
        RISK_MODEL,
        "auto",
        {},
        window_start=END + timedelta(days=1),
        window_end=END + timedelta(days=2),
    )
    with pytest.raises(TrainingFailed, match="too short"):
        RiskScoreTrainer(settings, history(20))(config, lambda share, message: None)
