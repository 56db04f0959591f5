"""Backtest a fraud model on a labelled transaction table: train on one window, score another.

The protocol (``docs/fraud-backtest.md``):

- **Features** come from replaying the table through the engine's own feature code
  (:mod:`banktwin.fraud.backtest_replay`), leak-free: a row's features use only events
  before it and labels known by then.
- **A label is usable** ``delay`` after its report (``usable_times``): after the
  ``label_time`` when the table gives it, else after the transaction itself. The same rule
  holds for the features, for training and for the cards known compromised.
- **Training** uses the rows of the train window ``[start, end)`` that are at least ``delay``
  old at its end (a transaction with no report by then is taken as genuine), labelled as the
  bank knew them at the end: fraud if usable by then. Nothing of the test window is used.
- **Testing** scores every transaction of the test window; metrics leave out the
  transactions of cards already known compromised that day, as the handbook does: a fraud of
  the card since a week before ``test start - delay``, usable before the day began (the card
  would be blocked).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import numpy as np

from banktwin.fraud import metrics
from banktwin.fraud.backtest_replay import replay_features, report_times
from banktwin.fraud.backtest_table import BacktestInputError, TransactionTable
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.model import KINDS, FraudModel, train_model
from banktwin.fraud.windows import DAY, FeatureConfig

BASELINE: Final = "logistic"
KNOWN_LOOKBACK: Final = 7 * DAY
"""Cards known compromised are found among the frauds from ``KNOWN_LOOKBACK`` before the
delay that precedes the test window on: the handbook's week of training (train 7 days, delay
7 days, test 7 days). A card found long before has been replaced since."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in µs since the epoch, UTC, and how it was written."""

    start: int
    end: int
    text: str

    @classmethod
    def parse(cls, text: str, option: str) -> Window:
        """``START..END``: ISO dates or date-times (UTC unless an offset is given); a date as
        END includes that whole day."""
        first, sep, last = text.partition("..")
        if not sep or not first.strip() or not last.strip():
            raise BacktestInputError(
                f"{option}: {text!r} is not START..END (e.g. 2018-07-25..2018-08-07)"
            )
        start = _instant(first.strip(), option, end=False)
        end = _instant(last.strip(), option, end=True)
        if end <= start:
            raise BacktestInputError(f"{option}: {text!r} ends before it starts")
        return cls(start, end, text)

    def iso(self) -> dict[str, str]:
        return {"start": _iso(self.start), "end": _iso(self.end)}


