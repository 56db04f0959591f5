"""Replay a labelled table through the engine's own feature code, leak-free.

Each row becomes a ``transaction.posted`` :class:`~banktwin.domain.events.Event` (a validated
:class:`TransactionPosted`), each fraud a ``fraud.reported`` event; both are folded in time
order through :meth:`CustomerState.fold` and :meth:`EntityBook.fold`, and a row's features are
``features_at`` its own time, taken before the row itself is folded: the code the live
consumer runs, on the same events, so the model is trained and tested on what it will see.

**When a label counts.** The engine counts a report in the features ``label_delay`` after the
report's ``occurredAt`` (``docs/fraud.md``). A fraud's report is placed at its ``label_time``
when the table has one, else at the transaction's own time: the delay then stands for the
whole time it takes to learn of a fraud, the handbook's "labels are known ``delay`` days
later", and the features at ``t`` use the frauds of transactions before ``t - delay`` (placing
the report at ``t + delay`` would count that lag twice).

**Neutral values.** What the table does not give is filled with values that change no
feature's meaning: one account per customer, currency ``XXX`` ("no currency"), debits, channel
``card_present`` without a channel column, no location and no device. Ids are made from
integer codes (``c12``, ``t7``, ``card00000012``), so any table's ids are valid identifiers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Final

import numpy as np

from banktwin.domain.events import EVENT_TYPES, Event
from banktwin.domain.payloads.account import Channel, Direction, TransactionPosted
from banktwin.domain.payloads.fraud_report import FraudReported, FraudReportKind
from banktwin.fraud.backtest_table import CHANNELS, TransactionTable
from banktwin.fraud.entities import EntityBook
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.features import CustomerState, features_at
from banktwin.fraud.windows import FeatureConfig

CURRENCY: Final = "XXX"
"""ISO 4217's code for "no currency": the table gives none and the features use none."""
SOURCE: Final = "backtest"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_POSTED = EVENT_TYPES["transaction.posted"]
_REPORTED = EVENT_TYPES["fraud.reported"]
_CHUNK = 10_000

Progress = Callable[[int], None]
"""``progress(rows)``: that many more rows replayed."""


def report_times(table: TransactionTable) -> np.ndarray:
    """When each fraud's report occurred (µs): its ``label_time``, never before the
    transaction, else the transaction's time; -1 for a genuine row."""
    times = table.times
    if table.label_times is None:
        reported = times.copy()
    else:
        reported = np.where(table.label_times >= 0, np.maximum(table.label_times, times), times)
    return np.where(table.labels, reported, -1)


