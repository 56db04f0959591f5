"""Deciding on scored debits: the rules, the champion model and the policy, and the alerts.

Both shapes of the fraud engine decide here: the single engine (:mod:`banktwin.fraud.engine`)
on the debits of a batch, and the staged one's last stage (:mod:`banktwin.fraud.entity_stage`)
on the debits whose hops end in it. The model scores a batch at once; the rules run per debit;
a debit whose blend stays under the threshold and hits no alerting rule needs nothing more
(most of them).

**One alert per transaction.** The alert's id is fixed by the transaction id and its event id
by the alert: a transaction scored again (a replay, the same transaction under another event
id, the other shape of the engine) never raises a second alert, and the log ignores the
repeated event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from banktwin.domain.events import Event, derived_event_id, new_event
from banktwin.domain.payloads.insight import FraudAlertRaised, Severity
from banktwin.fraud.decision import Decision, DecisionPolicy, blend, decide
from banktwin.fraud.features import Features
from banktwin.fraud.model import feature_matrix
from banktwin.fraud.model_source import ModelSource, ServingModel
from banktwin.fraud.rules import RuleSet

ALERT_NAMESPACE: Final = uuid.UUID("0d6c3f57-1f3e-4d59-9a43-55a2f4d6f0c1")
SOURCE: Final = "fraud-engine"
TOP_FACTORS: Final = 3


def alert_id_for(transaction_id: str) -> str:
    """The id of the alert a transaction raises: one per transaction, whatever rescoring."""
    return str(uuid.uuid5(ALERT_NAMESPACE, transaction_id))


@dataclass(frozen=True, slots=True)
class ScoredDebit:
    """A debit to decide on: which transaction, whose, when, and its features as of then."""

    transaction_id: str
    customer_id: str
    occurred_at: datetime
    features: Features


def alert_event(debit: ScoredDebit, decision: Decision, model_version: str | None) -> Event:
    """The ``fraud.alert_raised`` a decision makes, under ids fixed by the transaction."""
    alert_id = alert_id_for(debit.transaction_id)
    reasons = list(decision.reasons)
    if model_version is not None:
        reasons.append(f"model-version:{model_version}")
    return new_event(
        FraudAlertRaised(
            alert_id=alert_id,
            transaction_id=debit.transaction_id,
            severity=Severity(decision.severity),
            score=round(decision.score, 6),
            reasons=reasons[:50],
            rule_ids=list(decision.rule_ids)[:50],
        ),
        subject_id=debit.customer_id,
        occurred_at=debit.occurred_at,
        source=SOURCE,
        event_id=derived_event_id(alert_id, 0),
    )


class Scorer:
    """Turns scored debits into alerts (see the module)."""

    def __init__(
        self, rules: RuleSet, models: ModelSource, policy: DecisionPolicy | None = None
    ) -> None:
        self.rules = rules
        self.models = models
        self.policy = policy or DecisionPolicy()

    def alerts(self, debits: Sequence[ScoredDebit]) -> list[Event]:
        """The alerts ``debits`` raise, in their order."""
        if not debits:
            return []
        serving = self.models.current()
        scores = _model_scores(serving, [d.features for d in debits])
        alerts: list[Event] = []
        threshold = self.policy.alert_threshold
        for i, debit in enumerate(debits):
            outcome = self.rules.evaluate(debit.features)
            model_score = None if scores is None else scores[i]
            if blend(model_score, outcome.score) < threshold and not outcome.forces_alert:
                continue  # most transactions: no decision to record
            factors = () if serving is None else _top_factors(serving, debit.features)
            decision = decide(self.policy, outcome, model_score, factors)
            if decision.alert:
                alerts.append(
                    alert_event(debit, decision, None if serving is None else serving.version)
                )
        return alerts


def _model_scores(serving: ServingModel | None, features: list[Features]) -> list[float] | None:
    if serving is None:
        return None
    model = serving.model
    return [float(p) for p in model.predict(feature_matrix(features, model.feature_names))]


def _top_factors(serving: ServingModel, features: Features) -> tuple[str, ...]:
    model = serving.model
    row = feature_matrix([features], model.feature_names)
    return tuple(name for name, _ in model.top_factors(model.contributions(row)[0], TOP_FACTORS))
