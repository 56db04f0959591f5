"""The columnar features of a history are ``features_at``'s, bit for bit (the fence of the
speed path: docs/performance.md)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from banktwin.domain.events import Event
from banktwin.fraud import columnar
from banktwin.fraud.columnar import history_features
from banktwin.fraud.engine import FraudState, is_scored
from banktwin.fraud.entities import EntityBook
from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.features import CustomerState, features_at
from banktwin.fraud.model import feature_matrix
from banktwin.fraud.windows import FeatureConfig
from banktwin.sim import SimConfig, Simulation
from tests.unit.fraud.test_features import LENIENT, PROPERTY, _late_report, an_event

END = datetime(2026, 3, 2, tzinfo=UTC)


def streamed(events: list[Event], config: FeatureConfig) -> np.ndarray:
    """``features_at`` of every debit with the whole history folded (nothing is dropped
    under ``LENIENT``, and the features do not depend on what came after)."""
    customers: dict[str, CustomerState] = {}
    book = EntityBook(config)
    for each in events:
        customers.setdefault(each.subject_id, CustomerState(config)).fold(each)
        book.fold(each)
    rows = [features_at(customers[e.subject_id], e, book) for e in events if is_scored(e)]
    return feature_matrix(rows)


def assert_same(expected: np.ndarray, actual: np.ndarray) -> None:
    assert actual.shape == expected.shape
    for column, name in enumerate(FEATURE_NAMES):
        differ = np.flatnonzero(expected[:, column] != actual[:, column])
        assert not len(differ), (
            f"{name}: row {differ[0]} is {actual[differ[0], column]!r}, "
            f"features_at gives {expected[differ[0], column]!r}"
        )


@st.composite
def a_history(draw: st.DrawFn) -> list[Event]:
    """Events of two customers on both sides of ``T``, with reports of some debits."""
    events = [
        dataclasses.replace(e, subject_id=draw(st.sampled_from(["c1", "c2"])))
        for e in draw(st.lists(st.one_of(an_event(-1), an_event(+1)), max_size=40))
    ]
    debits = [e for e in events if is_scored(e)]
    if debits:
        for reported in draw(st.lists(st.sampled_from(debits), max_size=6)):
            known = reported.occurred_at + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
            events.append(dataclasses.replace(_late_report(reported, known), subject_id="c1"))
    return events


@PROPERTY
@given(history=a_history(), data=st.data())
def test_every_feature_of_every_debit_is_features_at_in_any_arrival_order(
    history: list[Event], data: st.DataObject
) -> None:
    arrived = data.draw(st.permutations(history))
    columns = history_features(arrived, LENIENT)
    expected = streamed(arrived, LENIENT)
    assert_same(expected, columns.matrix)
    assert [arrived[p] for p in columns.positions] == [e for e in arrived if is_scored(e)]


@pytest.fixture(scope="module")
def bank() -> list[Event]:
    sim = Simulation(SimConfig(customers=150, seed=11, history_days=21))
    return [event for batch in sim.backfill(end=END, batch_size=20_000) for event in batch]


def test_on_the_simulators_bank_columns_equal_the_live_engines_features(bank: list[Event]) -> None:
    """In log order with the engine's own bounded state (default lateness), as it scores a
    debit before folding it."""
    state = FraudState()
    rows = []
    for event in bank:
        if is_scored(event):
            rows.append(features_at(state.customer(event.subject_id), event, state.entities))
        state.fold(event)
    columns = history_features(bank)
    assert_same(feature_matrix(rows), columns.matrix)
    risks = [FEATURE_NAMES.index(f"{kind}_risk_30d") for kind in ("merchant", "category")]
    assert (columns.matrix[:, risks] > 0).any(), "known frauds should make some entity risky"


@pytest.mark.parametrize("span", [1_000, 2**61], ids=["offset keys", "rank keys"])
def test_a_series_counts_an_owners_values_below_a_bound(span: int) -> None:
    """Owners times the time span beyond 64 bits switch a series from offsets to ranks."""
    rng = np.random.default_rng(3)
    owners = rng.integers(0, 5, 300)
    values = rng.integers(0, span, 300)
    values[:20] = values[20:40]  # ties
    asked = rng.integers(0, 6, 400)
    bounds = np.concatenate([rng.integers(-50, span, 380), values[:20]])
    series = columnar._Grouped(owners, values)
    assert (series.distinct is None) == (span == 1_000)
    expected = [
        int(((owners == o) & (values < b)).sum()) for o, b in zip(asked, bounds, strict=True)
    ]
    assert (series.below(asked, bounds) - series.first(asked)).tolist() == expected
