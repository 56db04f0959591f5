"""The fraud engine as a consumer of the log: alerts, one per transaction, and exactly-once
scoring across restarts, snapshots and failed batches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from banktwin.consumers.consumer import Consumer
from banktwin.domain.events import Event
from banktwin.domain.payloads.insight import FraudAlertRaised
from banktwin.fraud.engine import FRAUD_CONSUMER, FraudEngine
from banktwin.fraud.model_source import FixedModel, ServingModel
from banktwin.fraud.rules import load_default_rules, load_rules
from banktwin.fraud.scorer import Scorer, alert_id_for
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import event
from tests.unit.fraud.test_features import MONDAY_NOON, txn

M = timedelta(minutes=1)


def customer_txn(customer: str, at_minutes: float, amount: str, **kw: object) -> Event:
    base = txn(MONDAY_NOON + at_minutes * M, amount, **kw)  # type: ignore[arg-type]
    wire = base.payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    return event("transaction.posted", customer, wire, at=base.occurred_at)


def card_testing(customer: str, start: float, txn_prefix: str) -> list[Event]:
    """Four tiny online charges within minutes: the fourth is the card-testing burst."""
    return [
        customer_txn(
            customer,
            start + i,
            "1.00",
            txn_id=f"{txn_prefix}{i}",
            channel="ecommerce",
            terminal=None,
        )
        for i in range(4)
    ]


def ordinary(customer: str, count: int) -> list[Event]:
    return [
        customer_txn(customer, -600 + 10 * i, "25.00", txn_id=f"{customer}-{i}")
        for i in range(count)
    ]


class Raising:
    """A model source that fails the first ``times`` batches (a registry down mid-batch)."""

    def __init__(self, times: int) -> None:
        self.left = times

    def current(self) -> ServingModel | None:
        if self.left:
            self.left -= 1
            raise RuntimeError("registry unreachable")
        return None


def engine(log: InMemoryEventLog, kv: InMemoryKeyValueStore, **kw: object) -> FraudEngine:
    models = kw.pop("models", FixedModel(None))
    scorer = Scorer(load_default_rules(), models)  # type: ignore[arg-type]
    return FraudEngine(log, kv, scorer, **kw)  # type: ignore[arg-type]


def alerts_in(log: InMemoryEventLog) -> list[Event]:
    found = []
    for p in range(log.partitions):
        found += [
            e.event for e in log.read(p, 0, 1_000_000) if e.event.type == "fraud.alert_raised"
        ]
    return found


def test_a_card_testing_burst_raises_one_alert_on_the_transaction_that_makes_it() -> None:
    log, kv = InMemoryEventLog(4), InMemoryKeyValueStore()
    log.append(ordinary("cust-a", 5) + card_testing("cust-a", 0, "CT"))
    consumer = Consumer(log, engine(log, kv))
    consumer.run_until_caught_up()
    alerts = alerts_in(log)
    assert len(alerts) == 1
    payload = alerts[0].payload
    assert isinstance(payload, FraudAlertRaised)
    assert payload.transaction_id == "CT3"
    assert payload.alert_id == alert_id_for("CT3")
    assert payload.severity.value == "high"
    assert "card-testing" in payload.reasons and "card-testing-burst" in payload.rule_ids
    assert alerts[0].subject_id == "cust-a"
    assert alerts[0].source == "fraud-engine"


def test_scoring_again_from_scratch_raises_no_second_alert() -> None:
    log, kv = InMemoryEventLog(2), InMemoryKeyValueStore()
    log.append(card_testing("cust-a", 0, "CT"))
    Consumer(log, engine(log, kv)).run_until_caught_up()
    first = sum(log.end_offsets().values())
    replay = Consumer(log, engine(log, kv))
    replay.reset()
    replay.run_until_caught_up()
    assert sum(log.end_offsets().values()) == first
    assert len(alerts_in(log)) == 1


@pytest.mark.parametrize("snapshot_interval_s", [0.0, float("inf")])
def test_a_restarted_engine_goes_on_exactly_where_it_committed(snapshot_interval_s: float) -> None:
    """Restored from its snapshot (every commit) or by folding the log from the start (no
    snapshot yet), a new engine scores the rest as one engine would have."""
    events = (
        ordinary("cust-a", 3) + card_testing("cust-a", 0, "CT") + card_testing("cust-b", 5, "CB")
    )
    one_log, split_log = InMemoryEventLog(2), InMemoryEventLog(2)
    one_log.append(events)
    Consumer(one_log, engine(one_log, InMemoryKeyValueStore())).run_until_caught_up()

    kv = InMemoryKeyValueStore()
    split_log.append(events[:5])  # the burst of cust-a is cut after its second charge
    Consumer(
        split_log, engine(split_log, kv, snapshot_interval_s=snapshot_interval_s)
    ).run_until_caught_up()
    split_log.append(events[5:])
    restarted = engine(split_log, kv, snapshot_interval_s=snapshot_interval_s)
    Consumer(split_log, restarted).run_until_caught_up()

    def ids(log: InMemoryEventLog) -> list[str]:
        return sorted(e.event_id for e in alerts_in(log))

    assert ids(split_log) == ids(one_log)
    assert len(ids(one_log)) == 2
    assert kv.positions(FRAUD_CONSUMER) == split_log.end_offsets()


def test_a_failed_batch_is_applied_again_from_the_committed_state() -> None:
    log, kv = InMemoryEventLog(1), InMemoryKeyValueStore()
    log.append(card_testing("cust-a", 0, "CT"))
    consumer = Consumer(log, engine(log, kv, models=Raising(1)))
    with pytest.raises(RuntimeError):
        consumer.run_once()  # folded the burst in memory, then failed before deciding
    consumer.run_until_caught_up()
    assert [a.payload.transaction_id for a in alerts_in(log)] == ["CT3"]  # type: ignore[attr-defined]


def test_a_replay_rebuilds_the_state_without_scoring_history_again() -> None:
    """Rebuilding the engine (``banktwin replay --consumers fraud``) folds what was scored
    before without scoring it: a model or rules changed since raise no alerts on old debits;
    what arrives after the replay is scored with them."""
    quiet = load_rules(
        "version: 1\nrules:\n  - {id: never, when: 'amount < 0.0', score: 0.1, reason: none,"
        " severity: low}\n"
    )
    log, kv = InMemoryEventLog(2), InMemoryKeyValueStore()
    log.append(card_testing("cust-a", 0, "CT"))
    Consumer(log, FraudEngine(log, kv, Scorer(quiet, FixedModel(None)))).run_until_caught_up()
    assert alerts_in(log) == []
    replay = Consumer(log, engine(log, kv))  # the default rules alert on card testing
    replay.reset()
    replay.run_until_caught_up()
    assert alerts_in(log) == []  # history was scored already
    log.append(card_testing("cust-b", 10, "CB"))
    replay.run_until_caught_up()
    assert [a.payload.transaction_id for a in alerts_in(log)] == ["CB3"]  # type: ignore[attr-defined]
    again = Consumer(log, engine(log, kv))  # a second replay remembers the furthest mark
    again.reset()
    again.run_until_caught_up()
    assert len(alerts_in(log)) == 1
