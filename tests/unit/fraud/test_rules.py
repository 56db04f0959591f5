"""Fraud rules: loading and checking a YAML rule set, and scoring features with it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.fraud.feature_names import FEATURE_NAMES, FEATURES
from banktwin.fraud.rules import (
    DEFAULT_RULES_PATH,
    FeatureValue,
    RuleOutcome,
    RuleSet,
    RuleSetError,
    combine_scores,
    load_default_rules,
    load_rules,
)

QUIET: dict[str, FeatureValue] = {
    feature.name: {"count": 1, "double": 10.0, "flag": False}[feature.kind] for feature in FEATURES
}
"""An unremarkable transaction: no default rule hits it."""


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "r",
        "when": "amount > 100.0",
        "score": 0.5,
        "reason": "big",
        "severity": "low",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def rule_text(*rules: dict[str, Any], version: object = 1) -> str:
    return yaml.safe_dump({"version": version, "rules": list(rules)}, sort_keys=False)


def rule_set(*rules: dict[str, Any]) -> RuleSet:
    return load_rules(rule_text(*rules))


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(RuleSetError) as caught:
        load_rules(text)
    return caught.value.problems


# Loading -------------------------------------------------------------------------------------


def test_the_default_rule_set_loads_with_enabled_and_shadow_rules() -> None:
    rules = load_default_rules()

    assert rules.version == 1
    assert 6 <= len(rules.rules) <= 10
    modes = {compiled.spec.mode for compiled in rules.rules}
    assert {"enabled", "shadow"} <= modes
    assert all(name in FEATURE_NAMES for compiled in rules.rules for name, _ in compiled.inputs)


def test_the_default_rule_set_is_quiet_on_an_ordinary_transaction() -> None:
    outcome = load_default_rules().evaluate(QUIET)

    assert outcome.hits == outcome.shadow_hits == ()
    assert outcome.errors == ()
    assert outcome.score == 0.0
    assert outcome.severity is None
    assert outcome.action is None


def test_the_default_rule_set_flags_impossible_travel_and_card_testing() -> None:
    features = {
        **QUIET,
        "card_speed_kmh_prev": 2000.0,
        "card_distance_km_prev": 900.0,
        "is_online": True,
        "tiny_online_count_1h": 5,
    }

    outcome = load_default_rules().evaluate(features)

    assert [hit.rule_id for hit in outcome.hits] == ["card-testing-burst"]
    assert [hit.rule_id for hit in outcome.shadow_hits] == ["impossible-travel"]  # see its note
    assert outcome.forces_alert
    assert outcome.severity == "high"
    assert outcome.reasons == ("card-testing",)
    assert outcome.version == 1


def test_a_path_loads_like_its_text(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8"), encoding="utf-8")

    from_path, from_text = load_rules(path), load_rules(path.read_text(encoding="utf-8"))

    assert [r.spec for r in from_path.rules] == [r.spec for r in from_text.rules]


def test_a_string_version_is_kept() -> None:
    assert load_rules(rule_text(rule(), version="2024-06-a")).version == "2024-06-a"


BROKEN_RULES = [
    pytest.param(rule(when="amout > 1.0"), "when: undeclared feature 'amout'", id="typo"),
    pytest.param(rule(when="amount >"), "when: CEL syntax error", id="syntax"),
    pytest.param(rule(when="amount * 2.0"), "when: must be a boolean condition", id="not-bool"),
    pytest.param(rule(when="amount + 1 > 2.0"), "when: type error", id="int-plus-double"),
    pytest.param(
        rule(when="is_night && !is_weekend && amount + 1 > 2.0"),
        "when: type error",
        id="type-error-behind-flags",
    ),
    pytest.param(rule(when="nosuch(amount)"), "when: type error", id="unknown-function"),
    pytest.param(rule(when="   "), "when: String should have at least 1 character", id="empty"),
    pytest.param(rule(score=1.5), "score: Input should be less than or equal to 1", id="score>1"),
    pytest.param(rule(score=-0.1), "score: Input should be greater than", id="score<0"),
    pytest.param(rule(score=True), "score: Input should be a valid number", id="score-bool"),
    pytest.param(rule(score=None), "score/action: give exactly one", id="neither"),
    pytest.param(rule(action="alert"), "score/action: give exactly one", id="both"),
    pytest.param(rule(score=None, action="freeze"), "action: Input should be", id="action"),
    pytest.param(rule(mode="on"), "mode: Input should be 'enabled'", id="mode"),
    pytest.param(rule(severity="huge"), "severity: Input should be 'low'", id="severity"),
    pytest.param(rule(colour="red"), "colour: unknown field", id="unknown-field"),
    pytest.param(rule(reason=None), "reason: required field is missing", id="no-reason"),
    pytest.param(rule(reason="Big Amount"), "reason: String should match pattern", id="reason"),
]


@pytest.mark.parametrize(("broken", "expected"), BROKEN_RULES)
def test_a_broken_rule_is_named_by_position_id_and_field(
    broken: dict[str, Any], expected: str
) -> None:
    problems = problems_of(rule_text(rule(id="fine"), {**broken, "id": "broken-one"}))

    assert len(problems) == 1
    assert problems[0].startswith(f"rules[1] (id: broken-one): {expected}")


def test_a_rule_without_a_usable_id_is_named_by_position() -> None:
    problems = problems_of(rule_text(rule(), rule(id=7)))

    assert problems == ("rules[1]: id: Input should be a valid string",)


def test_a_duplicate_id_names_the_first_one() -> None:
    problems = problems_of(rule_text(rule(id="same"), rule(id="other"), rule(id="same")))

    assert problems == ("rules[2] (id: same): id: duplicate of rules[0]",)


def test_every_problem_is_reported_at_once() -> None:
    text = rule_text(rule(id="a", when="amout > 1.0"), [1, 2], rule(id="c", severity="x"))  # type: ignore[arg-type]

    problems = problems_of(text)

    assert [problem.split(":")[0] for problem in problems] == [
        "rules[0] (id",
        "rules[1]",
        "rules[2] (id",
    ]
    assert "did you mean 'amount'?" in problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nversion: 2\nrules: []\n", "not valid YAML: key 'version' given twice"),
        ("version: [\n", "not valid YAML"),
        ("- 1\n", "the file must be a mapping with 'version' and 'rules'"),
        ("version: true\nrules: []\n", "version: must be a non-negative integer"),
        ("version: 1\nrules: {}\n", "rules: Input should be a valid list"),
        ("version: 1\nrules: []\nowner: x\n", "owner: unknown field"),
        ("rules: []\n", "version: required field is missing"),
    ],
)
def test_a_broken_file_names_the_field(text: str, expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems_of(text))


def test_the_error_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(rule_text(rule(when="amout > 1.0")), encoding="utf-8")

    with pytest.raises(RuleSetError, match=r"bad\.yaml: invalid rule set \(1 problem\)"):
        load_rules(path)


# Evaluation ----------------------------------------------------------------------------------


def test_enabled_hits_combine_as_a_noisy_or() -> None:
    rules = rule_set(
        rule(id="a", when="amount > 100.0", score=0.5),
        rule(id="b", when="is_night", score=0.2),
        rule(id="c", when="is_weekend", score=0.9),
    )

    outcome = rules.evaluate({**QUIET, "amount": 500.0, "is_night": True})

    assert [hit.rule_id for hit in outcome.hits] == ["a", "b"]
    assert outcome.score == pytest.approx(1 - (1 - 0.5) * (1 - 0.2))
    assert not outcome.forces_alert


def test_combine_scores_stays_within_zero_and_one() -> None:
    assert combine_scores([]) == 0.0
    assert combine_scores([1.0, 0.3]) == 1.0
    assert combine_scores([0.5, None, 0.5]) == pytest.approx(0.75)


def test_shadow_hits_are_reported_but_not_scored() -> None:
    rules = rule_set(
        rule(id="live", when="amount > 100.0", score=0.5, severity="low"),
        rule(id="trial", when="amount > 100.0", score=0.5, severity="critical", mode="shadow"),
        rule(id="trial-action", when="amount > 100.0", score=None, action="block", mode="shadow"),
    )

    outcome = rules.evaluate({**QUIET, "amount": 500.0})

    assert [hit.rule_id for hit in outcome.hits] == ["live"]
    assert [hit.rule_id for hit in outcome.shadow_hits] == ["trial", "trial-action"]
    assert outcome.score == 0.5
    assert outcome.shadow_score == pytest.approx(0.75)
    assert outcome.severity == "low"
    assert outcome.action is None
    assert outcome.reasons == ("big",)


def test_the_highest_severity_leads_the_reasons() -> None:
    rules = rule_set(
        rule(id="a", when="amount > 1.0", reason="first", severity="medium"),
        rule(id="b", when="amount > 1.0", reason="second", severity="critical"),
        rule(id="c", when="amount > 1.0", reason="first", severity="low"),
        rule(id="d", when="amount > 1.0", reason="third", severity="medium"),
    )

    outcome = rules.evaluate(QUIET)

    assert outcome.severity == "critical"
    assert outcome.reasons == ("second", "first", "third")


def test_an_action_forces_an_alert_and_the_strongest_action_wins() -> None:
    rules = rule_set(
        rule(id="a", when="amount > 1.0", score=None, action="review"),
        rule(id="b", when="amount > 1.0", score=None, action="block"),
        rule(id="c", when="amount > 1.0", score=None, action="alert"),
    )

    outcome = rules.evaluate(QUIET)

    assert outcome.forces_alert
    assert outcome.action == "block"
    assert outcome.score == 0.0


def test_a_run_time_error_is_recorded_and_scoring_goes_on() -> None:
    rules = rule_set(
        rule(id="ratio", when="card_txn_count_1h / card_txn_count_1d > 2", score=0.4),
        rule(id="after", when="amount > 1.0", score=0.3),
        rule(id="missing", when="merchant_risk_30d > 0.5", mode="shadow"),
    )
    features = {**QUIET, "card_txn_count_1d": 0}
    del features["merchant_risk_30d"]

    outcome = rules.evaluate(features)

    assert [(e.rule_id, e.mode) for e in outcome.errors] == [
        ("ratio", "enabled"),
        ("missing", "shadow"),
    ]
    assert outcome.errors[0].error.startswith("ZeroDivisionError")
    assert outcome.errors[1].error == "LookupError: missing feature 'merchant_risk_30d'"
    assert [hit.rule_id for hit in outcome.hits] == ["after"]
    assert outcome.score == pytest.approx(0.3)


def test_a_disabled_rule_is_never_evaluated() -> None:
    rules = rule_set(
        rule(id="off", when="card_txn_count_1h / card_txn_count_1d > 0", mode="disabled"),
    )

    outcome = rules.evaluate({**QUIET, "card_txn_count_1d": 0})

    assert outcome.hits == outcome.shadow_hits == ()
    assert outcome.errors == ()


def test_numbers_reach_cel_as_their_declared_kind() -> None:
    rules = rule_set(
        rule(id="double", when="amount + 1.0 > 2.0"),
        rule(id="count", when="card_txn_count_1h * 2 == 6"),
        rule(id="flag", when="is_night"),
    )

    outcome = rules.evaluate({**QUIET, "amount": 5, "card_txn_count_1h": 3.0, "is_night": 1})

    assert outcome.errors == ()
    assert [hit.rule_id for hit in outcome.hits] == ["double", "count", "flag"]


ARITHMETIC_RULES = rule_text(
    rule(id="ratio", when="amount / cust_amount_mean_30d > 3.0"),
    rule(id="counts", when="card_txn_count_1h * 10 > card_txn_count_1d + 5"),
    rule(id="int-ratio", when="terminal_txn_count_1d / terminal_txn_count_7d >= 1"),
    rule(id="casts", when="int(amount) > 100 || double(failed_logins_24h) > 2.5", mode="shadow"),
)


@functools.cache
def rule_sets_under_fuzz() -> tuple[RuleSet, ...]:
    return load_default_rules(), load_rules(ARITHMETIC_RULES)


feature_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(FEATURE_NAMES, feature_values)))
def test_evaluation_never_raises_whatever_the_values(features: dict[str, FeatureValue]) -> None:
    for rules in rule_sets_under_fuzz():
        outcome = rules.evaluate(features)

        assert 0.0 <= outcome.score <= 1.0
        assert 0.0 <= outcome.shadow_score <= 1.0
        assert len(outcome.hits) + len(outcome.shadow_hits) + len(outcome.errors) <= len(
            rules.rules
        )


def one_by_one(rules: RuleSet, features: dict[str, FeatureValue]) -> RuleOutcome:
    """``rules`` evaluated without the one-call speed trick."""
    plain = RuleSet(rules.version, rules.rules)
    plain._together = None
    return plain.evaluate(features)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(FEATURE_NAMES, feature_values)))
def test_all_rules_in_one_call_agree_with_each_rule_alone(
    features: dict[str, FeatureValue],
) -> None:
    """The fence of the speed trick (rules.py, ``_compile_together``): same hits, errors and
    scores as evaluating each rule alone, errors included (the arithmetic rules divide by
    zero and overflow on some of these values)."""
    for rules in rule_sets_under_fuzz():
        assert rules._together is not None
        assert rules.evaluate(features) == one_by_one(rules, features)


def test_a_failing_condition_is_still_named_when_rules_run_in_one_call() -> None:
    rules = load_rules(ARITHMETIC_RULES)
    features = {**QUIET, "terminal_txn_count_1d": 3, "terminal_txn_count_7d": 0, "amount": 500.0}
    outcome = rules.evaluate(features)  # an int division by zero fails the one call
    assert [failure.rule_id for failure in outcome.errors] == ["int-ratio"]
    assert [hit.rule_id for hit in outcome.shadow_hits] == ["casts"]
    assert outcome == one_by_one(rules, features)
