"""The alert evaluator on the in-memory log and key-value store: what fires and resolves is
appended once under ids fixed by the alert, saved with the book, listed by the reader; the
system's measures see lag and stalls from any process; the twin ignores the alerts' events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from banktwin.alerting.evaluator import AlertEvaluator, fired_event_id, resolved_event_id
from banktwin.alerting.measures import SystemMeasures
from banktwin.alerting.reader import AlertReader
from banktwin.config import Settings
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.operational_alerts import Fired, Measurement, Resolved, alert_id
from banktwin.errors import ConfigurationError, UnavailableError
from banktwin.log.memory import InMemoryEventLog
from banktwin.projector.projector import Projector
from banktwin.runtime import Runtime
from banktwin.store.kv_memory import InMemoryKeyValueStore
from banktwin.store.memory import InMemoryStateStore
from tests.factories import new_id, posted, registered

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedLag:
    """Measures built on the port: the twin's lag is whatever the test sets."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def measure(self, now: datetime) -> list[Measurement]:
        return [Measurement("ingestion_lag", "twin", self.seconds, now)]


class FailingOnce(InMemoryKeyValueStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        if self.fail:
            self.fail = False
            raise UnavailableError("the store went away")
        super().commit(checkpoint, puts)


def ops_events(log: InMemoryEventLog) -> list[tuple[str, str, str]]:
    return [
        (e.event.type, e.event.subject_id, e.event.event_id)
        for p in range(log.partitions)
        for e in log.read(p, 0, 1000)
        if e.event.type.startswith("ops.")
    ]


def test_a_lag_alert_fires_resolves_and_is_listed() -> None:
    log, kv, clock, lag = InMemoryEventLog(), InMemoryKeyValueStore(), Clock(), ScriptedLag()
    evaluator = AlertEvaluator(log, kv, lag, clock)
    lag.seconds = 420
    assert evaluator.evaluate_once() == []  # pending for a minute
    clock.advance(60)
    [fired] = evaluator.evaluate_once()
    assert isinstance(fired, Fired)
    expected_id = alert_id("ingestion_lag", "twin", 0)
    assert fired.alert_id == expected_id
    assert ops_events(log) == [("ops.alert_fired", expected_id, fired_event_id(expected_id))]
    reader = AlertReader(kv)
    [listed], total = reader.page(status="firing", limit=10, offset=0)
    assert total == 1 and listed["alertId"] == expected_id and listed["severity"] == "page"
    assert listed["summary"] == "consumer twin is 420 s behind the log (threshold 300 s)"

    clock.advance(30)
    lag.seconds = 2
    [resolved] = evaluator.evaluate_once()
    assert isinstance(resolved, Resolved) and resolved.alert_id == expected_id
    assert ops_events(log)[-1] == (
        "ops.alert_resolved",
        expected_id,
        resolved_event_id(expected_id),
    )
    alert = reader.get(expected_id)
    assert alert is not None and alert["status"] == "resolved" and alert["resolvedValue"] == 2
    assert reader.page(status="firing", limit=10, offset=0) == ([], 0)


def test_a_crash_between_the_append_and_the_save_appends_nothing_twice() -> None:
    log, kv, clock, lag = InMemoryEventLog(), FailingOnce(), Clock(), ScriptedLag()
    evaluator = AlertEvaluator(log, kv, lag, clock)
    lag.seconds = 900
    evaluator.evaluate_once()
    clock.advance(61)
    kv.fail = True
    with pytest.raises(UnavailableError):
        evaluator.evaluate_once()  # the firing is in the log, the book is not saved
    assert len(ops_events(log)) == 1
    clock.advance(15)
    [fired] = evaluator.evaluate_once()  # decided again, under the same id
    assert len(ops_events(log)) == 1
    assert AlertReader(kv).get(fired.alert_id) is not None


def test_a_restarted_evaluator_goes_on_from_its_saved_book() -> None:
    log, kv, clock, lag = InMemoryEventLog(), InMemoryKeyValueStore(), Clock(), ScriptedLag()
    lag.seconds = 900
    AlertEvaluator(log, kv, lag, clock).evaluate_once()
    clock.advance(60)
    [fired] = AlertEvaluator(log, kv, lag, clock).evaluate_once()  # a new process
    assert isinstance(fired, Fired)
    clock.advance(60)
    assert AlertEvaluator(log, kv, lag, clock).evaluate_once() == []  # still the same alert


def test_system_measures_see_lag_and_a_consumer_that_does_not_move() -> None:
    log, clock = InMemoryEventLog(partitions=2), Clock()
    store = InMemoryStateStore()
    projector = Projector(log, store)
    customer = new_id()
    log.append([registered(customer), posted(customer)])
    measures = SystemMeasures({"twin": projector}, None)
    first = {(m.rule, m.key): m.value for m in measures.measure(clock())}
    assert first[("consumer_stalled", "twin")] == 0  # first sight: it may just have moved
    assert first[("ingestion_lag", "twin")] >= 0
    later = {(m.rule, m.key): m.value for m in measures.measure(clock.now + timedelta(minutes=11))}
    assert later[("consumer_stalled", "twin")] == 660
    projector.run_until_caught_up()
    at = clock.now + timedelta(minutes=12)
    caught_up = {(m.rule, m.key): m.value for m in measures.measure(at)}
    assert caught_up[("consumer_stalled", "twin")] == 0
    assert caught_up[("ingestion_lag", "twin")] == 0


def test_the_twin_projector_passes_over_the_alerts_events() -> None:
    log, kv, clock, lag = InMemoryEventLog(), InMemoryKeyValueStore(), Clock(), ScriptedLag()
    customer = new_id()
    log.append([registered(customer)])
    lag.seconds = 900
    evaluator = AlertEvaluator(log, kv, lag, clock)
    evaluator.evaluate_once()
    clock.advance(60)
    evaluator.evaluate_once()
    store = InMemoryStateStore()
    projector = Projector(log, store)
    assert projector.run_until_caught_up() == 2
    assert store.customer(customer) is not None


def test_one_process_per_deployment_evaluates_the_alerts() -> None:
    base = {"log_url": "memory://?partitions=4", "store_url": "memory://"}
    assert Runtime(Settings(**base)).evaluates_alerts  # type: ignore[arg-type]
    assert Runtime(Settings(**base, partitions="0,2")).evaluates_alerts  # type: ignore[arg-type]
    assert not Runtime(Settings(**base, partitions="1,3")).evaluates_alerts  # type: ignore[arg-type]


def test_thresholds_come_from_the_settings_and_a_wrong_one_is_named() -> None:
    base = {"log_url": "memory://", "store_url": "memory://"}
    runtime = Runtime(Settings(**base, alert_thresholds="ingestion_lag=60"))  # type: ignore[arg-type]
    assert runtime.alert_evaluator()._rules["ingestion_lag"].threshold == 60
    wrong = Runtime(Settings(**base, alert_thresholds="lag=60"))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="BANKTWIN_ALERT_THRESHOLDS: no alert rule 'lag'"):
        wrong.alert_evaluator()


