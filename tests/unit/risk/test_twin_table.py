"""The twin's training table: rows per customer and as-of date, labels after it, customers in
default left out, Parquet export, the log as source, and serving's one code path; then a
simulated bank, whose table has positives and features that no later event changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from banktwin.domain.events import Event
from banktwin.log.sqlite import SqliteEventLog
from banktwin.risk.features import FEATURE_KINDS, FEATURE_NAMES
from banktwin.risk.twin_table import (
    default_as_of_dates,
    features_for_customer,
    fold_history,
    training_table,
)
from banktwin.sim import SimConfig, Simulation
from tests.factories import event

A, B, C, E = (f"0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1{i}" for i in "abce")
LOAN = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b20"
D = timedelta(days=1)
DAY_0 = datetime(2025, 3, 1, tzinfo=UTC)
HORIZON = 14 * D


def on(day: float, kind: str, subject: str, payload: dict[str, Any]) -> Event:
    return event(kind, subject, payload, at=DAY_0 + day * D)


def registered(day: float, customer: str) -> Event:
    return on(day, "customer.registered", customer, {"name": "Jo", "segment": "retail"})


def spent(day: float, customer: str, amount: str = "20.00") -> Event:
    payload = {
        "transactionId": f"T{customer[-2:]}{day}",
        "accountId": f"ACC{customer[-2:]}",
        "amount": amount,
        "currency": "EUR",
        "channel": "card_present",
    }
    return on(day, "transaction.posted", customer, payload)


def defaulted(day: float, customer: str) -> Event:
    payload = {"facilityId": "LN1", "outstanding": "900", "currency": "EUR"}
    return on(day, "credit.defaulted", customer, payload)


def small_bank() -> list[Event]:
    """A defaults after day 10, B defaulted before it, C registers after it, E is reported
    a fraud too late for the horizon."""
    return [
        registered(-100, A),
        registered(-100, B),
        registered(-100, E),
        registered(12, C),
        *[spent(day, customer) for day in range(0, 40, 3) for customer in (A, B, C, E)],
        defaulted(20, A),
        defaulted(5, B),
        on(30, "fraud.reported", E, {"transactionId": "T1", "accountId": "A", "kind": "dispute"}),
        on(1, "loan.submitted", LOAN, submission(A)),
        on(2, "loan.decided", LOAN, {"decision": "approved"}),
    ]


def submission(customer: str) -> dict[str, Any]:
    return {
        "customerId": customer,
        "product": "personal",
        "amount": "3000",
        "currency": "EUR",
        "termMonths": 24,
    }


def test_rows_labels_and_ids_of_a_small_bank() -> None:
    as_of = DAY_0 + 10 * D
    table = training_table(small_bank(), as_of_dates=[as_of], horizon=HORIZON)

    assert table.customer_ids == tuple(sorted((A, E)))  # B in default, C not registered yet
    assert dict(zip(table.customer_ids, table.labels.tolist(), strict=True)) == {A: True, E: False}
    assert table.ids == tuple(f"{c}@{as_of.isoformat()}" for c in sorted((A, E)))
    assert table.as_of == (as_of, as_of) and table.window == (as_of, as_of)
    assert table.positives == 1 and table.horizon == HORIZON
    assert list(table.frame.columns) == list(FEATURE_NAMES)
    for name, kind in FEATURE_KINDS.items():
        assert (table.frame[name].dtype == np.float64) is (kind == "numeric"), name
    row = table.frame.iloc[table.customer_ids.index(A)]
    assert row["loan_approvals_365d"] == 1.0 and row["segment"] == "retail"

    later = training_table(small_bank(), as_of_dates=[DAY_0 + 21 * D], horizon=HORIZON)
    assert set(later.customer_ids) == {C, E}  # A defaulted by then
    assert dict(zip(later.customer_ids, later.labels.tolist(), strict=True)) == {C: False, E: True}


def test_default_dates_are_weekly_from_enough_history_to_a_whole_horizon() -> None:
    history = fold_history(small_bank())  # activity from day 0 to day 39
    dates = default_as_of_dates(history, HORIZON)
    assert dates == [DAY_0 + 7 * D, DAY_0 + 14 * D, DAY_0 + 21 * D]
    assert default_as_of_dates(history, 40 * D) == []
    assert default_as_of_dates(fold_history([]), HORIZON) == []
    table = training_table(small_bank(), horizon=HORIZON)
    assert sorted(set(table.as_of)) == dates


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        training_table([], horizon=timedelta(0))
    with pytest.raises(ValueError, match="time zone"):
        training_table([], as_of_dates=[datetime(2025, 3, 1)])


def test_the_parquet_file_holds_features_label_and_ids(tmp_path: Path) -> None:
    table = training_table(small_bank(), as_of_dates=[DAY_0 + 10 * D], horizon=HORIZON)
    path = tmp_path / "risk.parquet"
    table.write_parquet(path)

    read = pd.read_parquet(path)
    assert list(read.columns) == [*FEATURE_NAMES, "customer_id", "as_of", "label"]
    assert read["label"].tolist() == table.labels.tolist()
    assert read["customer_id"].tolist() == list(table.customer_ids)
    assert [t.to_pydatetime() for t in read["as_of"]] == list(table.as_of)
    pd.testing.assert_frame_equal(read[list(FEATURE_NAMES)], table.frame, check_dtype=False)


def test_a_log_gives_the_table_its_events_give(tmp_path: Path) -> None:
    events = small_bank()
    log = SqliteEventLog(tmp_path / "twin.db", partitions=4)
    try:
        log.append(events)
        from_log = training_table(log, horizon=HORIZON)
    finally:
        log.close()
    from_events = training_table(list(reversed(events)), horizon=HORIZON)

    pd.testing.assert_frame_equal(from_log.frame, from_events.frame)
    assert from_log.ids == from_events.ids
    assert from_log.labels.tolist() == from_events.labels.tolist()


def test_serving_computes_the_row_training_computes() -> None:
    as_of = DAY_0 + 10 * D
    table = training_table(small_bank(), as_of_dates=[as_of], horizon=HORIZON)
    own = [e for e in small_bank() if e.subject_id in (A, LOAN)]
    served = features_for_customer(own, as_of)

    trained = table.frame.iloc[table.customer_ids.index(A)].to_dict()
    assert served.keys() == trained.keys()
    for name, value in served.items():
        if value is None:
            assert pd.isna(trained[name]), name
        else:
            assert trained[name] == value, name
    with pytest.raises(ValueError, match="one customer"):
        features_for_customer(small_bank(), as_of)


# --- A simulated bank ------------------------------------------------------------------------

END = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulated() -> list[Event]:
    sim = Simulation(SimConfig(customers=300, branches=1, seed=11, history_days=30))
    return [e for batch in sim.backfill(end=END) for e in batch]


def test_a_simulated_bank_makes_a_table_with_positives(simulated: list[Event]) -> None:
    table = training_table(simulated)

    assert len(set(table.as_of)) == 2  # 30 days: two weekly dates with a 14-day horizon
    assert len(table.labels) > 500 and 0 < table.positives < 0.2 * len(table.labels)
    assert table.frame["transactions_30d"].gt(0).mean() > 0.8
    assert table.frame["credit_facilities"].gt(0).any()
    assert table.frame["bureau_score"].notna().mean() > 0.8


def test_no_later_event_changes_a_simulated_row(simulated: list[Event]) -> None:
    """The features of each as-of date, made from the whole history, equal those made from
    the events up to that date only."""
    table = training_table(simulated)
    for as_of in sorted(set(table.as_of)):
        rows = [i for i, t in enumerate(table.as_of) if t == as_of]
        known = [e for e in simulated if e.occurred_at <= as_of]
        alone = training_table(known, as_of_dates=[as_of], horizon=table.horizon)
        assert alone.customer_ids == tuple(table.customer_ids[i] for i in rows)
        pd.testing.assert_frame_equal(alone.frame, table.frame.iloc[rows].reset_index(drop=True))
