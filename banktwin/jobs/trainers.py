"""The one table of trainers: every model a retraining job can train, by registered name.

A model gets retraining jobs (``POST /v1/admin/retrain``, the nightly schedule) by one line
here; ``modelName`` is checked against this table.
"""

from __future__ import annotations

from banktwin.config import Settings
from banktwin.jobs.fraud_trainer import FraudScoreTrainer
from banktwin.jobs.risk_trainer import RiskScoreTrainer
from banktwin.jobs.trainer import Trainer
from banktwin.log.port import EventLog
from banktwin.registry.port import FRAUD_MODEL, RISK_MODEL


def model_trainers(settings: Settings, log: EventLog) -> dict[str, Trainer]:
    """The trainers of this deployment's models, training on ``log``'s history."""
    return {
        FRAUD_MODEL: FraudScoreTrainer(settings, log),
        RISK_MODEL: RiskScoreTrainer(settings, log),
    }
