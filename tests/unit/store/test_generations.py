"""The decisions about twin generations, as pure functions of their rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from banktwin.store.generations import (
    ACTIVE,
    BUILDING,
    DROPPED,
    RETIRED,
    TwinGeneration,
    caught_up,
    format_order,
    may_create,
    may_switch,
    new_state,
    not_ready,
    obsolete_at_switch,
    positions_key,
    served,
    superseded,
    target,
)

AT = datetime(2026, 1, 1, tzinfo=UTC)


def gen(number: int, twin_format: str, state: str, complete: bool | None = None) -> TwinGeneration:
    done = state in (ACTIVE, RETIRED) if complete is None else complete
    return TwinGeneration(number, twin_format, state, AT, AT if done else None)


def test_formats_compare_as_numbers_and_names_after_them() -> None:
    assert sorted(["10", "9", "dev", "3"], key=format_order) == ["3", "9", "10", "dev"]


def test_generation_one_is_the_plain_tables_and_its_positions_the_plain_name() -> None:
    assert gen(1, "3", ACTIVE).suffix == "" and positions_key("twin", 1) == "twin"
    assert gen(4, "4", ACTIVE).suffix == "_g4" and positions_key("twin", 4) == "twin/g4"


def test_a_build_serves_the_active_generation_of_its_format_else_its_newest_complete_one() -> None:
    rolling = [gen(1, "3", RETIRED), gen(2, "4", ACTIVE)]
    assert served(rolling, "4") == rolling[1]
    assert served(rolling, "3") == rolling[0]  # the old build's replicas keep theirs
    building = [gen(1, "3", ACTIVE), gen(2, "4", BUILDING)]
    assert served(building, "4") is None  # not ready: 503
    assert served([gen(1, "3", DROPPED)], "3") is None


def test_a_projector_writes_the_newest_generation_of_its_format() -> None:
    replaying = [gen(2, "4", ACTIVE), gen(3, "4", BUILDING)]
    assert target(replaying, "4") == replaying[1]
    assert target(replaying, "5") is None
    assert target([gen(2, "4", DROPPED)], "4") is None


def test_a_projector_moves_on_when_its_generation_is_dropped_or_replaced_by_its_format() -> None:
    after_replay = [gen(2, "4", RETIRED), gen(3, "4", ACTIVE)]
    assert superseded(after_replay, 2) and not superseded(after_replay, 3)
    after_upgrade = [gen(2, "4", RETIRED), gen(3, "5", ACTIVE)]
    assert not superseded(after_upgrade, 2)  # the old build goes on writing its own
    during_replay = [gen(2, "4", ACTIVE), gen(3, "4", BUILDING)]
    assert not superseded(during_replay, 2)  # serve keeps the served one current
    assert superseded([gen(2, "4", DROPPED)], 2) and superseded([], 2)


def test_only_a_build_not_older_than_the_active_format_starts_a_generation() -> None:
    assert may_create([], "3") and new_state([]) == ACTIVE
    store = [gen(2, "4", ACTIVE)]
    assert may_create(store, "5") and new_state(store) == BUILDING
    assert not may_create(store, "3")
    assert may_switch(store, gen(3, "4", BUILDING)) and not may_switch(store, gen(3, "3", BUILDING))


def test_each_partition_needs_to_have_reached_the_end_once() -> None:
    assert caught_up(set(), {0: 5, 1: 2}, {0: 5, 1: 3}) == {0}
    assert caught_up({1}, {0: 5, 1: 2}, {0: 6, 1: 3}) == {1}
    assert caught_up(set(), {}, {0: 0, 1: 0}) == {0, 1}  # nothing to apply


@pytest.mark.parametrize(
    ("before", "switching", "dropped"),
    [
        ([gen(1, "3", ACTIVE), gen(2, "4", BUILDING)], 2, []),  # the replaced one is kept
        ([gen(1, "3", RETIRED), gen(2, "4", ACTIVE), gen(3, "4", BUILDING)], 3, [1]),
        ([gen(2, "4", ACTIVE), gen(3, "4", BUILDING), gen(4, "4", BUILDING)], 4, [3]),
        ([gen(2, "4", ACTIVE), gen(3, "4", BUILDING), gen(4, "5", BUILDING)], 3, []),
        ([gen(2, "4", ACTIVE), gen(3, "4", BUILDING), gen(4, "5", BUILDING)], 4, [3]),
    ],
)
def test_a_switch_drops_what_was_retired_before_and_what_could_never_switch(
    before: list[TwinGeneration], switching: int, dropped: list[int]
) -> None:
    new = next(g for g in before if g.number == switching)
    assert [g.number for g in obsolete_at_switch(before, new)] == dropped


def test_not_ready_says_what_is_built_and_what_is_served() -> None:
    building = not_ready([gen(1, "3", ACTIVE), gen(2, "4", BUILDING)], "4")
    assert "being built (generation 2)" in str(building)
    assert "generation 1 (format 3) is served" in str(building)
    assert "run a newer build" in str(not_ready([gen(2, "5", ACTIVE)], "4"))
