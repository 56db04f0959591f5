"""The figures computed at scrape time from the log and the stores, and a store that does not
answer: its families are left out of the scrape, which still succeeds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from banktwin.consumers.consumer import Consumer
from banktwin.errors import UnavailableError
from banktwin.kpis.engine import KpiEngine
from banktwin.kpis.reader import KpiReader
from banktwin.log.memory import InMemoryEventLog
from banktwin.observability.collectors import ConsumerCollector, KpiCollector
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import T0, event, new_id, opened, posted, registered
from tests.unit.observability.samples import parsed


class FlakyKeyValueStore(InMemoryKeyValueStore):
    """The in-memory store, unreachable while ``down`` (a database restarting)."""

    down = False

    def positions(self, consumer: str) -> dict[int, int]:
        self._check()
        return super().positions(consumer)

    def get_many(self, consumer: str, keys: Collection[str]) -> dict[str, bytes]:
        self._check()
        return super().get_many(consumer, keys)

    def scan(self, consumer: str, start: str, end: str, **kw: object) -> list[tuple[str, bytes]]:
        self._check()
        return super().scan(consumer, start, end, **kw)  # type: ignore[arg-type]

    def _check(self) -> None:
        if self.down:
            raise UnavailableError("the state store does not answer")


def scrape(*collectors: object) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)  # type: ignore[arg-type]
    return parsed(generate_latest(registry))


def a_bank(log: InMemoryEventLog, customers: int = 3) -> None:
    for _ in range(customers):
        c = new_id()
        log.append([registered(c), opened(c), posted(c)])


def test_applied_is_the_sum_of_the_committed_positions_and_lag_what_is_left() -> None:
    log, kv = InMemoryEventLog(1), FlakyKeyValueStore()
    a_bank(log)
    consumer = Consumer(log, KpiEngine(kv), batch_size=4)
    now = datetime.now(UTC)
    consumer.run_once()
    consumer.commit()
    found = scrape(ConsumerCollector({"kpis": consumer}, now))
    assert found["banktwin_events_applied_total"] == {(("consumer", "kpis"),): 4}
    assert found["banktwin_consumer_lag_events"] == {(("consumer", "kpis"),): 5}
    assert found["banktwin_consumer_lag_seconds"][(("consumer", "kpis"),)] >= 0
    consumer.run_until_caught_up()
    found = scrape(ConsumerCollector({"kpis": consumer}, now))
    assert found["banktwin_events_applied_total"] == {(("consumer", "kpis"),): 9}
    assert found["banktwin_consumer_lag_events"] == {(("consumer", "kpis"),): 0}


def test_lag_seconds_is_the_age_of_the_oldest_event_not_applied() -> None:
    log, kv = InMemoryEventLog(1), FlakyKeyValueStore()
    a_bank(log, 1)
    recorded = log.read(0, 0, 1)[0].event.recorded_at
    assert recorded is not None
    consumer = Consumer(log, KpiEngine(kv))
    found = scrape(ConsumerCollector({"kpis": consumer}, recorded + timedelta(seconds=42)))
    assert found["banktwin_consumer_lag_seconds"] == {(("consumer", "kpis"),): 42}


def test_a_store_that_does_not_answer_leaves_its_consumer_out_of_the_scrape() -> None:
    log, kv, other = InMemoryEventLog(2), FlakyKeyValueStore(), InMemoryKeyValueStore()
    a_bank(log)
    consumers = {"kpis": Consumer(log, KpiEngine(kv)), "other": Consumer(log, KpiEngine(other))}
    kv.down = True
    found = scrape(ConsumerCollector(consumers, datetime.now(UTC)))
    assert found["banktwin_events_applied_total"] == {(("consumer", "other"),): 0}
    assert found["banktwin_consumer_lag_events"] == {(("consumer", "other"),): 9}


def test_the_kpis_are_read_at_scrape_time() -> None:
    log, kv = InMemoryEventLog(2), FlakyKeyValueStore()
    a_bank(log)
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    found = scrape(KpiCollector(KpiReader(kv, log.partitions), T0 + timedelta(hours=2)))
    assert found["banktwin_data_completeness_target"] == {(): 0.95}
    assert 0 < found["banktwin_data_completeness_ratio"][()] <= 1
    assert found["banktwin_fraud_alert_rate"] == {(): 0}
    assert found["banktwin_fraud_alert_rate_baseline"] == {(): 0}


def test_the_alert_rate_is_the_last_full_hours_alerts_against_the_hours_before() -> None:
    log, kv = InMemoryEventLog(2), FlakyKeyValueStore()
    customer = new_id()
    alerts = [
        event(
            "fraud.alert_raised",
            customer,
            {"alertId": new_id(), "transactionId": f"TX{n}", "severity": "high"},
            at=T0 + timedelta(hours=0 if n == 0 else 1),
        )
        for n in range(4)
    ]
    log.append([registered(customer, at=T0), *alerts])
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    found = scrape(KpiCollector(KpiReader(kv, log.partitions), T0 + timedelta(hours=2)))
    assert found["banktwin_fraud_alert_rate"] == {(): 3}
    assert found["banktwin_fraud_alert_rate_baseline"] == {(): 1}


def test_kpis_that_cannot_be_read_leave_only_the_target() -> None:
    log, kv = InMemoryEventLog(2), FlakyKeyValueStore()
    a_bank(log)
    Consumer(log, KpiEngine(kv)).run_until_caught_up()
    kv.down = True
    found = scrape(KpiCollector(KpiReader(kv, log.partitions), T0))
    assert set(found) == {"banktwin_data_completeness_target"}
