"""The operational alert rules: pending, firing and resolving as Prometheus does, ids fixed by
their cause, and the same alerts however the measurements are split between evaluations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.domain.operational_alerts import (
    RULES,
    Fired,
    Measurement,
    Resolved,
    Severity,
    alert_id,
    evaluate,
    with_thresholds,
)

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def lag(seconds: float, at_s: float, consumer: str = "twin") -> Measurement:
    return Measurement("ingestion_lag", consumer, seconds, T0 + timedelta(seconds=at_s))


def test_lag_over_five_minutes_fires_only_after_holding_for_a_minute_then_resolves() -> None:
    book, fired = evaluate({}, [lag(400, 0), lag(420, 30)])
    assert fired == []  # pending: above the threshold for 30 s of the 60 required
    book, fired = evaluate(book, [lag(450, 60)])
    assert len(fired) == 1 and isinstance(fired[0], Fired)
    alert = fired[0]
    assert alert.alert_id == alert_id("ingestion_lag", "twin", 0)
    assert alert.since == T0 and alert.at == T0 + timedelta(seconds=60)
    assert alert.rule.severity is Severity.PAGE
    assert alert.rule.describe("twin", 450) == (
        "consumer twin is 450 s behind the log (threshold 300 s)"
    )
    book, again = evaluate(book, [lag(500, 90)])
    assert again == []  # still firing: no second alert
    book, resolved = evaluate(book, [lag(12, 120)])
    assert resolved == [
        Resolved(alert.alert_id, RULES["ingestion_lag"], "twin", 12, T0 + timedelta(seconds=120))
    ]


def test_a_condition_that_clears_while_pending_never_fires() -> None:
    book, fired = evaluate({}, [lag(400, 0), lag(100, 30), lag(400, 45), lag(400, 90)])
    assert fired == []  # the minute starts again at 45 s
    _, fired = evaluate(book, [lag(400, 105)])
    assert [type(t) for t in fired] == [Fired]


def test_the_next_firing_of_the_same_key_is_a_new_alert() -> None:
    rule = "consumer_stalled"  # fires at once
    at = [T0 + timedelta(minutes=i) for i in range(4)]
    _, transitions = evaluate(
        {},
        [
            Measurement(rule, "fraud", 700, at[0]),
            Measurement(rule, "fraud", 0, at[1]),
            Measurement(rule, "fraud", 900, at[2]),
            Measurement(rule, "kpis", 900, at[3]),
        ],
    )
    ids = [t.alert_id for t in transitions if isinstance(t, Fired)]
    assert ids == [
        alert_id(rule, "fraud", 0),
        alert_id(rule, "fraud", 1),
        alert_id(rule, "kpis", 0),
    ]
    assert len(set(ids)) == 3


def test_a_key_not_measured_keeps_its_state() -> None:
    book, fired = evaluate({}, [lag(900, 0), lag(900, 60)])
    assert len(fired) == 1
    book, nothing = evaluate(book, [lag(10, 70, consumer="kpis")])
    assert nothing == [] and book[("ingestion_lag", "twin")].firing == fired[0].alert_id


def test_at_the_threshold_is_not_above_it() -> None:
    _, fired = evaluate({}, [Measurement("fraud_alert_rate", "bank", 2.0, T0)])
    assert fired == []
    _, fired = evaluate({}, [Measurement("fraud_alert_rate", "bank", 2.01, T0)])
    assert len(fired) == 1


def test_thresholds_are_configurable_and_checked() -> None:
    rules = with_thresholds({"model_drift": 0.2})
    _, fired = evaluate({}, [Measurement("model_drift", "RiskScore", 0.15, T0)], rules)
    assert fired == []
    with pytest.raises(ValueError, match="no alert rule 'lag'"):
        with_thresholds({"lag": 1})
    with pytest.raises(ValueError, match="at least 0"):
        with_thresholds({"model_drift": -1})


def test_the_seeds_thresholds() -> None:
    assert RULES["ingestion_lag"].threshold == 300
    assert RULES["model_drift"].threshold == 0.10
    assert RULES["fraud_alert_rate"].threshold == 2
    assert RULES["consumer_stalled"].threshold == 600


measurements = st.lists(
    st.tuples(
        st.sampled_from(["ingestion_lag", "consumer_stalled", "model_drift"]),
        st.sampled_from(["a", "b"]),
        st.sampled_from([0.0, 0.05, 0.2, 200.0, 400.0, 700.0]),
        st.integers(0, 50),
    ),
    max_size=40,
)


def _in_time_order(raw: list[tuple[str, str, float, int]]) -> list[Measurement]:
    at = T0
    out = []
    for rule, key, value, step in raw:
        at += timedelta(seconds=step)
        out.append(Measurement(rule, key, value, at))
    return out


@given(measurements, st.integers(0, 40))
def test_splitting_the_measurements_between_evaluations_changes_nothing(
    raw: list[tuple[str, str, float, int]], cut: int
) -> None:
    ms = _in_time_order(raw)
    whole_book, whole = evaluate({}, ms)
    book, first = evaluate({}, ms[:cut])
    book, second = evaluate(book, ms[cut:])
    assert first + second == whole and book == whole_book


@given(measurements)
def test_each_key_alternates_firing_and_resolving_under_ids_never_reused(
    raw: list[tuple[str, str, float, int]],
) -> None:
    _, transitions = evaluate({}, _in_time_order(raw))
    open_alerts: dict[tuple[str, str], str] = {}
    seen: set[str] = set()
    for t in transitions:
        pair = (t.rule.name, t.key)
        if isinstance(t, Fired):
            assert pair not in open_alerts and t.alert_id not in seen
            open_alerts[pair] = t.alert_id
            seen.add(t.alert_id)
        else:
            assert open_alerts.pop(pair) == t.alert_id
