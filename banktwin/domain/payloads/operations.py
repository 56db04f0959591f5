"""Payloads of operational alerts: the seed's thresholds (lag, drift, fraud-alert rate) firing
and resolving, as decided by :mod:`banktwin.domain.operational_alerts`.

The alert evaluator appends them under the alert's id as subject, with event ids fixed by the
alert, so the log holds every firing and resolution for audit and for ``GET /v1/alerts``.
"""

from __future__ import annotations

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