def replay_features(
    table: TransactionTable,
    scored: np.ndarray,
    config: FeatureConfig,
    until: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """The features of the ``scored`` rows, computed by replaying the table's events.

    Args:
        table: the transactions.
        scored: bool per row: compute this row's features.
        config: the engine's feature configuration (its label delay).
        until: µs; transactions and reports at or after it are not replayed (nothing after
            the last scored row can change its features).
        progress: called as rows are replayed.

    Returns:
        ``(scored.sum(), k)`` float32, rows in table order, columns as ``FEATURE_NAMES``.
    """
    order = np.argsort(table.times, kind="stable")
    order = order[table.times[order] < until]
    reported = report_times(table)
    reports = np.flatnonzero((reported >= 0) & (reported < until))
    reports = reports[np.argsort(reported[reports], kind="stable")]
    count = int(scored.sum())
    slots = np.full(len(table), -1, dtype=np.int64)
    slots[scored] = np.arange(count)
    out = np.zeros((count, len(FEATURE_NAMES)), dtype=np.float32)
    pending: list[tuple[float | int | bool, ...]] = []
    pending_slots: list[int] = []
    values = itemgetter(*FEATURE_NAMES)
    events = _EventMaker(table)
    states: dict[int, CustomerState] = {}
    book = EntityBook(config)
    # Plain lists: indexing a numpy array element by element costs more than the lookup.
    customers, slot = table.customers.tolist(), slots.tolist()
    report_rows, report_at = reports.tolist(), reported[reports].tolist()
    next_report, last_report = 0, len(report_rows)
    done = 0
    for row, at in zip(order.tolist(), table.times[order].tolist(), strict=True):
        # Reports up to now are folded first: a report counts only `delay` after it, so
        # its order among events at the same time does not matter.
        while next_report < last_report and report_at[next_report] <= at:
            fraud = report_rows[next_report]
            event = events.report(fraud, report_at[next_report])
            _state(states, customers[fraud], config).fold(event)
            book.fold(event)
            next_report += 1
        event = events.transaction(row, at)
        state = _state(states, customers[row], config)
        if slot[row] >= 0:
            pending.append(values(features_at(state, event, book)))
            pending_slots.append(slot[row])
        state.fold(event)
        book.fold(event)
        done += 1
        if done % _CHUNK == 0:
            _flush(out, pending, pending_slots)
            if progress is not None:
                progress(_CHUNK)
    _flush(out, pending, pending_slots)
    if progress is not None:
        progress(done % _CHUNK)
    return out


def _flush(
    out: np.ndarray, pending: list[tuple[float | int | bool, ...]], slots: list[int]
) -> None:
    if pending:
        out[slots] = np.array(pending, dtype=np.float32)
        pending.clear()
        slots.clear()


def _state(states: dict[int, CustomerState], customer: int, config: FeatureConfig) -> CustomerState:
    state = states.get(customer)
    if state is None:
        state = states[customer] = CustomerState(config)
    return state


class _EventMaker:
    """Builds the engine's events from the table's rows."""

    def __init__(self, table: TransactionTable) -> None:
        self.table = table
        self.customers = table.customers.tolist()
        self.cards = (table.cards if table.cards is not None else table.customers).tolist()
        self.terminals = table.terminals.tolist()
        self.merchants = None if table.merchants is None else table.merchants.tolist()
        self.categories = None if table.categories is None else table.categories.tolist()
        self.channels = None if table.channels is None else table.channels.tolist()
        self.cents = table.cents.tolist()

    def transaction(self, row: int, at: int) -> Event:
        customer = f"c{self.customers[row]}"
        card = self.cards[row]
        terminal = self.terminals[row]
        fields: dict[str, object] = {
            "transaction_id": f"x{row}",
            "account_id": customer,
            "amount": Decimal(self.cents[row]).scaleb(-2),
            "currency": CURRENCY,
            "direction": Direction.DEBIT,
            "channel": Channel.CARD_PRESENT
            if self.channels is None
            else CHANNELS[self.channels[row]],
            "terminal_id": None if terminal < 0 else f"t{terminal}",
            "card_token": None if card < 0 else f"card{card:08d}",
        }
        if self.merchants is not None and self.merchants[row] >= 0:
            fields["merchant"] = f"m{self.merchants[row]}"
        if self.categories is not None and self.categories[row] >= 0:
            fields["merchant_category"] = f"g{self.categories[row]}"
        return Event(
            event_id=f"e{row}",
            type=_POSTED.type,
            subject_id=customer,
            occurred_at=_EPOCH + timedelta(microseconds=at),
            payload=TransactionPosted.model_validate(fields),
            source=SOURCE,
            version=_POSTED.version,
        )

    def report(self, row: int, at: int) -> Event:
        customer = f"c{self.customers[row]}"
        payload = FraudReported.model_validate(
            {
                "transaction_id": f"x{row}",
                "account_id": customer,
                "kind": FraudReportKind.CONFIRMED_BY_BANK,
                "transaction_occurred_at": _EPOCH
                + timedelta(microseconds=int(self.table.times[row])),
            }
        )
        return Event(
            event_id=f"r{row}",
            type=_REPORTED.type,
            subject_id=customer,
            occurred_at=_EPOCH + timedelta(microseconds=at),
            payload=payload,
            source=SOURCE,
            version=_REPORTED.version,
        )
