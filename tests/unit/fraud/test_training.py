"""Training on the log's history: labels as known at the cutoff, the label delay left out, a
validation out of time, and a challenger compared with the champion on debits neither saw."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from banktwin.fraud.training import (
    MIN_POSITIVES,
    History,
    NotEnoughHistoryError,
    compare_with_champion,
    fold_history,
    train_on_history,
    validation_split,
)
from banktwin.fraud.windows import to_micros
from banktwin.log.memory import InMemoryEventLog
from banktwin.sim import SimConfig, Simulation

END = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def history() -> History:
    log = InMemoryEventLog(4)
    sim = Simulation(SimConfig(customers=300, seed=5, history_days=45))
    for batch in sim.backfill(end=END, batch_size=20_000):
        log.append(batch)
    return fold_history(log)


def test_a_fold_records_every_debit_once_with_its_card_and_every_report(history: History) -> None:
    assert len(history.rows) == len(history.times) == len(history.cards)
    assert len(set(history.transaction_ids)) == len(history.transaction_ids)
    assert history.reports and history.newest <= to_micros(END)


def test_labels_are_the_reports_known_by_the_moment_asked(history: History) -> None:
    earliest = min(history.reports.values())
    assert history.labels_known_by(earliest - 1).sum() == 0
    assert history.labels_known_by(history.newest).sum() == sum(
        1 for t in history.transaction_ids if t in history.reports
    )


def test_validation_leaves_a_label_delay_between_its_training_and_its_debits(
    history: History,
) -> None:
    train, test = validation_split(history)
    times = np.asarray(history.times)
    delay = history.state.config.label_delay
    assert train.any() and test.any() and not (train & test).any()
    assert times[train].max() < times[test].min() - delay  # a gap of one label delay
    assert times[test].max() < history.newest - delay  # the immature debits are left out


def test_a_model_is_trained_with_its_validation_and_a_challenger_is_compared_fairly(
    history: History,
) -> None:
    result = train_on_history(history, kind="logistic")
    assert result.metrics["train_positives"] >= MIN_POSITIVES
    assert 0.0 <= result.metrics["validation_average_precision"] <= 1.0
    assert result.window[1] == history.newest - history.state.config.label_delay
    assert result.validation_model is not None
    start_of_test = int(np.asarray(history.times)[validation_split(history)[1]].min())
    # A champion trained on everything has seen the validation debits: none are left to judge.
    seen_all = compare_with_champion(history, result, result.model, result.window[1])
    assert seen_all is not None and seen_all.debits == 0 and not seen_all.challenger_wins
    # Against itself on unseen debits, the challenger wins its tie.
    itself = compare_with_champion(history, result, result.validation_model, start_of_test)
    assert itself is not None and itself.frauds >= 1
    assert itself.challenger == itself.champion


def test_too_little_history_is_refused_with_the_counts() -> None:
    log = InMemoryEventLog(1)
    sim = Simulation(SimConfig(customers=20, seed=5, history_days=3))
    for batch in sim.backfill(end=END):
        log.append(batch)
    with pytest.raises(NotEnoughHistoryError, match="need at least"):
        train_on_history(fold_history(log))
