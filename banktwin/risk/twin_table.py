"""The risk model's training table, made from the twin's own history, and serving's features.

:func:`training_table` folds the log (or any events) once into every customer's facts
(:mod:`banktwin.risk.customer_facts`) and their losses (:mod:`banktwin.risk.labels`), then
makes one row per customer and as-of date: the customer's features as of that date
(:func:`~banktwin.risk.features.features_as_of`: nothing from after it) and the label, a loss
within the horizon after it. Customers not registered yet, and customers already in default,
have no row for that date. The as-of dates are weekly by default, from the first date with
:data:`DEFAULT_MIN_HISTORY` of activity behind it to the last date whose whole horizon lies
before the newest event (a later date's label could still change).

:func:`features_for_customer` is serving's path to the same function: one customer's events,
folded the same way, features as of a moment. docs/risk-features.md has the details.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from banktwin.domain.events import Event, SubjectKind
from banktwin.fraud.history import in_time_order
from banktwin.log.port import EventLog
from banktwin.risk.customer_facts import RiskBook, to_micros
from banktwin.risk.features import FEATURE_KINDS, FEATURE_NAMES, Features, features_as_of
from banktwin.risk.labels import ALL_LOSSES, DEFAULT_HORIZON, LossBook, at_risk, label

DEFAULT_STEP: Final = timedelta(days=7)
DEFAULT_MIN_HISTORY: Final = timedelta(days=7)
"""Activity (transactions) an as-of date has behind it at least, by default."""
ID_COLUMNS: Final = ("customer_id", "as_of")
LABEL_COLUMN: Final = "label"
PROGRESS_EVERY: Final = 10_000

TableProgress = Callable[[str, int, int | None], None]
"""Told how far the table is: ``("events", folded, total or None)``, then
``("rows", made, total)``."""


@dataclass(frozen=True)
class TwinTable:
    """Rows of (customer, as-of date): features, label and id."""

    frame: pd.DataFrame
    """One column per feature (:data:`~banktwin.risk.features.FEATURE_NAMES`): numeric ones
    float64 (NaN when unknown), categorical ones text. No label and no id in it."""
    labels: np.ndarray
    """``(rows,)`` booleans: a loss within the horizon after the row's as-of date."""
    customer_ids: tuple[str, ...]
    as_of: tuple[datetime, ...]
    horizon: timedelta

    @property
    def ids(self) -> tuple[str, ...]:
        """Each row's id: ``<customer id>@<as-of date, ISO 8601>``."""
        return tuple(
            f"{c}@{t.isoformat()}" for c, t in zip(self.customer_ids, self.as_of, strict=True)
        )

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The earliest and latest as-of date of the rows.

        Raises:
            ValueError: the table has no row.
        """
        if not self.as_of:
            raise ValueError("the table has no row")
        return min(self.as_of), max(self.as_of)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    def with_ids(self) -> pd.DataFrame:
        """The features, the label and the ids (``customer_id``, ``as_of``) as one frame."""
        whole = self.frame.copy()
        whole[ID_COLUMNS[0]] = pd.Series(self.customer_ids, dtype=object)
        whole[ID_COLUMNS[1]] = pd.to_datetime(pd.Series(self.as_of, dtype=object), utc=True)
        whole[LABEL_COLUMN] = self.labels
        return whole

    def write_parquet(self, path: str | Path) -> None:
        """Write :meth:`with_ids` as a Parquet file (pyarrow)."""
        self.with_ids().to_parquet(path, index=False, engine="pyarrow")


@dataclass
class FoldedHistory:
    """Every customer's facts and losses, with the span of the history."""

    book: RiskBook
    losses: LossBook
    first_activity: datetime | None = None
    """The earliest transaction (the history before it holds no balances moving)."""
    newest: datetime | None = None
    """The newest event."""


def _events_of(source: Iterable[Event] | EventLog) -> tuple[Iterator[Event], int | None]:
    if isinstance(source, Iterable):
        return iter(source), len(source) if isinstance(source, Sequence) else None
    total = sum(source.end_offsets().values())
    return (logged.event for logged in in_time_order(source)), total


def fold_history(
    source: Iterable[Event] | EventLog, progress: TableProgress | None = None
) -> FoldedHistory:
    """Fold every event of ``source`` (events, or a whole log read in time order)."""
    events, total = _events_of(source)
    history = FoldedHistory(RiskBook(), LossBook())
    book, losses = history.book, history.losses
    first: datetime | None = None
    newest: datetime | None = None
    count = 0
    for event in events:
        book.fold(event)
        losses.fold(event)
        at = event.occurred_at
        if newest is None or at > newest:
            newest = at
        if event.type == "transaction.posted" and (first is None or at < first):
            first = at
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress("events", count, total)
    if progress is not None:
        progress("events", count, total)
    history.first_activity, history.newest = first, newest
    return history


