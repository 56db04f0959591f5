"""The decision on a transaction: blend, alert threshold, severity bands and reasons."""

from __future__ import annotations

import pytest

from banktwin.fraud.decision import DecisionPolicy, blend, decide
from banktwin.fraud.rules import load_rules

RULES = load_rules(
    """
version: 1
rules:
  - {id: weak, when: "amount > 100.0", score: 0.2, reason: big, severity: medium}
  - {id: forced, when: "tiny_online_count_1h >= 3", action: review, reason: card-testing,
     severity: critical}
"""
)


def features(amount: float = 10.0, tiny: int = 0) -> dict[str, float | int | bool]:
    return {"amount": amount, "tiny_online_count_1h": tiny}


def test_blend_is_a_noisy_or_and_the_rules_alone_without_a_model() -> None:
    assert blend(None, 0.3) == 0.3
    assert blend(0.5, 0.0) == 0.5
    assert blend(0.5, 0.5) == pytest.approx(0.75)  # 1 - 0.5 * 0.5


def test_a_quiet_transaction_raises_nothing() -> None:
    decision = decide(DecisionPolicy(), RULES.evaluate(features()), 0.01)
    assert not decision.alert
    assert decision.score == pytest.approx(0.01)
    assert decision.rule_ids == ()


def test_the_model_alone_can_alert_and_its_score_sets_the_severity() -> None:
    policy = DecisionPolicy()
    for model_score, severity in [
        (0.55, "low"),
        (0.75, "medium"),
        (0.9, "high"),
        (0.99, "critical"),
    ]:
        decision = decide(policy, RULES.evaluate(features()), model_score, ("amount",))
        assert decision.alert and decision.severity == severity
        assert decision.reasons == ("model:amount",)


def test_a_rule_weight_adds_to_the_model() -> None:
    # 1 - (1 - 0.4) * (1 - 0.2) = 0.52: neither alone reaches 0.5.
    decision = decide(DecisionPolicy(), RULES.evaluate(features(amount=150.0)), 0.4)
    assert decision.score == pytest.approx(0.52)
    assert decision.alert
    assert decision.severity == "medium"  # band low, raised to the rule's severity
    assert decision.rule_ids == ("weak",)
    assert decision.reasons == ("big",)


def test_an_action_forces_an_alert_with_the_rule_severity_whatever_the_score() -> None:
    decision = decide(DecisionPolicy(), RULES.evaluate(features(tiny=3)), 0.0)
    assert decision.alert
    assert decision.severity == "critical"
    assert decision.reasons[0] == "card-testing"


def test_policy_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="ascending"):
        DecisionPolicy(severity_floors=(0.9, 0.7, 0.8, 0.95))
    with pytest.raises(ValueError):
        DecisionPolicy(alert_threshold=1.5)
    assert DecisionPolicy(alert_threshold=0.3).band(0.2) == "low"
