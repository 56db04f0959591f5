"""What each rule of a rule file would have done on the log's history, before it is switched on.

Every debit of the history (:func:`~banktwin.fraud.training.fold_history`: features as of the
transaction, leak-free) is evaluated against **every** rule, whatever its mode (a disabled or
shadow rule is judged as if enabled), and compared with the fraud reports known by the end of
the history. Per rule: hits, the hits that were fraud, precision (fraud among hits), recall
(frauds hit among all frauds) and alerts per day; the same for the rule set as it stands
(enabled rules with an action, or a combined score at the alert threshold).

Recall is a lower bound near the end of the history: frauds of the last weeks may not be
reported yet. The report says how many frauds the history holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banktwin.fraud.decision import DecisionPolicy, decide
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.rules import RuleSet
from banktwin.fraud.training import History
from banktwin.fraud.windows import DAY


@dataclass(frozen=True)
class RuleReport:
    """One rule's record on history (``rule_id`` ``*`` is the rule set as it stands)."""

    rule_id: str
    mode: str
    hits: int
    fraud_hits: int
    precision: float
    recall: float
    alerts_per_day: float
    errors: int = 0


@dataclass(frozen=True)
class RulesBacktest:
    """The rule reports with what they were measured on."""

    rules: list[RuleReport]
    transactions: int
    frauds: int
    days: float


def _report(
    rule_id: str, mode: str, hit: np.ndarray, labels: np.ndarray, days: float, errors: int = 0
) -> RuleReport:
    hits = int(hit.sum())
    fraud_hits = int((hit & (labels > 0)).sum())
    frauds = int((labels > 0).sum())
    return RuleReport(
        rule_id=rule_id,
        mode=mode,
        hits=hits,
        fraud_hits=fraud_hits,
        precision=fraud_hits / hits if hits else 0.0,
        recall=fraud_hits / frauds if frauds else 0.0,
        alerts_per_day=hits / days if days else 0.0,
        errors=errors,
    )


def backtest_rules(
    rules: RuleSet, history: History, policy: DecisionPolicy | None = None
) -> RulesBacktest:
    """Evaluate every rule on every debit of ``history`` (see the module)."""
    policy = policy or DecisionPolicy()
    labels = history.labels_known_by(history.newest)
    n = len(history.rows)
    matched = {rule.spec.id: np.zeros(n, dtype=bool) for rule in rules.rules}
    errors = dict.fromkeys(matched, 0)
    as_set = np.zeros(n, dtype=bool)
    for i, row in enumerate(history.rows.tolist()):
        features = dict(zip(FEATURE_NAMES, row, strict=True))
        for rule in rules.rules:
            try:
                if rule.matches(features):
                    matched[rule.spec.id][i] = True
            except Exception:  # counted, as the live engine records it and goes on
                errors[rule.spec.id] += 1
        as_set[i] = decide(policy, rules.evaluate(features), None).alert
    days = (max(history.times) - min(history.times)) / DAY if n else 0.0
    days = max(days, 1.0) if n else 0.0
    reports = [
        _report(
            rule.spec.id, rule.spec.mode, matched[rule.spec.id], labels, days, errors[rule.spec.id]
        )
        for rule in rules.rules
    ]
    reports.append(_report("*", "rule set", as_set, labels, days))
    return RulesBacktest(reports, n, int(labels.sum()), days)
