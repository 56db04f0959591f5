"""How well the fraud engine catches the simulator's frauds: the demo bank, scored as it goes.

``python -m bench.fraud_quality [--customers 2000] [--train-days 30] [--test-days 15]
[--seed 42] [--scores OUT.csv]`` builds the demo's bank (``banktwin demo``'s defaults) with
``train-days + test-days`` of history at the bank's natural pace, trains the model as the demo
does on the first ``train-days`` (labels as known then, the last label delay left out), and
scores every debit of the next ``test-days`` exactly as the live engine would (features as of
each transaction, the default rules, the model, the default threshold). It compares the alerts
with the simulator's ground truth and prints JSON:

- precision of the alerts, and alerts per day;
- recall per scenario, by transaction (fraudulent debits alerted) and by incident (incidents
  with at least one alerted debit: an analyst who sees one stops the card);
- average precision and ROC AUC of the blended score, and card precision@100 per day;
- the same for the rules alone and the model alone, to show what each adds.

``--scores`` writes ``transaction_id,day,card,score,alert,label,scenario`` for every test debit,
so anyone can recompute these figures. Accuracy is not reported: with fraud under 1 % of debits,
a model that never alerts is 99 % accurate.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from banktwin.fraud.decision import DecisionPolicy, blend, decide
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.metrics import average_precision, card_precision_at_k, roc_auc
from banktwin.fraud.rules import load_default_rules
from banktwin.fraud.training import fold_history, train_on_history
from banktwin.fraud.windows import DAY, to_micros
from banktwin.log.memory import InMemoryEventLog
from banktwin.sim import GroundTruthStore, SimConfig, Simulation

END = datetime(2025, 9, 15, 0, 0, tzinfo=UTC)


def _bank(customers: int, days: int, seed: int, truth: GroundTruthStore) -> InMemoryEventLog:
    log = InMemoryEventLog(4)
    sim = Simulation(SimConfig(customers=customers, seed=seed, history_days=days), truth)
    for batch in sim.backfill(end=END, batch_size=20_000):
        log.append(batch)
    return log


def _ground_truth(truth: GroundTruthStore) -> dict[str, tuple[str, str]]:
    """Each fraudulent transaction's scenario and incident."""
    return {
        label.transaction_id: (str(label.scenario), label.scenario_instance_id)
        for label in truth.labels()
        if label.transaction_id is not None and str(label.role) == "fraud"
    }


def _quality(
    scores: np.ndarray,
    alerts: np.ndarray,
    labels: np.ndarray,
    days: np.ndarray,
    cards: list[str],
    span_days: float,
) -> dict[str, float]:
    n_alerts = int(alerts.sum())
    caught = int((alerts & (labels > 0)).sum())
    return {
        "alerts": n_alerts,
        "alerts_per_day": round(n_alerts / span_days, 1),
        "precision": round(caught / n_alerts, 4) if n_alerts else float("nan"),
        "recall": round(caught / int(labels.sum()), 4) if labels.sum() else float("nan"),
        "average_precision": round(average_precision(labels, scores), 4),
        "roc_auc": round(roc_auc(labels, scores), 4),
        "card_precision_at_100": round(
            card_precision_at_k(list(days), cards, labels, scores, k=100), 4
        ),
    }


def run(
    customers: int, train_days: int, test_days: int, seed: int, scores_out: Path | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        truth = GroundTruthStore(Path(tmp) / "truth.db")
        log = _bank(customers, train_days + test_days, seed, truth)
        frauds = _ground_truth(truth)
        truth.close()
    history = fold_history(log)
    cutoff = to_micros(END - timedelta(days=test_days))
    model = train_on_history(history, cutoff=cutoff).model
    rules, policy = load_default_rules(), DecisionPolicy()
    times = np.asarray(history.times)
    test = np.flatnonzero(times >= cutoff)
    rows = np.asarray(history.rows)[test]
    model_scores = model.predict(rows)
    ids = [history.transaction_ids[i] for i in test]
    names = list(FEATURE_NAMES)
    blended, rules_only, alerted, rules_alerted = [], [], [], []
    for row, model_score in zip(rows, model_scores, strict=True):
        outcome = rules.evaluate(dict(zip(names, row.tolist(), strict=True)))
        blended.append(blend(float(model_score), outcome.score))
        rules_only.append(outcome.score)
        alerted.append(decide(policy, outcome, float(model_score)).alert)
        rules_alerted.append(decide(policy, outcome, None).alert)
    labels = np.asarray([1.0 if t in frauds else 0.0 for t in ids])
    days = (times[test] - cutoff) // DAY
    cards = [history.cards[i] for i in test]
    alerts = np.asarray(alerted)
    rules_alerts = np.asarray(rules_alerted)
    result: dict[str, Any] = {
        "name": "fraud_quality",
        "bank": {
            "customers": customers,
            "seed": seed,
            "train_days": train_days,
            "test_days": test_days,
        },
        "test_debits": len(ids),
        "test_frauds": int(labels.sum()),
        "engine": _quality(np.asarray(blended), alerts, labels, days, cards, test_days),
        "rules_alone": _quality(
            np.asarray(rules_only), rules_alerts, labels, days, cards, test_days
        ),
        "model_alone": _quality(
            model_scores, model_scores >= policy.alert_threshold, labels, days, cards, test_days
        ),
        "recall_by_scenario": _by_scenario(ids, alerts, frauds),
    }
    if scores_out is not None:
        with scores_out.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["transaction_id", "day", "card", "score", "alert", "label", "scenario"])
            for i, t in enumerate(ids):
                scenario = frauds.get(t, ("", ""))[0]
                out.writerow(
                    [
                        t,
                        int(days[i]),
                        cards[i],
                        f"{blended[i]:.6f}",
                        int(alerts[i]),
                        int(labels[i]),
                        scenario,
                    ]
                )
    return result


def _by_scenario(
    ids: list[str], alerts: np.ndarray, frauds: dict[str, tuple[str, str]]
) -> dict[str, dict[str, float]]:
    per: dict[str, list[bool]] = defaultdict(list)
    incidents: dict[str, dict[str, bool]] = defaultdict(dict)
    for t, alerted in zip(ids, alerts, strict=True):
        found = frauds.get(t)
        if found is None:
            continue
        scenario, incident = found
        per[scenario].append(bool(alerted))
        incidents[scenario][incident] = incidents[scenario].get(incident, False) or bool(alerted)
    return {
        scenario: {
            "fraud_debits": len(flags),
            "recall_debits": round(sum(flags) / len(flags), 4),
            "incidents": len(incidents[scenario]),
            "recall_incidents": round(
                sum(incidents[scenario].values()) / len(incidents[scenario]), 4
            ),
        }
        for scenario, flags in sorted(per.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fraud_quality")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--train-days", type=int, default=30)
    parser.add_argument("--test-days", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scores", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.customers, args.train_days, args.test_days, args.seed, args.scores)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
