"""``dead_letters_growing`` on synthetic dead letters: it fires for a source as soon as one
of its records is dead-lettered, and resolves once 15 minutes pass without another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from banktwin.alerting.evaluator import AlertEvaluator
from banktwin.alerting.measures import SystemMeasures
from banktwin.alerting.reader import AlertReader
from banktwin.config import Settings
from banktwin.domain.operational_alerts import Fired, Resolved, alert_id
from banktwin.ingest.dead_letters import DeadLetter, Origin, new_dead_letter
from banktwin.ingest.dead_letters_memory import InMemoryDeadLetterStore
from banktwin.intake import FieldError
from banktwin.log.memory import InMemoryEventLog
from banktwin.runtime import Runtime
from banktwin.store.kv_memory import InMemoryKeyValueStore

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
REASON = [FieldError("payload.amount", "Input should be a valid decimal")]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def dead_letter(source: str, offset: int, at: datetime) -> DeadLetter:
    return new_dead_letter(source, Origin(source, 0, offset), b"{}", REASON, at)


def test_growing_dead_letters_fire_a_ticket_that_resolves_after_15_quiet_minutes() -> None:
    log, kv, clock = InMemoryEventLog(), InMemoryKeyValueStore(), Clock()
    table = InMemoryDeadLetterStore()
    measures = SystemMeasures({}, None, dead_letters=table)
    evaluator = AlertEvaluator(log, kv, measures, clock)
    assert evaluator.evaluate_once() == []  # no source has dead letters

    table.add([dead_letter("payments", n, T0) for n in range(3)])
    table.add([dead_letter("customers", 0, T0 - timedelta(hours=1))])  # old news
    [fired] = evaluator.evaluate_once()
    assert isinstance(fired, Fired) and fired.key == "payments" and fired.value == 3
    assert fired.alert_id == alert_id("dead_letters_growing", "payments", 0)
    listed = AlertReader(kv).get(fired.alert_id)
    assert listed is not None and listed["severity"] == "ticket"
    assert listed["summary"] == (
        "3 records of payments went to the dead-letter table in the last 15 minutes"
    )

    clock.now = T0 + timedelta(minutes=10)
    table.add([dead_letter("payments", 3, clock.now)])
    assert evaluator.evaluate_once() == []  # still the same alert

    clock.now = T0 + timedelta(minutes=20)  # the last one is 10 minutes old
    assert evaluator.evaluate_once() == []
    clock.now = T0 + timedelta(minutes=25, seconds=1)
    [resolved] = evaluator.evaluate_once()
    assert isinstance(resolved, Resolved) and resolved.alert_id == fired.alert_id
    assert resolved.value == 0


def test_the_runtimes_evaluator_reads_the_dead_letter_table() -> None:
    runtime = Runtime(Settings(log_url="memory://", store_url="memory://"))
    try:
        now = datetime.now(UTC)
        runtime.dead_letters.add([dead_letter("payments", 0, now)])
        [fired] = runtime.alert_evaluator().evaluate_once()
        assert isinstance(fired, Fired) and fired.rule.name == "dead_letters_growing"
        assert fired.key == "payments" and fired.value == 1
    finally:
        runtime.close()
