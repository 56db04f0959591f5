"""The risk model's speed: scoring one customer in process, and the engine over a log.

``python -m bench.risk_scoring [--customers 2000] [--days 30]`` simulates the demo's bank,
trains the risk model on its history as the demo does (both candidates, the better kept),
then measures in one run:

- **one customer**: a customer's features as of a moment (from the facts the engine keeps),
  the model's calibrated probability and its three top factors: what the engine does for each
  score, timed alone for 5,000 customer-moments; p50, p99 and max in microseconds; the target
  is p99 under 5 ms. The baseline is the features alone on the same customer-moments
  (``ratio_p99_to_features``).
- **engine**: the risk engine as a consumer over the history in memory (folding every event,
  scoring daily and after what moves credit risk, counting drift), in events per second of
  CPU, against folding the same events into the facts without scoring (``ratio_to_fold``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from banktwin.consumers.consumer import Consumer
from banktwin.domain.events import Event
from banktwin.log.memory import InMemoryEventLog
from banktwin.registry.champion import Served
from banktwin.risk.customer_facts import RiskBook
from banktwin.risk.engine import RiskEngine, as_columns, top_factors
from banktwin.risk.features import features_as_of
from banktwin.risk.model import RiskModel
from banktwin.risk.twin_training import train_on_twin, twin_table
from banktwin.sim import SimConfig, Simulation
from banktwin.store.kv_memory import InMemoryKeyValueStore

END = datetime(2026, 3, 2, tzinfo=UTC)
TARGET_P99_US = 5_000
SAMPLE = 5_000


class _Fixed:
    def __init__(self, model: RiskModel) -> None:
        self._serving = Served(model, "RiskScore/bench")

    def current(self) -> Served[RiskModel]:
        return self._serving

    def refresh_now(self) -> Served[RiskModel]:
        return self._serving


def _bank(customers: int, days: int) -> InMemoryEventLog:
    log = InMemoryEventLog(4)
    sim = Simulation(SimConfig(customers=customers, seed=42, history_days=days))
    for batch in sim.backfill(end=END, batch_size=20_000):
        log.append(batch)
    return log


def _events(log: InMemoryEventLog) -> list[Event]:
    return [e.event for p in range(log.partitions) for e in log.read(p, 0, 10**9)]


def _one_customer(events: list[Event], model: RiskModel) -> dict[str, Any]:
    book = RiskBook()
    for event in events:
        book.fold(event)
    customers = sorted(book.customers)
    moments = [END - timedelta(hours=h) for h in range(0, 48, 6)]
    pairs = [(customers[i % len(customers)], moments[i % len(moments)]) for i in range(SAMPLE)]
    whole: list[float] = []
    features_only: list[float] = []
    for customer, moment in pairs:
        facts = book.customer(customer)
        t0 = time.perf_counter()
        features_as_of(facts, moment)
        t1 = time.perf_counter()
        _, contributions = model.predict_with_contributions(
            as_columns([features_as_of(facts, moment)])
        )
        top_factors(model.feature_names, contributions[0, :-1])
        t2 = time.perf_counter()
        features_only.append((t1 - t0) * 1e6)
        whole.append((t2 - t1) * 1e6)

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98]

    return {
        "customer_moments": len(whole),
        "model_kind": model.kind,
        "p50_us": round(statistics.median(whole), 1),
        "p99_us": round(p99(whole), 1),
        "max_us": round(max(whole), 1),
        "baseline_features_p99_us": round(p99(features_only), 1),
        "ratio_p99_to_features": round(p99(whole) / p99(features_only), 2),
        "target_p99_us": TARGET_P99_US,
        "meets_target": p99(whole) < TARGET_P99_US,
    }


def _engine(log: InMemoryEventLog, model: RiskModel) -> dict[str, Any]:
    events = _events(log)
    start = time.process_time()
    book = RiskBook()
    for event in events:
        book.fold(event)
    fold_s = time.process_time() - start
    engine = RiskEngine(log, InMemoryKeyValueStore(), _Fixed(model))
    consumer = Consumer(log, engine, batch_size=5_000)
    start = time.process_time()
    consumer.run_until_caught_up()
    engine_s = time.process_time() - start
    return {
        "events": len(events),
        "cpu_s": round(engine_s, 2),
        "events_per_s": round(len(events) / engine_s),
        "baseline_fold_only_cpu_s": round(fold_s, 2),
        "ratio_to_fold": round(engine_s / fold_s, 2),
    }


def run(customers: int = 2000, days: int = 30) -> dict[str, Any]:
    log = _bank(customers, days)
    started = time.perf_counter()
    training = train_on_twin(twin_table(log))
    trained_s = time.perf_counter() - started
    model = training.trained.model
    return {
        "name": "risk_scoring",
        "bank": {"customers": customers, "days": days, "events": sum(log.end_offsets().values())},
        "training": {
            "rows": len(training.twin.labels),
            "losses": training.twin.positives,
            "kind": model.kind,
            "cv_roc_auc_mean": round(training.trained.metrics["cv_roc_auc_mean"], 4),
            "cv_roc_auc_std": round(training.trained.metrics["cv_roc_auc_std"], 4),
            "wall_s": round(trained_s, 1),
        },
        "one_customer": _one_customer(_events(log), model),
        "engine": _engine(log, model),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.risk_scoring")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.customers, args.days), indent=2))


if __name__ == "__main__":
    main()
