"""The staged fraud engine (customer stage, entity stage, re-keyed through the log) decides on
the same features as the single engine, whatever the partitions, the processes, a crash or a
replay; and its entity state converges to the single book's in any arrival order."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from banktwin.config import Settings
from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.fraud_routing import EntityHop, EntityKind
from banktwin.errors import ConfigurationError, UnavailableError
from banktwin.fraud.customer_stage import FRAUD_CUSTOMER_STAGE, CustomerStage
from banktwin.fraud.engine import FraudEngine, FraudState, is_scored
from banktwin.fraud.entities import EntityBook, EntityRisk
from banktwin.fraud.entity_hops import entities_of, hop_event
from banktwin.fraud.entity_stage import FRAUD_ENTITY_STAGE, EntityStage
from banktwin.fraud.features import features_at
from banktwin.fraud.model_source import FixedModel
from banktwin.fraud.rules import load_default_rules
from banktwin.fraud.scorer import ScoredDebit, Scorer
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig, to_micros
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.sqlite import SqliteEventLog
from banktwin.runtime import selected_consumers
from banktwin.sim import SimConfig, Simulation
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.unit.fraud.test_columnar import a_history
from tests.unit.fraud.test_features import LENIENT, PROPERTY

END = datetime(2026, 3, 2, tzinfo=UTC)


class RecordingScorer(Scorer):
    """The default rules without a model, keeping every debit it decides on."""

    def __init__(self) -> None:
        super().__init__(load_default_rules(), FixedModel(None))
        self.decided: dict[str, ScoredDebit] = {}
        self.twice: list[str] = []

    def alerts(self, debits: Sequence[ScoredDebit]) -> list[Event]:
        for debit in debits:
            if debit.transaction_id in self.decided:
                self.twice.append(debit.transaction_id)
            self.decided[debit.transaction_id] = debit
        return super().alerts(debits)


@dataclasses.dataclass
class Staged:
    """The two stages over some partitions of a log (one 'process')."""

    customers: Consumer[Any]
    entities: Consumer[Any]

    def run(self) -> int:
        return self.customers.run_until_caught_up() + self.entities.run_until_caught_up()


def staged(
    log: InMemoryEventLog,
    kv: InMemoryKeyValueStore,
    scorer: Scorer,
    partitions: list[int] | None = None,
    config: FeatureConfig = DEFAULT_CONFIG,
    snapshot_interval_s: float = 60.0,
) -> Staged:
    options: dict[str, Any] = {"config": config, "snapshot_interval_s": snapshot_interval_s}
    first = CustomerStage(log, kv, scorer, name=FRAUD_CUSTOMER_STAGE, **options)
    second = EntityStage(log, kv, scorer, name=FRAUD_ENTITY_STAGE, **options)
    return Staged(
        Consumer(log, first, partitions=partitions, batch_size=500),
        Consumer(log, second, partitions=partitions, batch_size=500),
    )


def until_quiet(groups: Sequence[Staged]) -> None:
    """Run every stage of every group until none has anything left (hops beget hops)."""
    while sum(group.run() for group in groups):
        pass


def single_engine_features(
    events: list[Event], partitions: int, *, stepwise: bool
) -> dict[str, ScoredDebit]:
    log, kv, scorer = InMemoryEventLog(partitions), InMemoryKeyValueStore(), RecordingScorer()
    consumer = Consumer(log, FraudEngine(log, kv, scorer), batch_size=500)
    if stepwise:
        for event in events:
            log.append([event])
            consumer.run_until_caught_up()
    else:
        log.append(events)
        consumer.run_until_caught_up()
    return scorer.decided


def alerts_in(log: InMemoryEventLog) -> dict[str, Any]:
    return {
        e.event.payload.transaction_id: e.event.payload  # type: ignore[attr-defined]
        for p in range(log.partitions)
        for e in log.read(p, 0, 10_000_000)
        if e.event.type == "fraud.alert_raised"
    }


def assert_same_decisions(expected: dict[str, ScoredDebit], actual: dict[str, ScoredDebit]) -> None:
    assert actual.keys() == expected.keys()
    for transaction_id, debit in expected.items():
        got = actual[transaction_id]
        assert (got.customer_id, got.occurred_at) == (debit.customer_id, debit.occurred_at)
        differ = {
            name: (got.features[name], value)
            for name, value in debit.features.items()
            if type(got.features[name]) is not type(value) or got.features[name] != value
        }
        assert not differ, f"{transaction_id}: (staged, single) {differ}"
        assert got.features.keys() == debit.features.keys()


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    sim = Simulation(SimConfig(customers=150, seed=11, history_days=21))
    return [event for batch in sim.backfill(end=END, batch_size=20_000) for event in batch]


def test_on_one_partition_the_stages_decide_on_the_single_engines_features(
    bank: list[Event],
) -> None:
    """Everything in one partition: the hops queue behind the history, in the order the
    single engine reads it."""
    expected = single_engine_features(bank, 1, stepwise=False)
    log, kv, scorer = InMemoryEventLog(1), InMemoryKeyValueStore(), RecordingScorer()
    log.append(bank)
    until_quiet([staged(log, kv, scorer)])
    assert len(expected) == sum(is_scored(e) for e in bank)
    assert not scorer.twice
    assert_same_decisions(expected, scorer.decided)
    risks = ("terminal_risk_30d", "merchant_risk_30d", "category_risk_30d")
    risky = [d for d in scorer.decided.values() if any(d.features[r] for r in risks)]
    assert risky, "known frauds should make some entity risky"
    single = InMemoryEventLog(1)
    single.append(bank)
    Consumer(
        single, FraudEngine(single, InMemoryKeyValueStore(), RecordingScorer())
    ).run_until_caught_up()
    assert alerts_in(log) == alerts_in(single) != {}


def test_split_over_partitions_and_processes_the_stages_decide_as_the_single_engine(
    bank: list[Event],
) -> None:
    """Three partitions, the stages of two 'processes' owning some each, events arriving in
    time order with every stage caught up in between: the features of every debit are the
    single engine's, bit for bit."""
    events = [e for e in bank if e.occurred_at >= END - timedelta(days=9)]
    expected = single_engine_features(events, 3, stepwise=True)
    log, kv, scorer = InMemoryEventLog(3), InMemoryKeyValueStore(), RecordingScorer()
    groups = [staged(log, kv, scorer, [0, 2]), staged(log, kv, scorer, [1])]
    for event in events:
        log.append([event])
        until_quiet(groups)
    assert_same_decisions(expected, scorer.decided)
    hops = sum(
        1 for p in range(3) for e in log.read(p, 0, 10**7) if e.event.type == "fraud.entity_hop"
    )
    assert hops >= len([e for e in events if e.type == "transaction.posted"])


