"""The ``scored-until`` mark: it never moves back, and a reset keeps it at the positions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from banktwin.consumers.engine import Checkpoint
from banktwin.fraud.scored_until import (
    load_scored_until,
    raise_scored_until,
    reset_keeping_mark,
)
from banktwin.store.kv_memory import InMemoryKeyValueStore

positions = st.dictionaries(st.integers(0, 3), st.integers(0, 1000), max_size=4)


def test_an_engine_without_a_mark_scores_everything() -> None:
    assert load_scored_until(InMemoryKeyValueStore(), "fraud") == {}


@given(st.lists(positions, max_size=5))
def test_the_mark_is_the_highest_position_ever_raised_to(raises: list[dict[int, int]]) -> None:
    store = InMemoryKeyValueStore()
    for p in raises:
        raise_scored_until(store, "fraud", p)
    expected: dict[int, int] = {}
    for p in raises:
        for partition, offset in p.items():
            expected[partition] = max(expected.get(partition, 0), offset)
    assert load_scored_until(store, "fraud") == expected


def test_a_reset_deletes_state_and_positions_but_keeps_the_mark_at_them() -> None:
    store = InMemoryKeyValueStore()
    raise_scored_until(store, "fraud", {0: 50, 1: 5})
    store.commit(Checkpoint("fraud", {}, {0: 10, 1: 20}), {"snapshot/0": b"state"})

    assert reset_keeping_mark(store, "fraud") == {0: 50, 1: 20}
    assert store.positions("fraud") == {}
    assert store.get_many("fraud", ["snapshot/0"]) == {}
    assert load_scored_until(store, "fraud") == {0: 50, 1: 20}


def test_a_reset_of_an_engine_that_never_ran_leaves_nothing() -> None:
    store = InMemoryKeyValueStore()
    assert reset_keeping_mark(store, "fraud") == {}
    assert store.get_many("fraud", ["scored-until"]) == {}


def test_marks_are_per_engine() -> None:
    store = InMemoryKeyValueStore()
    raise_scored_until(store, "fraud-customers", {0: 7})
    assert load_scored_until(store, "fraud-entities") == {}