def _instant(text: str, option: str, *, end: bool) -> int:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise BacktestInputError(
            f"{option}: {text!r} is not an ISO date or date-time (2018-07-25, 2018-07-25T12:00:00Z)"
        ) from None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _iso(micros: int) -> str:
    return (_EPOCH + timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """What to backtest. ``model`` is the model under test; the logistic baseline is always
    reported beside it."""

    train: Window
    test: Window
    delay_days: int = 7
    model: str = "lightgbm"
    threshold: float = 0.5
    top_k: int = 100
    seed: int = 0

    def check(self) -> None:
        if self.test.start < self.train.end:
            raise BacktestInputError(
                f"--test: {self.test.text} starts before --train {self.train.text} ends; "
                "the test window must come after the train window"
            )
        if self.delay_days < 1:
            raise BacktestInputError("--delay-days: give at least 1 day")
        if self.model not in KINDS:
            raise BacktestInputError(f"--model: use one of {', '.join(KINDS)}")

    @property
    def delay(self) -> int:
        return self.delay_days * DAY


@dataclass(slots=True)
class BacktestResult:
    """Metrics per model, the counts behind them, the trained models, and the test scores of
    the model under test (``test_rows`` index the table; ``known_compromised`` flags the rows
    the metrics leave out)."""

    spec: BacktestSpec
    counts: dict[str, int]
    models: dict[str, dict[str, float]]
    timings: dict[str, float]
    test_rows: np.ndarray
    scores: np.ndarray
    known_compromised: np.ndarray
    trained: dict[str, FraudModel]

    def to_json(self) -> dict[str, Any]:
        """The metrics as JSON-ready data (undefined metrics as ``None``)."""
        spec = self.spec
        return {
            "train": spec.train.iso(),
            "test": spec.test.iso(),
            "delay_days": spec.delay_days,
            "model": spec.model,
            "threshold": spec.threshold,
            "top_k": spec.top_k,
            "seed": spec.seed,
            "rows": dict(self.counts),
            "models": {
                kind: {name: _finite(value) for name, value in values.items()}
                for kind, values in self.models.items()
            },
            "timings_s": {name: round(value, 2) for name, value in self.timings.items()},
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def usable_times(table: TransactionTable, delay: int) -> np.ndarray:
    """When each fraud's label becomes usable (µs): ``delay`` after its report; -1 for a
    genuine row."""
    reported = report_times(table)
    return np.where(reported >= 0, reported + delay, -1)


def run_backtest(
    table: TransactionTable,
    spec: BacktestSpec,
    *,
    on_replay: Callable[[int], Progress | None] | None = None,
) -> BacktestResult:
    """Train on the train window, score the test window, measure.

    Args:
        table: the labelled transactions.
        spec: windows, delay, models, threshold.
        on_replay: given the number of rows to replay, returns the progress callback.

    Raises:
        BacktestInputError: a window holds no usable rows (named by its option).
    """
    spec.check()
    timings: dict[str, float] = {}
    times = table.times
    usable = usable_times(table, spec.delay)
    fraud = table.labels
    in_train = (times >= spec.train.start) & (times < spec.train.end)
    train = in_train & (times + spec.delay <= spec.train.end)
    train_labels = fraud & (usable >= 0) & (usable <= spec.train.end)
    test = (times >= spec.test.start) & (times < spec.test.end)
    _check_windows(table, spec, in_train, train, train_labels, test)

    scored = train | test
    replayed = int((times < spec.test.end).sum())
    began = time.perf_counter()
    progress = on_replay(replayed) if on_replay is not None else None
    config = FeatureConfig(label_delay=spec.delay)
    rows = replay_features(table, scored, config, spec.test.end, progress)
    timings["features"] = time.perf_counter() - began
    scored_rows = np.flatnonzero(scored)
    train_part = train[scored_rows]
    x_train, y_train = rows[train_part], train_labels[scored_rows][train_part]
    x_test = rows[~train_part]
    test_rows = scored_rows[~train_part]

    days = times[test_rows] // DAY
    cards = _card_keys(table)
    since = spec.test.start - spec.delay - KNOWN_LOOKBACK
    first_known = _first_known_days(cards, usable, fraud & (times >= since))
    known = first_known[cards[test_rows]] <= days
    kept = ~known
    labels = fraud[test_rows][kept]
    kinds = [spec.model] + ([BASELINE] if spec.model != BASELINE else [])
    models: dict[str, dict[str, float]] = {}
    all_scores: dict[str, np.ndarray] = {}
    trained: dict[str, FraudModel] = {}
    for kind in kinds:
        began = time.perf_counter()
        model = train_model(x_train, y_train, FEATURE_NAMES, kind=kind, seed=spec.seed)
        timings[f"train_{kind}"] = time.perf_counter() - began
        trained[kind] = model
        began = time.perf_counter()
        scores = model.predict(x_test)
        timings[f"score_{kind}"] = time.perf_counter() - began
        all_scores[kind] = scores
        models[kind] = _measure(days[kept], cards[test_rows][kept], labels, scores[kept], spec)
    counts = {
        "read": len(table),
        "replayed": replayed,
        "train": int(train.sum()),
        "train_frauds": int(y_train.sum()),
        "train_not_yet_labelled": int((in_train & ~train).sum()),
        "test": int(test.sum()),
        "test_frauds": int(fraud[test_rows].sum()),
        "known_compromised": int(known.sum()),
        "evaluated": int(kept.sum()),
        "evaluated_frauds": int(labels.sum()),
        "test_days": int(np.unique(days).size),
    }
    return BacktestResult(
        spec=spec,
        counts=counts,
        models=models,
        timings=timings,
        test_rows=test_rows,
        scores=all_scores[spec.model],
        known_compromised=known,
        trained=trained,
    )


def _check_windows(
    table: TransactionTable,
    spec: BacktestSpec,
    in_train: np.ndarray,
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
) -> None:
    span = f"the table runs from {_iso(int(table.times.min()))} to {_iso(int(table.times.max()))}"
    if not in_train.any():
        raise BacktestInputError(f"--train: no transaction in {spec.train.text} ({span})")
    if not train.any():
        raise BacktestInputError(
            f"--train: no transaction of {spec.train.text} is {spec.delay_days} days old at "
            "its end, so none is labelled yet: widen --train or lower --delay-days"
        )
    frauds = int((train & train_labels).sum())
    if frauds == 0 or frauds == int(train.sum()):
        what = "no fraud" if frauds == 0 else "only frauds"
        raise BacktestInputError(
            f"--train: {spec.train.text} has {what} among its {int(train.sum()):,} labelled "
            "transactions; a model needs both: widen --train"
        )
    if not test.any():
        raise BacktestInputError(f"--test: no transaction in {spec.test.text} ({span})")


def _card_keys(table: TransactionTable) -> np.ndarray:
    """Each row's card for card precision: its card, else its customer (codes made
    distinct from the cards')."""
    if table.cards is None:
        return table.customers
    offset = int(table.cards.max()) + 1
    return np.where(table.cards >= 0, table.cards, offset + table.customers)


def _first_known_days(cards: np.ndarray, usable: np.ndarray, fraud: np.ndarray) -> np.ndarray:
    """Per card key, the first day (days since the epoch) it is known compromised: the day
    after the first of its ``fraud`` rows became usable. A card never known gets a day past
    any."""
    first = np.full(int(cards.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    frauds = np.flatnonzero(fraud)
    np.minimum.at(first, cards[frauds], usable[frauds] // DAY + 1)
    return first


def _measure(
    days: np.ndarray,
    cards: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    spec: BacktestSpec,
) -> dict[str, float]:
    precision, recall = metrics.precision_recall_at(labels, scores, spec.threshold)
    return {
        "roc_auc": metrics.roc_auc(labels, scores),
        "average_precision": metrics.average_precision(labels, scores),
        f"card_precision_at_{spec.top_k}": metrics.card_precision_at_k(
            days, cards, labels, scores, spec.top_k
        ),
        "precision": precision,
        "recall": recall,
        "alerts_per_day": metrics.alerts_per_day(days, scores, spec.threshold),
    }