def test_a_restart_and_a_replay_decide_nothing_twice(bank: list[Event]) -> None:
    """Stages killed mid-way (their memory lost, snapshots at every commit) and started
    again decide the remaining debits once each; a replay from a reset emits nothing."""
    events = bank[: len(bank) // 2]
    expected = single_engine_features(events, 2, stepwise=False)
    log, kv, scorer = InMemoryEventLog(2), InMemoryKeyValueStore(), RecordingScorer()
    log.append(events[: len(events) // 2])
    until_quiet([staged(log, kv, scorer, snapshot_interval_s=0.0)])
    log.append(events[len(events) // 2 :])
    restarted = staged(log, kv, scorer, snapshot_interval_s=60.0)
    restarted.customers.run_once()  # folds from the snapshot, emits from the committed position
    until_quiet([restarted])
    assert scorer.decided.keys() == expected.keys()
    assert not scorer.twice
    ends = log.end_offsets()
    alerts = alerts_in(log)
    replay = staged(log, kv, RecordingScorer())
    replay.customers.reset()
    replay.entities.reset()
    until_quiet([replay])
    assert log.end_offsets() == ends, "a replay appends no hop, label or alert"
    assert alerts_in(log) == alerts


def test_stages_started_after_a_history_count_it_and_score_only_what_follows(
    bank: list[Event],
) -> None:
    """As the demo starts them: the history a first model was trained on is counted by every
    entity, and no debit of it is decided."""
    history, live = bank[:60_000], bank[60_000:]
    expected = single_engine_features(bank, 1, stepwise=False)
    log, kv, scorer = InMemoryEventLog(1), InMemoryKeyValueStore(), RecordingScorer()
    log.append(history)
    group = staged(log, kv, scorer)
    stage = group.customers.engine
    assert isinstance(stage, CustomerStage)
    stage.score_from(log.end_offsets())
    until_quiet([group])
    assert scorer.decided == {}
    log.append(live)
    until_quiet([group])
    live_debits = {e.payload.transaction_id for e in live if is_scored(e)}  # type: ignore[attr-defined]
    assert_same_decisions({k: expected[k] for k in live_debits}, scorer.decided)


def test_a_hop_keeps_every_features_type_through_a_stored_log(
    bank: list[Event], tmp_path: Path
) -> None:
    """The rules are typed (CEL): a count stays an int, a flag a bool, a mean a float."""
    state = FraudState()
    for event in bank[:20_000]:
        state.fold(event)
    debit = next(e for e in bank[20_000:] if is_scored(e))
    features = features_at(state.customer(debit.subject_id), debit, state.entities)
    payload = debit.payload
    assert isinstance(payload, TransactionPosted)
    route = (to_micros(debit.occurred_at), "T1", payload.merchant, payload.merchant_category)
    hop = hop_event(
        payload.transaction_id, debit.subject_id, route, entities_of(route)[0], features
    )
    assert EntityHop.model_validate(hop.payload.model_dump()) == hop.payload  # made unvalidated
    log = SqliteEventLog(tmp_path / "log.db")
    try:
        log.append([hop])
        stored = log.read(log.partition_of(hop.subject_id), 0, 1)[0].event.payload
    finally:
        log.close()
    assert isinstance(stored, EntityHop) and stored.features is not None
    assert {k: (type(v), v) for k, v in stored.features.items()} == {
        k: (type(v), v) for k, v in features.items()
    }


class CommitFailsOnce(InMemoryKeyValueStore):
    """The store a stage's commit fails on once, after its batch was applied and what it
    derived appended (a crash between the two)."""

    def __init__(self, consumer: str) -> None:
        super().__init__()
        self.failing = consumer

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        if checkpoint.consumer == self.failing:
            self.failing = ""
            raise UnavailableError("the store went away")
        super().commit(checkpoint, puts)


@pytest.mark.parametrize("stage", [FRAUD_CUSTOMER_STAGE, FRAUD_ENTITY_STAGE])
def test_a_commit_that_fails_after_appending_emits_nothing_twice(
    bank: list[Event], stage: str
) -> None:
    events = bank[:20_200]  # the first alerts of this bank are raised by then
    log, kv, scorer = InMemoryEventLog(2), CommitFailsOnce(stage), RecordingScorer()
    log.append(events)
    group = staged(log, kv, RecordingScorer())
    consumer = group.customers if stage == FRAUD_CUSTOMER_STAGE else group.entities
    if stage == FRAUD_ENTITY_STAGE:
        group.customers.run_until_caught_up()
    with pytest.raises(UnavailableError):
        consumer.run_until_caught_up()
    appended = log.end_offsets()
    until_quiet([group])
    single = InMemoryEventLog(2)
    single.append(events)
    Consumer(single, FraudEngine(single, InMemoryKeyValueStore(), scorer)).run_until_caught_up()
    assert alerts_in(log) == alerts_in(single) != {}
    assert all(log.end_offsets()[p] >= appended[p] for p in appended)
    hops = [
        e.event.event_id
        for p in range(2)
        for e in log.read(p, 0, 10**7)
        if e.event.type == "fraud.entity_hop"
    ]
    assert len(hops) == len(set(hops))


@PROPERTY
@given(history=a_history(), data=st.data())
def test_the_entity_state_is_the_single_books_in_any_arrival_order(
    history: list[Event], data: st.DataObject
) -> None:
    """A report is its customer's (the customer stage joins it to their own transaction: a
    transaction id two customers share is two transactions)."""
    owners: dict[str, set[str]] = {}
    for event in history:
        if event.type == "transaction.posted":
            owners.setdefault(event.payload.transaction_id, set()).add(event.subject_id)  # type: ignore[attr-defined]
    assume(all(len(subjects) == 1 for subjects in owners.values()))
    arrived = [_reported_by_its_customer(e, history) for e in data.draw(st.permutations(history))]
    log, kv = InMemoryEventLog(3), InMemoryKeyValueStore()
    group = staged(log, kv, RecordingScorer(), config=LENIENT)
    for chunk in _chunks(arrived, data.draw(st.integers(1, 5))):
        log.append(chunk)
        until_quiet([group])
    book = EntityBook(LENIENT)
    for event in arrived:
        book.fold(event)
    entity_stage = group.entities.engine
    assert isinstance(entity_stage, EntityStage)
    for kind in EntityKind:
        merged: dict[str, EntityRisk] = {}
        for partition in range(3):
            merged |= entity_stage.state_of(partition).of_kind(kind)
        assert _fields(merged) == _fields(book.of_kind(kind))


def test_the_fraud_engine_runs_whole_or_in_both_stages() -> None:
    def names(consumers: str) -> list[str]:
        return selected_consumers(Settings(consumers=consumers))

    assert names("twin,fraud-customers,fraud-entities") == [
        "twin",
        "fraud-customers",
        "fraud-entities",
    ]
    with pytest.raises(ConfigurationError, match="choose one"):
        names("fraud,fraud-customers,fraud-entities")
    with pytest.raises(ConfigurationError, match="needs both"):
        names("twin,fraud-entities")


def _reported_by_its_customer(event: Event, history: list[Event]) -> Event:
    if event.type != "fraud.reported":
        return event
    transaction_id = event.payload.transaction_id  # type: ignore[attr-defined]
    for posted in history:
        if posted.type == "transaction.posted" and posted.payload.transaction_id == transaction_id:  # type: ignore[attr-defined]
            return dataclasses.replace(event, subject_id=posted.subject_id)
    return event


def _chunks(events: list[Event], size: int) -> list[list[Event]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def _fields(entities: dict[str, EntityRisk]) -> dict[str, tuple[object, ...]]:
    return {
        key: (e.times, e.fraud_times, e.fraud_known, sorted(e.fraud_ids), e.newest)
        for key, e in entities.items()
    }
