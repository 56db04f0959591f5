"""Payloads of operational alerts: the seed's thresholds (lag, drift, fraud-alert rate) firing
and resolving, as decided by :mod:`banktwin.domain.operational_alerts`.

The alert evaluator appends them under the alert's id as subject, with event ids fixed by the
alert, so the log holds every firing and resolution for audit and for ``GET /v1/alerts``.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from banktwin.domain.payloads.common import Payload
from banktwin.domain.payloads.fraud_report import UtcTime

RuleName = str
Key = str


class OperationalAlertFired(Payload):
    """A rule's condition held long enough: the alert fires (and is paged, for ``page``)."""

    rule: RuleName = Field(min_length=1, max_length=64, examples=["ingestion_lag"])
    key: Key = Field(min_length=1, max_length=200, examples=["twin"])
    """What the rule measured: a consumer, a model, a source, or ``bank``."""
    severity: str = Field(pattern=r"^(page|ticket)$", examples=["page"])
    value: float
    threshold: float
    summary: str = Field(min_length=1, max_length=500)
    since: UtcTime
    """When the condition started to hold."""


class OperationalAlertResolved(Payload):
    """The condition of a firing alert cleared."""

    rule: RuleName = Field(min_length=1, max_length=64, examples=["ingestion_lag"])
    key: Key = Field(min_length=1, max_length=200, examples=["twin"])
    value: float


class ModelDriftMeasured(Payload):
    """One day's drift of a model's score and inputs against its training reference (PSI),
    measured by the engine that serves it (:mod:`banktwin.risk.drift`)."""

    model_name: str = Field(min_length=1, max_length=100, examples=["RiskScore"])
    model_version: str = Field(min_length=1, max_length=120, examples=["RiskScore/3"])
    day: date
    """The day (UTC, event time) of the scores measured."""
    rows: int = Field(ge=0)
    score_psi: float = Field(ge=0)
    worst_input: str = Field(max_length=120)
    """``score`` or the feature with the largest PSI."""
    worst_psi: float = Field(ge=0)
    features: dict[str, float] = Field(default_factory=dict, max_length=50)
    """The features' PSI, the largest first (at most 20 kept)."""
    threshold: float = Field(gt=0)
    drifted: bool
    """Enough scores were measured and the worst PSI is above the threshold."""
