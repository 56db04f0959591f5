"""The fraud engine's speed: scoring history, and the latency of one transaction live.

``python -m bench.fraud_scoring [--events 300000] [--customers 2000]`` builds the simulator's
bank (its four fraud scenarios, reports days later), trains a model on the first two thirds of
its history, then measures in one run:

- **history**: scoring the history's debits in process, as training and backtests do once
  the events are read (:func:`~banktwin.fraud.history_scoring.score_history`: the features
  of every debit in columns, the model in batches of 5,000, the rules where one may hit, the
  decisions); transactions per second of CPU (target: at least 20,000/s). The baseline is
  the live engine's event-by-event path over the same events (``features_at`` per debit,
  every event folded, the rules on every debit), with its alert count, which must be the
  same (``speedup_over_event_by_event``); ``fold_only_cpu_s`` is folding alone.
- **consumer**: the fraud engine as a consumer over a SQLite log of every event (reading and
  decoding the log, the above, alerts appended, state committed), in events and transactions
  per second of CPU, against reading and decoding the same log (``ratio_to_plain_read``).
- **staged**: the staged engine (``fraud-customers`` then ``fraud-entities``, re-keyed
  through the log) over a copy of the same SQLite log: in one process (CPU seconds, against
  the single consumer above: ``ratio_to_single_engine``, the price of the hops), and in two
  processes splitting the partitions, wall-clock until both stages are at the log's end,
  against the single engine's wall-clock in one process on another copy, in the same run
  (``speedup_over_single_engine``; a 2-core machine, so at most about 2).
- **live**: one transaction at a time, as the engine scores a quiet stream: features, rules,
  the model on a single row, the decision, and the explanation when it alerts. p50, p99 and
  max in microseconds; the target is p99 under 2 ms. The baseline is the features alone,
  measured on the same transactions (``ratio_p99_to_features``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from banktwin.consumers.consumer import Consumer
from banktwin.domain.events import Event
from banktwin.fraud.customer_stage import FRAUD_CUSTOMER_STAGE, CustomerStage
from banktwin.fraud.decision import DecisionPolicy, blend, decide
from banktwin.fraud.engine import FraudEngine, FraudState, is_scored
from banktwin.fraud.entity_stage import FRAUD_ENTITY_STAGE, EntityStage
from banktwin.fraud.features import Features, features_at
from banktwin.fraud.history_scoring import score_history
from banktwin.fraud.model import feature_matrix
from banktwin.fraud.model_source import FixedModel, ServingModel
from banktwin.fraud.rules import load_default_rules
from banktwin.fraud.scorer import Scorer
from banktwin.fraud.training import fold_history, train_on_history
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.sqlite import SqliteEventLog
from banktwin.registry.champion import Served
from banktwin.store.kv_sqlite import SqliteKeyValueStore
from bench.workload import simulated_events

TARGET_HISTORY_TXNS_PER_S = 20_000
TARGET_LIVE_P99_US = 2_000
LIVE_SAMPLE = 5_000


def _train(events: list[Event]) -> ServingModel:
    """A model trained on the first two thirds of the events (what the demo does on its
    backfill)."""
    log = InMemoryEventLog(4)
    for i in range(0, len(events) * 2 // 3, 20_000):
        log.append(events[i : min(i + 20_000, len(events) * 2 // 3)])
    result = train_on_history(fold_history(log))
    return Served(result.model, "bench")


def _event_by_event(events: list[Event], serving: ServingModel) -> tuple[float, int, int]:
    """The baseline: each debit scored as the live engine does, one event at a time
    (features_at, the rules, the model in batches of 5,000, decisions, every event folded).
    Returns CPU seconds, debits scored and alerts."""
    rules, policy, model = load_default_rules(), DecisionPolicy(), serving.model
    start = time.process_time()
    state = FraudState()
    pending: list[Features] = []
    alerts = scored = 0

    def decide_pending() -> int:
        scores = model.predict(feature_matrix(pending, model.feature_names))
        raised = 0
        for features, score in zip(pending, scores, strict=True):
            outcome = rules.evaluate(features)
            if blend(float(score), outcome.score) >= policy.alert_threshold or outcome.forces_alert:
                row = feature_matrix([features], model.feature_names)
                factors = model.top_factors(model.contributions(row)[0])
                raised += decide(policy, outcome, float(score), [n for n, _ in factors]).alert
        pending.clear()
        return raised

    for event in events:
        if is_scored(event):
            pending.append(features_at(state.customer(event.subject_id), event, state.entities))
            scored += 1
            if len(pending) == 5_000:
                alerts += decide_pending()
        state.fold(event)
    alerts += decide_pending()
    return time.process_time() - start, scored, alerts


def _history(events: list[Event], serving: ServingModel) -> dict[str, Any]:
    """Score every debit of the history at once, as training and backtests do
    (:func:`score_history`: features in columns, the model in batches of 5,000, the rules
    where one may hit, decisions), against the event-by-event path of the live engine."""
    start = time.process_time()
    state = FraudState()
    for event in events:
        state.fold(event)
    fold_s = time.process_time() - start
    start = time.process_time()
    scored = score_history(events, load_default_rules(), DecisionPolicy(), serving.model)
    score_s = time.process_time() - start
    debits = len(scored.debits)
    baseline_s, baseline_debits, baseline_alerts = _event_by_event(events, serving)
    return {
        "events": len(events),
        "transactions_scored": debits,
        "alerts": len(scored.alerts),
        "cpu_s": round(score_s, 2),
        "transactions_per_s": round(debits / score_s),
        "baseline_event_by_event_cpu_s": round(baseline_s, 2),
        "baseline_event_by_event_transactions_per_s": round(baseline_debits / baseline_s),
        "baseline_event_by_event_alerts": baseline_alerts,
        "speedup_over_event_by_event": round(baseline_s / score_s, 2),
        "fold_only_cpu_s": round(fold_s, 2),
        "target_transactions_per_s": TARGET_HISTORY_TXNS_PER_S,
        "meets_target": debits / score_s >= TARGET_HISTORY_TXNS_PER_S,
    }


def _consumer(events: list[Event], serving: ServingModel, root: Path) -> dict[str, Any]:
    log = SqliteEventLog(root / "log.db", partitions=4)
    for i in range(0, len(events), 20_000):
        log.append(events[i : i + 20_000])
    log.close()
    shutil.copy(root / "log.db", root / "source.db")  # the staged run starts from this copy
    log = SqliteEventLog(root / "log.db")
    transactions = sum(1 for e in events if is_scored(e))
    start = time.process_time()
    for p in range(log.partitions):
        offset = 0
        while batch := log.read(p, offset, 20_000):
            offset = batch[-1].offset + 1
    read_s = time.process_time() - start
    kv = SqliteKeyValueStore(root / "state.db")
    engine = FraudEngine(log, kv, Scorer(load_default_rules(), FixedModel(serving)))
    consumer = Consumer(log, engine, batch_size=20_000, commit_interval_s=10.0)
    start = time.process_time()
    consumer.run_until_caught_up()
    engine_s = time.process_time() - start
    kv.close()
    log.close()
    events_per_s = len(events) / engine_s
    return {
        "events": len(events),
        "transactions_scored": transactions,
        "cpu_s": round(engine_s, 2),
        "transactions_per_s": round(transactions / engine_s),
        "events_per_s": round(events_per_s),
        "baseline_plain_read_events_per_s": round(len(events) / read_s),
        "ratio_to_plain_read": round(events_per_s / (len(events) / read_s), 3),
    }


def _stage_consumers(
    root: Path, serving: ServingModel, partitions: list[int]
) -> tuple[SqliteEventLog, SqliteKeyValueStore, list[Consumer[Any]]]:
    log = SqliteEventLog(root / "log.db")
    kv = SqliteKeyValueStore(root / "state.db")
    scorer = Scorer(load_default_rules(), FixedModel(serving))
    stages = (
        CustomerStage(log, kv, scorer, name=FRAUD_CUSTOMER_STAGE),
        EntityStage(log, kv, scorer, name=FRAUD_ENTITY_STAGE),
    )
    consumers = [
        Consumer(log, stage, partitions=partitions, batch_size=20_000, commit_interval_s=10.0)
        for stage in stages
    ]
    return log, kv, consumers


def _at_the_end(log: SqliteEventLog, kv: SqliteKeyValueStore) -> bool:
    ends = {p: o for p, o in log.end_offsets().items() if o}
    return all(kv.positions(s) == ends for s in (FRAUD_CUSTOMER_STAGE, FRAUD_ENTITY_STAGE))


def _run_stages(root: Path, serving: ServingModel, partitions: list[int]) -> None:
    """One process's share of the staged engine, until both stages are at the log's end
    everywhere (the other process may still send hops here)."""
    log, kv, consumers = _stage_consumers(root, serving, partitions)
    while True:
        applied = sum(c.run_until_caught_up() for c in consumers)
        if not applied and _at_the_end(log, kv):
            break
        if not applied:
            time.sleep(0.01)
    log.close()
    kv.close()


def _staged(
    events: list[Event], serving: ServingModel, root: Path, single_cpu_s: float
) -> dict[str, Any]:
    source = root / "source.db"
    runs = {name: root / name for name in ("one", "two", "single")}
    for directory in runs.values():
        directory.mkdir()
        shutil.copy(source, directory / "log.db")
    start = time.process_time()
    _run_stages(runs["one"], serving, [0, 1, 2, 3])
    one_cpu_s = time.process_time() - start
    log = SqliteEventLog(runs["one"] / "log.db")
    sent = sum(log.end_offsets().values()) - len(events)
    log.close()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_run_stages, args=(runs["two"], serving, partitions))
        for partitions in ([0, 2], [1, 3])
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    two_wall_s = time.perf_counter() - start
    log = SqliteEventLog(runs["single"] / "log.db")
    kv = SqliteKeyValueStore(runs["single"] / "state.db")
    engine = FraudEngine(log, kv, Scorer(load_default_rules(), FixedModel(serving)))
    start = time.perf_counter()
    Consumer(log, engine, batch_size=20_000, commit_interval_s=10.0).run_until_caught_up()
    single_wall_s = time.perf_counter() - start
    kv.close()
    log.close()
    return {
        "events": len(events),
        "hops_and_labels_sent": sent,
        "one_process_cpu_s": round(one_cpu_s, 2),
        "one_process_events_per_s": round(len(events) / one_cpu_s),
        "ratio_to_single_engine": round(single_cpu_s / one_cpu_s, 3),
        "two_processes_wall_s": round(two_wall_s, 2),
        "baseline_single_engine_wall_s": round(single_wall_s, 2),
        "speedup_over_single_engine": round(single_wall_s / two_wall_s, 2),
    }


def _live(events: list[Event], serving: ServingModel) -> dict[str, Any]:
    """Fold the first two thirds, then time each of the next transactions scored alone."""
    cut = len(events) * 2 // 3
    state = FraudState()
    for event in events[:cut]:
        state.fold(event)
    rules, policy, model = load_default_rules(), DecisionPolicy(), serving.model
    full: list[float] = []
    features_only: list[float] = []
    alerts = 0
    for event in events[cut:]:
        if len(full) >= LIVE_SAMPLE:
            break
        if not is_scored(event):
            state.fold(event)
            continue
        customer = state.customer(event.subject_id)
        t0 = time.perf_counter()
        features_at(customer, event, state.entities)
        t1 = time.perf_counter()
        features = features_at(customer, event, state.entities)
        row = feature_matrix([features], model.feature_names)
        score = float(model.predict(row)[0])
        decision = decide(policy, rules.evaluate(features), score)
        if decision.alert:
            alerts += 1
            model.top_factors(model.contributions(row)[0])
        t2 = time.perf_counter()
        state.fold(event)
        features_only.append((t1 - t0) * 1e6)
        full.append((t2 - t1) * 1e6)

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98]

    return {
        "transactions": len(full),
        "alerts": alerts,
        "p50_us": round(statistics.median(full), 1),
        "p99_us": round(p99(full), 1),
        "max_us": round(max(full), 1),
        "baseline_features_p99_us": round(p99(features_only), 1),
        "ratio_p99_to_features": round(p99(full) / p99(features_only), 2),
        "target_p99_us": TARGET_LIVE_P99_US,
        "meets_target": p99(full) < TARGET_LIVE_P99_US,
    }


def run(events: list[Event]) -> dict[str, Any]:
    serving = _train(events)
    history = _history(events, serving)
    with tempfile.TemporaryDirectory() as tmp:
        consumer = _consumer(events, serving, Path(tmp))
        staged = _staged(events, serving, Path(tmp), consumer["cpu_s"])
    return {
        "name": "fraud_scoring",
        "history": history,
        "consumer": consumer,
        "staged": staged,
        "live": _live(events, serving),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fraud_scoring")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(simulated_events(args.events, args.customers)), indent=2))


if __name__ == "__main__":
    main()
