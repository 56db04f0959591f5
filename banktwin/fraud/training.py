"""Training the fraud model on the log's own history, leak-free.

:func:`fold_history` folds every event of the log, in time order, through the engine's own
state (:class:`~banktwin.fraud.engine.FraudState`), recording each debit's features as of its
own time (computed in columns: :mod:`banktwin.fraud.columnar`) and every fraud report's known
time. The state it ends
with is the engine's state at the log's end: the demo starts the live engine from it.

:func:`train_on_history` trains as of a cutoff (the newest event, by default) on what was
known then:

- a transaction is a positive when a report of it was known by the cutoff;
- transactions of the last ``label_delay`` before the cutoff are left out (their reports have
  not had time to arrive: counting them as genuine would teach the model that fraud is rare
  exactly where it is fresh);
- the model's quality is measured out of time, as the fraud-detection handbook's protocol
  does: a model trained on the mature rows before ``split - label_delay`` is scored on the
  rows from ``split`` to ``cutoff - label_delay`` (a gap of one label delay between them, so
  no incident spans both), all labelled as known at the cutoff. Average precision and ROC AUC
  are reported, not accuracy (fraud is well under 1 % of transactions). The validation
  model's labels are the cutoff's, not the split's: with reports weeks late, the labels
  known at the split would leave a month of history almost unlabelled; it makes the
  measure a little optimistic about how much was known, never about the features.

The model registered is then trained on every mature row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from banktwin.domain.events import Event
from banktwin.fraud.columnar import history_features
from banktwin.fraud.engine import FraudState
from banktwin.fraud.entities import EntityBook
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.history import in_time_order
from banktwin.fraud.metrics import average_precision, precision_recall_at, roc_auc
from banktwin.fraud.model import FraudModel, train_model
from banktwin.fraud.windows import DEFAULT_CONFIG, FeatureConfig, to_micros
from banktwin.log.port import EventLog

VALIDATION_SPLIT = 0.6
"""Where in the mature window validation starts (the last 40 % of it is scored)."""
MIN_POSITIVES = 5
"""Fewer known frauds than this and there is nothing to learn from: training refuses."""


@dataclass
class History:
    """The log folded: the engine's state at its end, each debit's features as of its own
    time, and when each reported transaction became known as fraud."""

    state: FraudState
    end: dict[int, int]
    transaction_ids: list[str] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    """Each debit's ``occurredAt`` (µs), parallel to ``transaction_ids`` and ``rows``."""
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURE_NAMES))))
    """Each debit's features, columns in ``FEATURE_NAMES`` order."""
    cards: list[str] = field(default_factory=list)
    """Each debit's card token, or its customer's id without a card (what card precision
    ranks: the instrument a fraud compromises)."""
    reports: dict[str, int] = field(default_factory=dict)
    newest: int = 0

    def labels_known_by(self, moment: int) -> np.ndarray:
        """1 for each debit reported as fraud by ``moment``, else 0."""
        reports = self.reports
        return np.fromiter(
            (
                1.0 if (known := reports.get(t)) is not None and known <= moment else 0.0
                for t in self.transaction_ids
            ),
            dtype=np.float64,
            count=len(self.transaction_ids),
        )


def fold_history(
    log: EventLog,
    config: FeatureConfig = DEFAULT_CONFIG,
    on_progress: Callable[[int], None] | None = None,
) -> History:
    """Fold the whole log, recording the features of every debit (see the module).

    The features come from :func:`~banktwin.fraud.columnar.history_features`, the same
    numbers ``features_at`` gives each debit as of its own time, computed in columns while
    the events stream past (only the columns are kept, not the events)."""
    end = log.end_offsets()
    state = FraudState(config, entities=EntityBook(config))
    history = History(state, end)

    def events() -> Iterator[Event]:
        count = 0
        for logged in in_time_order(log, None, end):
            event = logged.event
            at = to_micros(event.occurred_at)
            if at > history.newest:
                history.newest = at
            if event.type == "fraud.reported":
                transaction_id = event.payload.transaction_id  # type: ignore[attr-defined]
                known = history.reports.get(transaction_id)
                history.reports[transaction_id] = at if known is None else min(known, at)
            state.fold(event)
            yield event
            count += 1
            if on_progress is not None and count % 10_000 == 0:
                on_progress(10_000)
        if on_progress is not None:
            on_progress(count % 10_000)

    debits = history_features(events(), config)
    history.transaction_ids = debits.transaction_ids
    history.cards = debits.instruments
    history.times = debits.times
    history.rows = debits.matrix
    return history


@dataclass(frozen=True)
class TrainingResult:
    """A trained model with what the registry records about it."""

    model: FraudModel
    metrics: dict[str, float]
    params: dict[str, str | int | float]
    window: tuple[int, int]
    """The transactions it was trained on: ``[start, end)`` in µs."""
    data_hash: str
    validation_model: FraudModel | None = None
    """The same recipe trained only on the rows before the validation split: what a
    challenger is compared with the champion by (:func:`compare_with_champion`)."""


class NotEnoughHistoryError(ValueError):
    """The history holds too few mature, labelled transactions to train on."""


