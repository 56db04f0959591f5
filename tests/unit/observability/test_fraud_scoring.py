"""``banktwin_fraud_scoring_seconds``: one observation per batch of debits, its seconds per
debit; a batch without debits is not observed."""

from __future__ import annotations

from banktwin.consumers.consumer import Consumer
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import new_id, registered
from tests.unit.fraud.test_engine import engine, ordinary
from tests.unit.observability.samples import sample

COUNT, SUM = "banktwin_fraud_scoring_seconds_count", "banktwin_fraud_scoring_seconds_sum"


def test_a_batch_of_debits_is_one_observation_of_its_seconds_per_debit() -> None:
    log, kv = InMemoryEventLog(2), InMemoryKeyValueStore()
    consumer = Consumer(log, engine(log, kv), batch_size=1000)
    customer = new_id()
    log.append([registered(customer), *ordinary(customer, 20)])
    before, spent = sample(COUNT), sample(SUM)
    consumer.run_once()
    assert sample(COUNT) == before + 1
    assert 0 < sample(SUM) - spent < 0.1  # per debit: far less than the batch


def test_a_batch_without_debits_is_not_observed() -> None:
    log, kv = InMemoryEventLog(2), InMemoryKeyValueStore()
    consumer = Consumer(log, engine(log, kv))
    log.append([registered(new_id()) for _ in range(5)])
    before = sample(COUNT)
    consumer.run_until_caught_up()
    assert sample(COUNT) == before
