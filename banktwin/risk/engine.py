"""The risk engine: a consumer of the log that keeps every customer's risk score current.

It folds every event into each customer's facts (:class:`~banktwin.risk.customer_facts.
RiskBook`, the code training reads history with) and re-scores a customer when an event
changes what the score depends on, not on every event:

- an event of a type that moves credit risk (:data:`RESCORED_TYPES`: a missed payment, a
  default, a bureau report, an account opened or frozen, a fraud alert, a loan decided …);
- the customer's first event of a new day (UTC, in event time): balances, flows and spending
  drift slowly, so once a day is enough for them. This daily score is as of the day's start
  (midnight UTC), as the training rows are (:mod:`banktwin.risk.twin_table`), so the scores
  drift is measured on are drawn as training drew its rows.

The other triggers score the customer as of their newest event: one dated in the past (an
account opened years ago, recorded today) scores the customer as they are now.

The score is the registry champion's calibrated probability of a loss event within the
horizon (:mod:`banktwin.risk.model`), from the features as of that moment (nothing after it),
with the three features that moved it most as reasons (signed
contributions to the log-odds, and the feature's value). Each score is a ``risk.score_updated``
whose ids are fixed by the triggering event: scoring it again after a crash appends nothing
twice. With no champion yet, the engine folds and scores nothing.

**State.** The facts live in memory, rebuilt on start by folding the log up to the committed
positions without scoring (like a Kafka Streams store restored from its changelog: the log
is the changelog). What the engine concludes is committed with its positions in one
transaction: each customer's last score with the features it was computed from
(``score/<customer>``: what-if reads it) and the day's drift counts.

**Drift.** Every daily score adds its features and its value to its day's counts, binned
with the champion's training reference (:mod:`banktwin.risk.reference`). A day is measured
once every partition has been read a :data:`GRACE` past its end (the watermark: the oldest of
the partitions' newest event times), if it has enough scores to judge
(:data:`~banktwin.risk.drift.MIN_ROWS`): the day's PSI against the reference is computed
(:mod:`banktwin.risk.drift`), kept (``drift/latest``, ``drift/day/<date>``) and appended as a
``model.drift_measured`` event, whose id is fixed by model version and day. The seed's alert
on drift above 10 % reads it (:mod:`banktwin.alerting.measures`).

**Where it runs.** Loan applications are subjects of their own, in other partitions than
their customer's, so the engine reads every partition, in the one process that consumes
partition 0 (as the fraud engine does).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Protocol

import msgspec
import numpy as np

from banktwin.consumers.engine import Checkpoint, nonzero_positions
from banktwin.domain.events import Event, SubjectKind, derived_event_id, new_event
from banktwin.domain.payloads.insight import RiskScoreUpdated, ScoreReason
from banktwin.domain.payloads.loan import LoanSubmitted
from banktwin.domain.payloads.operations import ModelDriftMeasured
from banktwin.fraud.history import in_time_order
from banktwin.log.port import EventLog, LoggedEvent
from banktwin.registry.champion import Served
from banktwin.registry.port import RISK_MODEL
from banktwin.risk.customer_facts import RiskBook
from banktwin.risk.drift import DEFAULT_THRESHOLD, MIN_ROWS, DriftReport, distribution_psi
from banktwin.risk.features import Features, features_as_of
from banktwin.risk.model import RiskModel
from banktwin.risk.names import RISK_CONSUMER
from banktwin.risk.reference import Distribution, ModelReference
from banktwin.store.kv import KeyValueStore, prefix_end

log = logging.getLogger(__name__)

SOURCE: Final = "risk-engine"
SCORE_NAMESPACE: Final = uuid.UUID("8a3c5e0e-5b7d-4a55-9f0c-2f4c3b1d6e21")
DRIFT_NAMESPACE: Final = uuid.UUID("1d5e7f2a-9c4b-4e8d-b3a6-7c0f9e2d4b18")
TOP_FACTORS: Final = 3
RESCORED_TYPES: Final = frozenset(
    {
        "account.opened",
        "account.status_changed",
        "credit.score_received",
        "credit.payment_missed",
        "credit.payment_made",
        "credit.defaulted",
        "credit.charged_off",
        "fraud.alert_raised",
        "fraud.alert_status_changed",
        "fraud.reported",
        "loan.decided",
    }
)
"""Event types after which a customer is scored again at once."""

SCORE_PREFIX: Final = "score/"
DRIFT_COUNTS_PREFIX: Final = "drift/counts/"
GRACE: Final = timedelta(days=1)
"""How long after a day ends every partition must have moved before the day is measured."""
DRIFT_LATEST: Final = "drift/latest"
DRIFT_DAY_PREFIX: Final = "drift/day/"


class RiskModelSource(Protocol):
    """What gives the engine the model to score with (the registry's champion)."""

    def current(self) -> Served[RiskModel] | None:
        """The model for the next batch; ``None``: nothing is scored."""
        ...

    def refresh_now(self) -> Served[RiskModel] | None:
        """The model, looked up at once (a version was just registered here)."""
        ...


class ScoreRecord(msgspec.Struct, frozen=True):
    """A customer's last score, as the engine keeps it (what-if starts from it)."""

    customer_id: str
    score: float
    model_version: str
    scored_at: datetime
    features: dict[str, float | str | None]
    reasons: list[tuple[str, float]]


class DayCounts(msgspec.Struct):
    """One model version's live counts of one day, over its reference's bins (the last
    count of each list is "missing")."""

    model_version: str
    day: date
    rows: int = 0
    score: list[int] = msgspec.field(default_factory=list)
    features: dict[str, list[int]] = msgspec.field(default_factory=dict)


class DriftRecord(msgspec.Struct, frozen=True):
    """One day's drift of one model version: PSI of the score and of each feature."""

    model_name: str
    model_version: str
    day: date
    rows: int
    score_psi: float
    features: dict[str, float]
    worst_input: str
    worst_psi: float
    threshold: float
    drifted: bool


_ENCODER = msgspec.msgpack.Encoder()


@dataclass
class RiskWork:
    """What the engine concluded since its last commit."""

    scores: dict[str, ScoreRecord] = field(default_factory=dict)
    drifts: list[DriftRecord] = field(default_factory=list)
    days_changed: set[date] = field(default_factory=set)
    """Days whose counts changed (written, or deleted once measured)."""
    scored: int = 0


class RiskEngine:
    """Scores customers as their facts change; measures drift (see the module)."""

    def __init__(
        self,
        log: EventLog,
        store: KeyValueStore,
        models: RiskModelSource,
        *,
        drift_threshold: float = DEFAULT_THRESHOLD,
        name: str = RISK_CONSUMER,
    ) -> None:
        self._log = log
        self._store = store
        self._models = models
        self.drift_threshold = drift_threshold
        self._name = name
        self._book: RiskBook | None = None
        self._last_day: dict[str, date] = {}
        """The day of each customer's last daily score."""
        self._latest: dict[str, datetime] = {}
        """Each customer's newest event (of their own: loan applications are elsewhere)."""
        self._loans: dict[str, str] = {}
        """Each loan application's customer."""
        self._days: dict[date, DayCounts] = {}
        """The drift counts of each day not measured yet."""
        self._partition_times: dict[int, datetime] = {}
        """The newest event time read from each partition (the days' watermark)."""
        self._newest: datetime | None = None
        self._applied: dict[int, int] = {}
        self._committed: dict[int, int] | None = None

    @property
    def name(self) -> str:
        return self._name

    def positions(self) -> dict[int, int]:
        return self._store.positions(self._name)

    def begin(self) -> RiskWork:
        committed = self._committed if self._committed is not None else self.positions()
        if self._book is None or nonzero_positions(self._applied) != nonzero_positions(committed):
            self._restore(committed)
        return RiskWork()

    def process(self, work: RiskWork, batch: Sequence[LoggedEvent]) -> list[Event]:
        if self._book is None:
            self._restore(self.positions())
        triggers: list[tuple[str, datetime, bool, str]] = []
        times = self._partition_times
        for logged in batch:
            event = logged.event
            scored = self._fold(event)
            if scored is not None:
                triggers.append((*scored, event.event_id))
            self._applied[logged.partition] = logged.offset + 1
            known = times.get(logged.partition)
            if known is None or event.occurred_at > known:
                times[logged.partition] = event.occurred_at
        serving = self._models.current()
        if serving is None:
            return []
        out = self._score_at(work, serving, triggers) if triggers else []
        out.extend(self._measure_closed_days(work, serving))
        return out

    def commit(self, work: RiskWork, checkpoint: Checkpoint) -> None:
        puts: dict[str, bytes | None] = {
            f"{SCORE_PREFIX}{customer}": _ENCODER.encode(record)
            for customer, record in work.scores.items()
        }
        for day in work.days_changed:
            counts = self._days.get(day)
            key = f"{DRIFT_COUNTS_PREFIX}{day.isoformat()}"
            puts[key] = None if counts is None else _ENCODER.encode(counts)
        for drift in work.drifts:
            encoded = _ENCODER.encode(drift)
            puts[f"{DRIFT_DAY_PREFIX}{drift.model_version}/{drift.day.isoformat()}"] = encoded
            puts[DRIFT_LATEST] = encoded
        try:
            self._store.commit(checkpoint, puts)
        except Exception:
            self._committed = None
            raise
        self._committed = dict(checkpoint.end)

    def reset(self) -> None:
        self._store.reset(self._name)
        self._book = None
        self._applied = {}
        self._committed = None
        self._days = {}
        self._partition_times = {}

    def _fold(self, event: Event) -> tuple[str, datetime, bool] | None:
        """Fold one event; the customer it makes the engine score, as of when, and whether
        it is the daily score (see the module)."""
        book = self._book
        assert book is not None
        book.fold(event)
        if self._newest is None or event.occurred_at > self._newest:
            self._newest = event.occurred_at
        if event.subject_kind is SubjectKind.LOAN:
            payload = event.payload
            if isinstance(payload, LoanSubmitted):
                self._loans[event.subject_id] = payload.customer_id
            customer = self._loans.get(event.subject_id)
            if event.type in RESCORED_TYPES and customer in self._latest:
                return customer, self._latest[customer], False
            return None
        if event.subject_kind is not SubjectKind.CUSTOMER or event.type == "risk.score_updated":
            return None
        customer = event.subject_id
        latest = self._latest.get(customer)
        if latest is None or event.occurred_at > latest:
            latest = self._latest[customer] = event.occurred_at
        day = latest.astimezone(UTC).date()
        last = self._last_day.get(customer)
        if last is None or day > last:
            self._last_day[customer] = day
            return customer, datetime.combine(day, time(), UTC), True
        return (customer, latest, False) if event.type in RESCORED_TYPES else None

    def _score_at(
        self,
        work: RiskWork,
        serving: Served[RiskModel],
        triggers: list[tuple[str, datetime, bool, str]],
    ) -> list[Event]:
        """Score each (customer, moment, daily, cause id); the daily scores are counted for
        drift, by day."""
        book = self._book
        assert book is not None
        model = serving.model
        rows: list[Features] = [
            features_as_of(book.customer(customer), moment) for customer, moment, _, _ in triggers
        ]
        scores, contributions = model.predict_with_contributions(as_columns(rows))
        contributions = contributions[:, :-1]
        out: list[Event] = []
        for i, (customer, moment, _, cause) in enumerate(triggers):
            record = ScoreRecord(
                customer_id=customer,
                score=round(float(scores[i]), 6),
                model_version=serving.version,
                scored_at=moment,
                features=rows[i],
                reasons=top_factors(model.feature_names, contributions[i]),
            )
            work.scores[customer] = record
            out.append(_score_event(record, cause))
        by_day: dict[date, list[int]] = {}
        for i, (_, moment, is_daily, _) in enumerate(triggers):
            if is_daily:
                by_day.setdefault(moment.astimezone(UTC).date(), []).append(i)
        for day, indices in by_day.items():
            self._count(work, serving, day, [rows[i] for i in indices], scores[indices])
        work.scored += len(triggers)
        return out

    def score_everyone(self) -> int:
        """Score every customer the engine knows, as of the newest event folded, and commit
        (the demo, after training a first model on the history folded without one). Returns
        the customers scored; 0 without a champion."""
        serving = self._models.refresh_now()
        work = self.begin()
        book = self._book
        assert book is not None
        if serving is None or not book.customers:
            return 0
        at = self._newest
        if at is None:
            return 0
        cause = f"everyone/{serving.version}/{at.isoformat()}"
        triggers = [
            (customer, at, False, f"{cause}/{customer}") for customer in sorted(book.customers)
        ]
        events = self._score_at(work, serving, triggers)
        self._log.append(events)
        positions = dict(self._committed or {})
        self.commit(work, Checkpoint(self._name, positions, positions))
        return len(triggers)

    def _count(
        self,
        work: RiskWork,
        serving: Served[RiskModel],
        day: date,
        rows: list[Features],
        scores: np.ndarray,
    ) -> None:
        """Add a day's daily scores to its drift counts (a new model version starts over)."""
        counts = self._days.get(day)
        if counts is None or counts.model_version != serving.version:
            counts = self._days[day] = DayCounts(serving.version, day)
        reference = serving.model.reference
        counts.rows += len(rows)
        counts.score = _added(counts.score, reference.score, scores.tolist())
        for name, distribution in reference.features.items():
            values = [row.get(name) for row in rows]
            if distribution.kind == "numeric":
                values = [math.nan if v is None else v for v in values]
            counts.features[name] = _added(counts.features.get(name, []), distribution, values)
        work.days_changed.add(day)

    def _watermark(self) -> datetime | None:
        """The time every partition with events has read past (``None`` until each has
        been read)."""
        ends = self._log.end_offsets()
        times = self._partition_times
        if any(end and p not in times for p, end in ends.items()):
            return None
        return min((times[p] for p, end in ends.items() if end), default=None)

    def _measure_closed_days(self, work: RiskWork, serving: Served[RiskModel]) -> list[Event]:
        """Measure each day every partition has moved a :data:`GRACE` past: its PSI, kept
        and appended; a day of too few scores, or of another model version, is dropped."""
        watermark = self._watermark()
        if watermark is None or not self._days:
            return []
        out: list[Event] = []
        for day in sorted(self._days):
            if datetime.combine(day, time(), UTC) + timedelta(days=1) + GRACE > watermark:
                break
            counts = self._days.pop(day)
            work.days_changed.add(day)
            if counts.rows < MIN_ROWS or counts.model_version != serving.version:
                continue
            report = day_report(counts, serving.model.reference, self.drift_threshold)
            record = DriftRecord(
                model_name=RISK_MODEL,
                model_version=counts.model_version,
                day=counts.day,
                rows=report.rows,
                score_psi=round(report.score, 6),
                features={k: round(v, 6) for k, v in report.features.items()},
                worst_input=report.worst[0],
                worst_psi=round(report.worst[1], 6),
                threshold=report.threshold,
                drifted=report.drifted,
            )
            work.drifts.append(record)
            out.append(_drift_event(record))
        return out

    def _restore(self, committed: Mapping[int, int]) -> None:
        """Fold the log up to the committed positions, scoring nothing; load the day's
        drift counts."""
        self._book = RiskBook()
        self._last_day = {}
        self._latest = {}
        self._loans = {}
        self._newest = None
        self._partition_times = {}
        times = self._partition_times
        folded = 0
        for logged in in_time_order(self._log, None, committed):
            self._fold(logged.event)
            known = times.get(logged.partition)
            if known is None or logged.event.occurred_at > known:
                times[logged.partition] = logged.event.occurred_at
            folded += 1
        if folded:
            log.info("risk engine: folded %d events to restore its facts", folded)
        stored = self._store.scan(self._name, DRIFT_COUNTS_PREFIX, prefix_end(DRIFT_COUNTS_PREFIX))
        self._days = {}
        for _, raw in stored:
            counts = msgspec.msgpack.decode(raw, type=DayCounts)
            self._days[counts.day] = counts
        self._applied = dict(committed)
        self._committed = dict(committed)


def as_columns(rows: Sequence[Features]) -> dict[str, list[float | str | None]]:
    """Feature rows as the columns a model reads (a mapping of lists: for a few rows much
    cheaper than a DataFrame, which costs about a millisecond to build)."""
    names = rows[0].keys() if rows else ()
    return {name: [row[name] for row in rows] for name in names}


def day_report(counts: DayCounts, reference: ModelReference, threshold: float) -> DriftReport:
    """PSI of one day's counts against the training reference."""

    def live(train: Distribution, raw: list[int]) -> Distribution:
        total = max(sum(raw), 1)
        bins = raw[:-1] if raw else [0] * len(train.shares)
        missing = raw[-1] if raw else 0
        return Distribution(
            train.kind,
            tuple(c / total for c in bins),
            missing / total,
            sum(raw),
            edges=train.edges,
            levels=train.levels,
        )

    features = {
        name: distribution_psi(train, live(train, counts.features[name]))
        for name, train in reference.features.items()
        if counts.features.get(name)
    }
    score = distribution_psi(reference.score, live(reference.score, counts.score))
    return DriftReport(score, features, counts.rows, threshold)


def _added(raw: list[int], distribution: Distribution, values: Sequence[Any]) -> list[int]:
    binned, missing = distribution.counts(values)
    base = raw or [0] * (len(binned) + 1)
    return [a + int(b) for a, b in zip(base, [*binned.tolist(), missing], strict=True)]


def top_factors(
    names: Sequence[str], contributions: Sequence[float] | np.ndarray
) -> list[tuple[str, float]]:
    """The :data:`TOP_FACTORS` features with the largest contributions either way, signed."""
    ranked = sorted(range(len(names)), key=lambda i: -abs(float(contributions[i])))
    return [(names[i], round(float(contributions[i]), 6)) for i in ranked[:TOP_FACTORS]]


def _score_event(record: ScoreRecord, cause: str) -> Event:
    """The score's event, its ids fixed by the customer and the cause (an event id)."""
    score_id = str(uuid.uuid5(SCORE_NAMESPACE, f"{record.customer_id}/{cause}"))
    reasons = [
        ScoreReason(feature=name, contribution=value, value=_reason_value(record.features[name]))
        for name, value in record.reasons
    ]
    return new_event(
        RiskScoreUpdated(
            score_id=score_id,
            score=record.score,
            model_version=record.model_version,
            reasons=reasons,
        ),
        subject_id=record.customer_id,
        occurred_at=record.scored_at,
        source=SOURCE,
        event_id=derived_event_id(score_id, 0),
    )


def _reason_value(value: float | str | None) -> float | str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return round(value, 4) if isinstance(value, float) else value


def _drift_event(record: DriftRecord) -> Event:
    cause = str(uuid.uuid5(DRIFT_NAMESPACE, f"{record.model_version}/{record.day.isoformat()}"))
    worst = sorted(record.features.items(), key=lambda item: -item[1])[:20]
    return new_event(
        ModelDriftMeasured(
            model_name=record.model_name,
            model_version=record.model_version,
            day=record.day,
            rows=record.rows,
            score_psi=record.score_psi,
            worst_input=record.worst_input,
            worst_psi=record.worst_psi,
            features=dict(worst),
            threshold=record.threshold,
            drifted=record.drifted,
        ),
        subject_id=f"model:{record.model_name}",
        occurred_at=datetime.combine(record.day, datetime.max.time(), UTC),
        source=SOURCE,
        event_id=derived_event_id(cause, 0),
    )