def test_the_evaluating_process_runs_the_evaluator_and_with_webhooks_the_sender() -> None:
    base = {"log_url": "memory://", "store_url": "memory://", "consumers": "twin"}
    for webhooks, expected in (
        ("", {"alerting"}),
        ("http://127.0.0.1:9/x", {"alerting", "alert-delivery"}),
    ):
        runtime = Runtime(Settings(**base, alert_webhooks=webhooks))  # type: ignore[arg-type]
        try:
            runtime.start_consumers()
            names = {t.name for t in runtime._threads}
            assert names - {"consumer-twin"} == expected
        finally:
            runtime.close()


def test_model_drift_fires_on_the_last_day_the_risk_engine_measured() -> None:
    from datetime import date

    from banktwin.risk.engine import DriftRecord

    def day(psi: float) -> DriftRecord:
        return DriftRecord(
            model_name="RiskScore",
            model_version="RiskScore/2",
            day=date(2026, 3, 1),
            rows=1800,
            score_psi=0.01,
            features={"outflow_90d": psi},
            worst_input="outflow_90d",
            worst_psi=psi,
            threshold=0.1,
            drifted=psi > 0.1,
        )

    latest: list[DriftRecord | None] = [None]
    log, kv, clock = InMemoryEventLog(), InMemoryKeyValueStore(), Clock()
    measures = SystemMeasures({}, None, lambda: latest[0])
    assert measures.measure(clock()) == []  # nothing measured: the rule keeps its state
    evaluator = AlertEvaluator(log, kv, measures, clock)
    latest[0] = day(0.04)
    assert evaluator.evaluate_once() == []
    latest[0] = day(0.31)
    [fired] = evaluator.evaluate_once()
    assert isinstance(fired, Fired) and fired.rule.name == "model_drift"
    assert fired.key == "RiskScore" and fired.value == 0.31
    latest[0] = day(0.05)
    clock.advance(60)
    [resolved] = evaluator.evaluate_once()
    assert isinstance(resolved, Resolved)


def test_a_restarted_evaluator_keeps_counting_a_stall_from_when_it_began() -> None:
    log, clock, kv = InMemoryEventLog(partitions=2), Clock(), InMemoryKeyValueStore()
    projector = Projector(log, InMemoryStateStore())
    customer = new_id()
    log.append([registered(customer), posted(customer)])
    SystemMeasures({"twin": projector}, None, kv=kv).measure(clock())  # first sight
    restarted = SystemMeasures({"twin": projector}, None, kv=kv)  # a new process
    later = {(m.rule, m.key): m.value for m in restarted.measure(clock.now + timedelta(minutes=7))}
    assert later[("consumer_stalled", "twin")] == 420  # not 0: the timer survived the restart
    forgetful = SystemMeasures({"twin": projector}, None)
    again = {(m.rule, m.key): m.value for m in forgetful.measure(clock.now + timedelta(minutes=7))}
    assert again[("consumer_stalled", "twin")] == 0  # without a store, it starts over
