"""Scoring a whole history at once: every debit's decision, as the live engine makes it.

The engine decides one debit at a time, as it arrives (:mod:`banktwin.fraud.engine`). Over a
history known in full (a backtest of the engine on its own log, the fraud benchmark) the
features come in columns (:func:`~banktwin.fraud.columnar.history_features`: the same
numbers as ``features_at``), the model scores every debit in batches, and only the rules and
the decision run debit by debit, with the code the engine runs (the rules only where one may
hit: :mod:`banktwin.fraud.rule_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from banktwin.domain.events import Event
from banktwin.fraud.columnar import DebitFeatures, history_features
from banktwin.fraud.decision import Decision, DecisionPolicy, blend, decide
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.model import FraudModel
from banktwin.fraud.rule_columns import RulePrefilter
from banktwin.fraud.rules import RuleSet
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig

BATCH = 5_000
"""Debits the model scores per call (as the engine's consumer batches them)."""
TOP_FACTORS = 3


@dataclass(frozen=True)
class ScoredHistory:
    """Every debit of a history with its scores, and the decisions that alert."""

    debits: DebitFeatures
    model_scores: np.ndarray
    """The model's probability per debit (NaN without a model)."""
    scores: np.ndarray
    """The blended score per debit: the model's with the rules', in [0, 1]."""
    alerts: list[tuple[int, Decision]]
    """(row, decision) of each debit that alerts, in row order."""


def score_history(
    events: Sequence[Event],
    rules: RuleSet,
    policy: DecisionPolicy,
    model: FraudModel | None,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> ScoredHistory:
    """Score every debit of ``events`` as of its own time: features, model, rules, decision."""
    debits = history_features(events, config)
    n = len(debits)
    model_scores = np.full(n, np.nan)
    if model is not None and n:
        columns = [FEATURE_NAMES.index(name) for name in model.feature_names]
        for start in range(0, n, BATCH):
            rows = debits.matrix[start : start + BATCH][:, columns]
            model_scores[start : start + BATCH] = model.predict(rows)
    scores = np.empty(n)
    alerts: list[tuple[int, Decision]] = []
    may_hit = RulePrefilter(rules).may_hit(debits.matrix).tolist()
    quiet = rules.nothing_hit
    matrix = debits.matrix
    for row, (hit, model_value) in enumerate(zip(may_hit, model_scores.tolist(), strict=True)):
        outcome = (
            rules.evaluate(dict(zip(FEATURE_NAMES, matrix[row].tolist(), strict=True)))
            if hit
            else quiet
        )
        model_score = None if model is None else model_value
        score = min(max(blend(model_score, outcome.score), 0.0), 1.0)
        scores[row] = score
        if score >= policy.alert_threshold or outcome.forces_alert:
            factors: list[str] = []
            if model is not None:
                top = model.top_factors(
                    model.contributions(matrix[row : row + 1][:, columns])[0], TOP_FACTORS
                )
                factors = [name for name, _ in top]
            alerts.append((row, decide(policy, outcome, model_score, factors)))
    return ScoredHistory(debits, model_scores, scores, alerts)