def _data_hash(ids: list[str], rows: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update("\n".join(ids).encode())
    digest.update(np.ascontiguousarray(rows).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def train_on_history(
    history: History,
    *,
    cutoff: int | None = None,
    kind: str = "lightgbm",
    seed: int = 0,
    threshold: float = 0.5,
) -> TrainingResult:
    """Train as of ``cutoff`` (default: the newest event) on what was known then.

    Raises:
        NotEnoughHistoryError: fewer than :data:`MIN_POSITIVES` known frauds among mature rows.
    """
    delay = history.state.config.label_delay
    cutoff = history.newest if cutoff is None else cutoff
    times = np.asarray(history.times, dtype=np.int64)
    rows = history.rows
    mature = times < cutoff - delay
    labels = history.labels_known_by(cutoff)
    if int(labels[mature].sum()) < MIN_POSITIVES:
        raise NotEnoughHistoryError(
            f"{int(labels[mature].sum())} known frauds among {int(mature.sum())} transactions "
            f"older than the label delay: need at least {MIN_POSITIVES} to train"
        )
    start = int(times[mature].min())
    end = cutoff - delay
    metrics, validation_model = _validate(history, rows, cutoff, kind, seed, threshold)
    ids = [t for t, keep in zip(history.transaction_ids, mature, strict=True) if keep]
    model = train_model(rows[mature], labels[mature], FEATURE_NAMES, kind=kind, seed=seed)
    metrics |= {
        "train_rows": float(mature.sum()),
        "train_positives": float(labels[mature].sum()),
    }
    params: dict[str, str | int | float] = {
        "kind": kind,
        "seed": seed,
        "label_delay_days": delay / 86_400_000_000,
        "threshold": threshold,
    }
    return TrainingResult(
        model,
        metrics,
        params,
        (start, end),
        _data_hash(ids, rows[mature], labels[mature]),
        validation_model,
    )


def validation_split(history: History, cutoff: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows a validation model trains on and the rows it is scored on (boolean masks over
    ``history``'s debits; see the module)."""
    delay = history.state.config.label_delay
    cutoff = history.newest if cutoff is None else cutoff
    times = np.asarray(history.times, dtype=np.int64)
    end = cutoff - delay
    mature = times < end
    start = int(times[mature].min()) if mature.any() else end
    split = start + int((end - start) * VALIDATION_SPLIT)
    return times < split - delay, (times >= split) & (times < end)


@dataclass(frozen=True)
class Comparison:
    """A challenger against the champion on debits neither has learned from."""

    challenger: float
    champion: float
    debits: int
    frauds: int

    @property
    def challenger_wins(self) -> bool:
        """At least as good, on at least :data:`MIN_POSITIVES` frauds (fewer decide nothing)."""
        return self.frauds >= MIN_POSITIVES and self.challenger >= self.champion


def compare_with_champion(
    history: History,
    result: TrainingResult,
    champion: FraudModel,
    champion_trained_until: int,
    cutoff: int | None = None,
) -> Comparison | None:
    """Average precision of the challenger's validation model and of the champion on the
    validation debits that came after the champion's training window (labels as known at the
    cutoff): debits neither model learned from. ``None`` without a validation model."""
    if result.validation_model is None:
        return None
    cutoff = history.newest if cutoff is None else cutoff
    _, test = validation_split(history, cutoff)
    unseen = test & (np.asarray(history.times, dtype=np.int64) >= champion_trained_until)
    labels = history.labels_known_by(cutoff)[unseen]
    rows = np.asarray(history.rows)[unseen]
    if not labels.sum():
        return Comparison(float("nan"), float("nan"), int(unseen.sum()), 0)
    return Comparison(
        average_precision(labels, result.validation_model.predict(rows)),
        average_precision(labels, champion.predict(rows)),
        int(unseen.sum()),
        int(labels.sum()),
    )


def _validate(
    history: History,
    rows: np.ndarray,
    cutoff: int,
    kind: str,
    seed: int,
    threshold: float,
) -> tuple[dict[str, float], FraudModel | None]:
    """Score the last part of the mature window with a model trained before it (see module);
    returns the metrics and that model."""
    train, test = validation_split(history, cutoff)
    labels = history.labels_known_by(cutoff)
    train_labels, test_labels = labels[train], labels[test]
    if train_labels.sum() < MIN_POSITIVES or test_labels.sum() < 1:
        return {}, None
    model = train_model(rows[train], train_labels, FEATURE_NAMES, kind=kind, seed=seed)
    scores = model.predict(rows[test])
    precision, recall = precision_recall_at(test_labels, scores, threshold)
    measured = {
        "validation_average_precision": average_precision(test_labels, scores),
        "validation_roc_auc": roc_auc(test_labels, scores),
        "validation_precision": precision,
        "validation_recall": recall,
        "validation_rows": float(test.sum()),
        "validation_positives": float(test_labels.sum()),
    }
    # Precision is undefined when nothing reaches the threshold: left out, not recorded as 0.
    return {k: float(v) for k, v in measured.items() if np.isfinite(v)}, model
