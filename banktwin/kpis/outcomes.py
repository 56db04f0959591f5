"""What the fraud alerts came to, and how the customers' risk scores are spread (pure).

**Fraud-alert outcomes.** A raised alert is *open* until an analyst settles it, then its
*verdict* is ``confirmed_fraud`` or ``false_positive``, or it was *closed* without one. An
alert's verdict is its newest verdict status (at one instant, the one further along the
lifecycle, as the twin decides an alert's status: ``domain/alert_rules.py``), so a ``closed``
after a verdict keeps the verdict. Precision so far is confirmed fraud over the alerts with a
verdict. Each outcome is a function of the set of the alert's events, not of their order.

**Risk-score distribution.** Each customer counts once, in the bucket of their latest score
(the twin's rule: the newest by ``occurredAt``, at one instant the greater score id), so a new
score moves the customer from the bucket of the score it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from banktwin.domain.alert_rules import status_precedence
from banktwin.domain.ordering import newer
from banktwin.domain.payloads.insight import AlertStatus

OPEN = "open"
CONFIRMED = AlertStatus.CONFIRMED_FRAUD.value
FALSE_POSITIVE = AlertStatus.FALSE_POSITIVE.value
CLOSED = AlertStatus.CLOSED.value
"""An alert's outcome: open, one of the two verdicts, or closed without a verdict."""
VERDICTS = frozenset({CONFIRMED, FALSE_POSITIVE})
SETTLED_OUTCOMES = (CONFIRMED, FALSE_POSITIVE, CLOSED)

RISK_BUCKETS = 10
"""Buckets of 0.1 over the risk score's [0, 1]; the last holds 1.0 too."""


def outcome_of(severity: str | None, is_open: bool, verdict: str | None) -> str | None:
    """A raised alert's outcome (``None``: not raised yet)."""
    if severity is None:
        return None
    if is_open:
        return OPEN
    return verdict or CLOSED


def replaces_verdict(
    status: str, at: datetime, verdict: str | None, verdict_at: datetime | None
) -> bool:
    """Whether a verdict ``status`` at ``at`` replaces the alert's ``verdict`` (the later one
    wins; at one instant, the one further along the lifecycle)."""
    if verdict is None or verdict_at is None:
        return True
    return status_precedence(status, at) > status_precedence(verdict, verdict_at)


class RiskMark(NamedTuple):
    """A customer's latest risk score as the distribution counts it."""

    score: float
    at: datetime
    """When it was scored (the event's ``occurredAt``)."""
    score_id: str


def risk_bucket(score: float) -> int:
    """The bucket of a score in [0, 1]: 0 for [0, 0.1), …, 9 for [0.9, 1]."""
    return min(max(int(score * RISK_BUCKETS), 0), RISK_BUCKETS - 1)


def replaces_risk(mark: RiskMark, known: RiskMark | None) -> bool:
    """Whether ``mark`` is the customer's latest score rather than ``known``."""
    return known is None or newer(mark.at, mark.score_id, known.at, known.score_id)


@dataclass(frozen=True, slots=True)
class FraudOutcomes:
    """The fraud alerts raised and what they came to."""

    raised: int
    open: int
    confirmed_fraud: int
    false_positives: int
    closed_without_verdict: int
    counted_since: str | None
    """The first hour counted in full where KPIs kept before these counts were (``None``:
    counted from the first event)."""

    @property
    def precision(self) -> float | None:
        """Confirmed fraud over the alerts with a verdict (``None``: no verdict yet)."""
        settled = self.confirmed_fraud + self.false_positives
        return self.confirmed_fraud / settled if settled else None


@dataclass(frozen=True, slots=True)
class RiskDistribution:
    """Customers by their latest risk score, in buckets of 0.1."""

    buckets: tuple[int, ...]
    counted_since: str | None

    @property
    def customers(self) -> int:
        """Customers with a risk score."""
        return sum(self.buckets)
