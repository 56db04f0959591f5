"""The risk engine as a consumer of the log: who it scores and when, exactly once across a
crash, drift by day, scoring everyone at the demo's start, and what-if."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event
from banktwin.log.memory import InMemoryEventLog
from banktwin.registry.champion import Served
from banktwin.risk.drift import MIN_ROWS
from banktwin.risk.engine import (
    DRIFT_COUNTS_PREFIX,
    RiskEngine,
    RiskWork,
    day_report,
)
from banktwin.risk.model import RiskModel
from banktwin.risk.names import RISK_CONSUMER
from banktwin.risk.serving import RiskReader, WhatIfError, apply_override, what_if
from banktwin.risk.training import RiskTrainingConfig, train_risk_model
from banktwin.risk.twin_table import training_table
from banktwin.sim import SimConfig, Simulation
from banktwin.store.kv_memory import InMemoryKeyValueStore

END = datetime(2026, 3, 2, tzinfo=UTC)


class Fixed:
    def __init__(self, model: RiskModel | None) -> None:
        self.serving = None if model is None else Served(model, "RiskScore/1")

    def current(self) -> Served[RiskModel] | None:
        return self.serving

    def refresh_now(self) -> Served[RiskModel] | None:
        return self.serving


def simulated(customers: int, days: int, seed: int) -> list[Event]:
    sim = Simulation(SimConfig(customers=customers, seed=seed, history_days=days))
    return [event for batch in sim.backfill(end=END, batch_size=20_000) for event in batch]


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    """The bank the engine runs on: enough customers for a day's drift to be judged."""
    return simulated(MIN_ROWS + 20, 20, seed=7)


@pytest.fixture(scope="module")
def model() -> RiskModel:
    """A model trained on another, longer history (enough losses to learn from)."""
    table = training_table(simulated(300, 45, seed=5), horizon=timedelta(days=14))
    assert table.labels.any()
    config = RiskTrainingConfig(folds=3, candidates=("logistic",))
    return train_risk_model(table.frame, table.labels, config=config).model


def logged(bank: list[Event]) -> InMemoryEventLog:
    log = InMemoryEventLog(4)
    for start in range(0, len(bank), 20_000):
        log.append(bank[start : start + 20_000])
    return log


def every_event(log: InMemoryEventLog) -> list[Event]:
    return [e.event for p in range(log.partitions) for e in log.read(p, 0, 10**9)]


def types(log: InMemoryEventLog) -> Counter[str]:
    return Counter(event.type for event in every_event(log))


def run(log: InMemoryEventLog, kv: InMemoryKeyValueStore, model: RiskModel | None) -> RiskEngine:
    engine = RiskEngine(log, kv, Fixed(model))
    Consumer(log, engine, batch_size=3_000).run_until_caught_up()
    return engine


def test_customers_are_scored_daily_and_after_what_moves_credit_risk(
    bank: list[Event], model: RiskModel
) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    run(log, kv, model)
    scores = [e for e in every_event(log) if e.type == "risk.score_updated"]
    customers = {e.subject_id for e in bank if e.type == "customer.registered"}
    assert {e.subject_id for e in scores} == customers
    days = {e.occurred_at.date() for e in bank if e.type == "transaction.posted"}
    # about once a day each, plus the events that move risk: far fewer than events
    assert len(customers) * len(days) / 2 < len(scores) < len(bank) / 4
    for event in scores[:50]:
        payload: Any = event.payload
        assert 0.0 <= payload.score <= 1.0 and payload.model_version == "RiskScore/1"
        assert len(payload.reasons) == 3
    reader = RiskReader(kv)
    record = reader.score(scores[-1].subject_id)
    assert record is not None and set(model.feature_names) <= set(record.features)


def test_without_a_champion_nothing_is_scored_but_the_log_is_consumed(bank: list[Event]) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    run(log, kv, None)
    assert types(log)["risk.score_updated"] == 0
    assert kv.positions(RISK_CONSUMER) == log.end_offsets()


def test_a_crash_before_the_commit_appends_no_score_twice(
    bank: list[Event], model: RiskModel
) -> None:
    whole, whole_kv = logged(bank), InMemoryKeyValueStore()
    run(whole, whole_kv, model)
    expected = types(whole)

    log, kv = logged(bank), InMemoryKeyValueStore()
    engine = RiskEngine(log, kv, Fixed(model))
    consumer = Consumer(log, engine, batch_size=3_000)
    consumer.run_once()
    work = engine.begin()
    batch = log.read(0, kv.positions(RISK_CONSUMER).get(0, 0), 3_000)
    log.append(engine.process(work, batch))  # appended, then the process dies uncommitted
    run(log, kv, model)  # a new engine, from the committed positions
    assert types(log) == expected


