"""The decision on one transaction: the model's score blended with the rules, and an alert.

Pure: the consumer (:mod:`banktwin.fraud.engine`), the rules backtest and the tests all decide
with :func:`decide`.

**Blend.** The transaction's score is the noisy-OR of the model's probability and the rules'
combined score, ``1 - (1 - model) * (1 - rules)``: either alone can raise an alert, and
independent signals add up without passing 1. Without a model (none trained yet), the score
is the rules' own.

**Alert.** An alert is raised when the score reaches :attr:`DecisionPolicy.alert_threshold`,
or when an enabled rule with an action (``alert``, ``review``, ``block``) hit. Its severity is
the band the score falls in (:attr:`DecisionPolicy.severity_floors`), raised to the highest
severity of the enabled rules that hit: a critical rule makes a critical alert.

**Reasons.** The rules' reason codes (most severe first), then the model's top factors as
``model:<feature>`` (the features that pushed the score up most, by their contribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from banktwin.fraud.rule_schema import SEVERITY_RANK, Severity
from banktwin.fraud.rules import RuleOutcome

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    """When a transaction raises an alert, and how severe it is."""

    alert_threshold: float = 0.5
    """The score at which an alert is raised."""
    severity_floors: tuple[float, float, float, float] = (0.5, 0.7, 0.85, 0.95)
    """The lowest score of each severity, low to critical (ascending)."""

    def __post_init__(self) -> None:
        floors = self.severity_floors
        if len(floors) != len(SEVERITIES) or list(floors) != sorted(floors):
            raise ValueError(f"severity floors must be 4 ascending scores, not {floors}")
        if not all(0.0 <= f <= 1.0 for f in (*floors, self.alert_threshold)):
            raise ValueError("scores and thresholds lie in [0, 1]")

    def band(self, score: float) -> Severity:
        """The severity a score alone deserves (``low`` below the first floor)."""
        severity: Severity = "low"
        for name, floor in zip(SEVERITIES, self.severity_floors, strict=True):
            if score >= floor:
                severity = name
        return severity


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine concludes about one transaction."""

    score: float
    model_score: float | None
    rules_score: float
    alert: bool
    severity: Severity
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]


def blend(model_score: float | None, rules_score: float) -> float:
    """Noisy-OR of the model's probability and the rules' score (the rules' alone without a
    model)."""
    if model_score is None:
        return rules_score
    return 1.0 - (1.0 - model_score) * (1.0 - rules_score)


def decide(
    policy: DecisionPolicy,
    outcome: RuleOutcome,
    model_score: float | None,
    factors: Sequence[str] = (),
) -> Decision:
    """Blend the model with the rules and decide whether to alert (see the module's doc).

    Args:
        outcome: the enabled and shadow rules' verdict (shadow hits never alert).
        model_score: the model's probability, ``None`` when there is no model.
        factors: the model's top features, most important first (only used for reasons).
    """
    score = min(max(blend(model_score, outcome.score), 0.0), 1.0)
    alert = score >= policy.alert_threshold or outcome.forces_alert
    severity = policy.band(score)
    if outcome.severity is not None and SEVERITY_RANK[outcome.severity] > SEVERITY_RANK[severity]:
        severity = outcome.severity
    reasons = (*outcome.reasons, *(f"model:{name}" for name in factors))
    return Decision(
        score=score,
        model_score=model_score,
        rules_score=outcome.score,
        alert=alert,
        severity=severity,
        reasons=reasons,
        rule_ids=tuple(hit.rule_id for hit in outcome.hits),
    )
