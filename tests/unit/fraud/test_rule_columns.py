"""Rule conditions over columns answer as CEL does, and scoring a history at once decides as
the live engine does (the fence of the speed path: docs/performance.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.domain.events import Event
from banktwin.fraud.decision import DecisionPolicy, decide
from banktwin.fraud.engine import FraudState, is_scored
from banktwin.fraud.feature_names import FEATURE_KINDS, FEATURE_NAMES
from banktwin.fraud.features import features_at
from banktwin.fraud.history_scoring import score_history
from banktwin.fraud.model import feature_matrix, train_model
from banktwin.fraud.rule_columns import RulePrefilter, column_condition
from banktwin.fraud.rules import load_default_rules
from banktwin.sim import SimConfig, Simulation
from tests.unit.fraud.test_features import PROPERTY

EXTRA_CONDITIONS = (
    "!(is_online || is_new_device) && amount >= 100.0",
    "amount / cust_amount_mean_30d > 2.0 || -amount_zscore_30d < -3.0",
    "amount / cust_amount_mean_30d > 2.0 && is_online",
    "!(amount / cust_amount_mean_30d == 1.0) && amount / cust_amount_mean_30d != 2.0",
    "(card_speed_kmh_prev / amount >= 1.0) == is_online",
    "is_new_country == true && (card_txn_count_1d != 2 || failed_logins_24h < 1)",
    "amount - 2.5 * card_amount_mean_7d >= 0.0 && seconds_since_prev_txn + 1.0 > 0.0",
    "false || is_weekend != is_night",
    "cust_txn_count_30d == 0",
)
UNSUPPORTED = (
    "cust_txn_count_1h + 1 > 2",  # int arithmetic can overflow in CEL
    "amount > 2",  # int against double
    "size(string(amount)) > 3",
    "amount > 2.0 ? true : false",
    "is_online > false",
    "amount",  # not a bool
    "0x10 < cust_txn_count_1d",
    "cust_txn_count_1d < 3u",
    "unknown_feature > 1.0",
    "amount > 1.0 &&",
    "(amount > 1.0",
)

DOUBLES = st.sampled_from([0.0, -1.0, 0.5, 1.0, 2.0, 3.0, 59.9, 60.0, 200.0, 500.0, 950.0]) | (
    st.floats(-1e6, 1e6, allow_nan=False)
)


@st.composite
def feature_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(1, 20))):
        row: dict[str, Any] = {}
        for name in FEATURE_NAMES:
            kind = FEATURE_KINDS[name]
            if kind == "count":
                row[name] = draw(st.integers(0, 40))
            elif kind == "flag":
                row[name] = draw(st.booleans())
            else:
                row[name] = draw(DOUBLES)
        rows.append(row)
    return rows


def cel_answer(condition: str, row: dict[str, Any]) -> tuple[bool, bool]:
    """CEL's answer, and whether it failed (then the answer is False)."""
    try:
        result = cel.evaluate(condition, row)
    except (TypeError, ValueError, RuntimeError):
        return False, True
    assert type(result) is bool
    return result, False


def test_every_default_rule_evaluates_over_columns() -> None:
    rules = load_default_rules()
    assert RulePrefilter(rules).complete
    assert all(column_condition(rule.spec.when) is not None for rule in rules.active)


@pytest.mark.parametrize("condition", UNSUPPORTED)
def test_a_condition_outside_the_grammar_stays_with_cel(condition: str) -> None:
    assert column_condition(condition) is None


@PROPERTY
@given(rows=feature_rows())
def test_a_condition_over_columns_answers_as_cel_on_every_row(rows: list[dict[str, Any]]) -> None:
    conditions = [rule.spec.when for rule in load_default_rules().active] + list(EXTRA_CONDITIONS)
    matrix = feature_matrix(rows)
    columns = {name: matrix[:, i] for i, name in enumerate(FEATURE_NAMES)}
    for condition in conditions:
        compiled = column_condition(condition)
        assert compiled is not None, condition
        value, failed = compiled(columns)
        got = list(zip(value.tolist(), failed.tolist(), strict=True))
        assert got == [cel_answer(condition, row) for row in rows], condition


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    sim = Simulation(SimConfig(customers=200, seed=7, history_days=20))
    end = datetime(2026, 3, 2, tzinfo=UTC)
    return [event for batch in sim.backfill(end=end, batch_size=20_000) for event in batch]


@pytest.mark.parametrize("with_model", [False, True], ids=["rules only", "rules and a model"])
def test_scoring_a_history_at_once_decides_as_the_engine_does(
    bank: list[Event], with_model: bool
) -> None:
    rules, policy = load_default_rules(), DecisionPolicy(alert_threshold=0.3)
    state, features = FraudState(), []
    for event in bank:
        if is_scored(event):
            features.append(features_at(state.customer(event.subject_id), event, state.entities))
        state.fold(event)
    rows = feature_matrix(features)
    model = None
    if with_model:
        labels = (rows[:, FEATURE_NAMES.index("amount")] > 150.0).astype(float)
        model = train_model(rows, labels, FEATURE_NAMES, kind="logistic")
    scored = score_history(bank, rules, policy, model)
    model_scores = model.predict(rows).tolist() if model is not None else [None] * len(rows)
    expected = []
    for row, (each, model_score) in enumerate(zip(features, model_scores, strict=True)):
        decision = decide(policy, rules.evaluate(each), model_score)
        # A model's matrix product may round its last bit differently in another batch.
        assert scored.scores[row] == pytest.approx(decision.score, rel=1e-12, abs=1e-15)
        if decision.alert:
            expected.append((row, decision.severity, decision.reasons))
    assert expected, "the bank's frauds should raise alerts"
    assert len(scored.alerts) == len(expected)
    for (row, decision), (expected_row, severity, reasons) in zip(
        scored.alerts, expected, strict=True
    ):
        assert (row, decision.severity) == (expected_row, severity)
        assert decision.reasons[: len(reasons)] == reasons  # then the model's top factors