def test_a_day_with_enough_scores_is_measured_once_and_its_counts_survive_a_restart(
    bank: list[Event], model: RiskModel
) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    engine = RiskEngine(log, kv, Fixed(model))
    consumer = Consumer(log, engine, batch_size=2_000)
    for _ in range(12):
        consumer.run_once()
    counts = kv.scan(RISK_CONSUMER, DRIFT_COUNTS_PREFIX, DRIFT_COUNTS_PREFIX + "~")
    assert counts, "the days' counts are committed with the positions"
    run(log, kv, model)  # the rest, by an engine restarted from the store

    straight = logged(bank)
    run(straight, InMemoryKeyValueStore(), model)
    drifts = [e for e in every_event(log) if e.type == "model.drift_measured"]
    assert drifts and types(log)["model.drift_measured"] == types(straight)["model.drift_measured"]
    days = [e.payload.day for e in drifts]  # type: ignore[attr-defined]
    assert len(days) == len(set(days))
    for event in drifts:
        payload: Any = event.payload
        assert payload.rows >= MIN_ROWS and payload.threshold == pytest.approx(0.10)
        assert payload.drifted == (payload.worst_psi > payload.threshold)
    latest = RiskReader(kv).latest_drift()
    assert latest is not None and latest.day == max(days)


def test_the_drift_of_a_day_is_the_psi_of_its_counts(bank: list[Event], model: RiskModel) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    engine = run(log, kv, model)
    counts = engine._days[max(engine._days)]  # the last days are not measured yet
    assert counts.rows
    report = day_report(counts, model.reference, 0.10)
    assert set(report.features) <= set(model.feature_names)
    assert report.rows == counts.rows and report.score >= 0.0


def test_scoring_everyone_scores_each_customer_once_as_of_the_newest_event(
    bank: list[Event], model: RiskModel
) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    run(log, kv, None)  # the demo folds its history before it has a model
    engine = RiskEngine(log, kv, Fixed(model))
    scored = engine.score_everyone()
    customers = {e.subject_id for e in bank if e.subject_kind.value == "customer"}
    assert scored == len(customers)
    scores = [e for e in every_event(log) if e.type == "risk.score_updated"]
    assert len(scores) == scored
    assert {e.occurred_at for e in scores} == {max(e.occurred_at for e in bank)}
    assert RiskEngine(log, kv, Fixed(model)).score_everyone() == scored
    assert types(log)["risk.score_updated"] == scored  # the same ids: nothing twice


def test_what_if_changes_only_the_features_it_names(bank: list[Event], model: RiskModel) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    run(log, kv, model)
    record = next(
        r
        for c in sorted({e.subject_id for e in bank if e.type == "customer.registered"})
        if (r := RiskReader(kv).score(c)) is not None and r.features.get("liquid_balance")
    )
    serving = Served(model, "RiskScore/1")
    same = what_if(record, {}, serving)
    assert same.score == pytest.approx(record.score, abs=1e-6)
    changed = what_if(record, {"liquid_balance": "-20%", "bureau_score": 600}, serving)
    before = record.features["liquid_balance"]
    assert isinstance(before, float)
    was, now = changed.changed["liquid_balance"]
    assert was == before and now == pytest.approx(before * 0.8)
    assert changed.features["bureau_score"] == 600.0
    assert RiskReader(kv).score(record.customer_id) == record  # the twin is untouched


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("no_such_feature", 1.0, "no such feature"),
        ("liquid_balance", "a lot", "neither a number"),
        ("liquid_balance", True, "number or a percentage"),
        ("liquid_balance", float("inf"), "finite"),
        ("segment", 3.0, "text value"),
    ],
)
def test_a_bad_override_names_its_feature(name: str, value: object, message: str) -> None:
    with pytest.raises(WhatIfError, match=message) as raised:
        apply_override(name, 100.0, value)
    assert raised.value.feature == name


def test_a_percentage_of_an_unknown_value_is_refused() -> None:
    with pytest.raises(WhatIfError, match="known current value"):
        apply_override("liquid_balance", None, "+10%")
    assert apply_override("liquid_balance", 50.0, "+10 %") == pytest.approx(55.0)
    assert apply_override("liquid_balance", 50.0, None) is None


def test_reset_forgets_state_and_positions(bank: list[Event], model: RiskModel) -> None:
    log, kv = logged(bank), InMemoryKeyValueStore()
    engine = run(log, kv, model)
    engine.reset()
    assert kv.positions(RISK_CONSUMER) == {}
    assert isinstance(engine.begin(), RiskWork)
    engine.commit(RiskWork(), Checkpoint(RISK_CONSUMER, {}, {}))