def default_as_of_dates(
    history: FoldedHistory,
    horizon: timedelta,
    *,
    step: timedelta = DEFAULT_STEP,
    min_history: timedelta = DEFAULT_MIN_HISTORY,
) -> list[datetime]:
    """Every ``step`` from the first UTC midnight with ``min_history`` of activity behind it
    to the last date whose horizon ends by the newest event (none when the history is too
    short)."""
    if history.newest is None:
        return []
    start = history.first_activity or history.newest
    earliest = start + min_history
    first = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC)
    if first < earliest:
        first += timedelta(days=1)
    dates = []
    at = first
    while at + horizon <= history.newest:
        dates.append(at)
        at += step
    return dates


def training_table(
    source: Iterable[Event] | EventLog,
    *,
    as_of_dates: Sequence[datetime] | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    step: timedelta = DEFAULT_STEP,
    min_history: timedelta = DEFAULT_MIN_HISTORY,
    loss_kinds: Collection[str] = ALL_LOSSES,
    progress: TableProgress | None = None,
) -> TwinTable:
    """The leak-free training table of ``source`` (see the module).

    Args:
        source: the events (any order), or an event log (read whole, in time order).
        as_of_dates: the dates to make rows for (timezone-aware); default: weekly, see
            :func:`default_as_of_dates`.
        horizon: how far after an as-of date a loss makes the row positive.
        step, min_history: the default dates' spacing and the activity before the first.
        loss_kinds: which losses count (:class:`~banktwin.risk.labels.LossKind` values).
        progress: told how far the fold and the rows are.

    Raises:
        ValueError: the horizon is not positive, or an as-of date has no time zone.
    """
    if horizon <= timedelta(0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    for moment in as_of_dates or ():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"as-of date {moment.isoformat()} has no time zone")
    history = fold_history(source, progress)
    dates = sorted(
        as_of_dates
        if as_of_dates is not None
        else default_as_of_dates(history, horizon, step=step, min_history=min_history)
    )
    return table_of(history, dates, horizon, loss_kinds, progress)


def table_of(
    history: FoldedHistory,
    dates: Sequence[datetime],
    horizon: timedelta,
    loss_kinds: Collection[str] = ALL_LOSSES,
    progress: TableProgress | None = None,
) -> TwinTable:
    """The rows of ``history`` at ``dates`` (see :func:`training_table`)."""
    rows: list[Features] = []
    customers: list[str] = []
    as_of: list[datetime] = []
    labels: list[bool] = []
    customer_ids = sorted(history.book.customers)
    total = len(customer_ids) * len(dates)
    done = 0
    for moment in dates:
        at = to_micros(moment)
        for customer_id in customer_ids:
            done += 1
            facts = history.book.customers[customer_id]
            losses = history.losses.of(customer_id)
            if not facts.registered.until(at) or not at_risk(losses, at):
                continue
            rows.append(features_as_of(facts, at))
            customers.append(customer_id)
            as_of.append(moment)
            labels.append(label(losses, at, horizon, loss_kinds))
        if progress is not None:
            progress("rows", done, total)
    return TwinTable(
        frame=feature_frame(rows),
        labels=np.asarray(labels, dtype=bool),
        customer_ids=tuple(customers),
        as_of=tuple(as_of),
        horizon=horizon,
    )


def feature_frame(rows: Sequence[Features]) -> pd.DataFrame:
    """Rows of features as a frame: numeric columns float64 (NaN when unknown), categorical
    ones text (missing when unknown), in :data:`FEATURE_NAMES` order."""
    columns: dict[str, object] = {}
    for name in FEATURE_NAMES:
        values = [row[name] for row in rows]
        if FEATURE_KINDS[name] == "numeric":
            columns[name] = np.array(
                [np.nan if v is None else float(v) for v in values], dtype=np.float64
            )
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def features_for_customer(events: Iterable[Event], moment: datetime) -> Features:
    """A customer's features as of ``moment`` from their events (their customer events and
    the events of their loan applications): the path training takes, for one customer.

    Raises:
        ValueError: the events name no customer, or more than one.
    """
    book = RiskBook()
    customers: set[str] = set()
    for event in events:
        book.fold(event)
        if event.subject_kind is SubjectKind.CUSTOMER:
            customers.add(event.subject_id)
    if len(customers) != 1:
        raise ValueError(f"the events must be of one customer, not {len(customers)}")
    return features_as_of(book.customer(customers.pop()), moment)
