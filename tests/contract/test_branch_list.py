"""The state store's list of branches, on every adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from banktwin.adapters import open_state_store
from banktwin.domain.branch import BranchTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.twin import fold
from banktwin.store.port import ProjectionChanges, StateStore
from banktwin.store.sql_reader import SqlTwinReader
from tests.factories import event

BRANCH_IDS = [f"0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b{n:02d}" for n in (7, 3, 11, 5, 1)]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_state_store(url)
    if isinstance(s, SqlTwinReader):
        s.generation_check_s = 0.0  # a switch is seen at the next read
    yield s
    s.close()


def branch(branch_id: str, name: str, waiting: int = 0) -> BranchTwin:
    events = [
        event(
            "branch.opened",
            branch_id,
            {"name": name, "capacity": 30, "services": [{"service": "teller"}]},
        ),
        event("branch.staff_checked_in", branch_id, {"staffId": "S1"}, minutes=1),
    ]
    events += [
        event("queue.joined", branch_id, {"ticketId": f"T{n}", "service": "teller"}, minutes=2)
        for n in range(waiting)
    ]
    twin = fold(events)
    assert isinstance(twin, BranchTwin)
    return twin


def commit(store: StateStore, twins: list[BranchTwin], start: int = 0) -> None:
    store.commit(
        ProjectionChanges(
            "twin",
            {0: start} if start else {},
            {0: start + len(twins)},
            {(SubjectKind.BRANCH, b.branch_id): b for b in twins},
        )
    )


def test_an_empty_store_lists_no_branch(store: StateStore) -> None:
    page = store.branches(10, 0)
    assert page.items == [] and page.total == 0


def test_branches_are_paged_by_id_with_their_total(store: StateStore) -> None:
    twins = [branch(b, f"Branch {n}", waiting=n) for n, b in enumerate(BRANCH_IDS)]
    commit(store, twins)
    by_id = sorted(twins, key=lambda b: b.branch_id)

    first = store.branches(2, 0)
    assert first.total == 5
    assert first.items == by_id[:2]  # whole twins, read back equal
    rest = store.branches(10, 2)
    assert rest.items == by_id[2:] and rest.total == 5
    assert store.branches(3, 1).items == by_id[1:4]
    assert store.branches(10, 5).items == [] and store.branches(10, 5).total == 5


def test_the_list_follows_new_and_changed_branches_and_no_other_kind(store: StateStore) -> None:
    commit(store, [branch(BRANCH_IDS[0], "Old name")])
    customer = fold([event("customer.registered", BRANCH_IDS[1], {"name": "Not a branch"})])
    assert customer is not None
    changed = branch(BRANCH_IDS[0], "New name", waiting=2)
    store.commit(
        ProjectionChanges(
            "twin",
            {0: 1},
            {0: 3},
            {
                (SubjectKind.BRANCH, BRANCH_IDS[0]): changed,
                (SubjectKind.CUSTOMER, BRANCH_IDS[1]): customer,
            },
        )
    )
    page = store.branches(10, 0)
    assert page.total == 1
    [listed] = page.items
    assert listed.name == "New name" and len(listed.waiting) == 2
    commit(store, [branch(BRANCH_IDS[2], "Another")], start=3)
    assert [b.branch_id for b in store.branches(10, 0).items] == sorted(BRANCH_IDS[::2][:2])


def test_the_list_reads_the_served_generation(store: StateStore) -> None:
    """A replay builds a new generation beside the served one: the list keeps showing the
    served branches until the new one has caught up and is switched in."""
    commit(store, [branch(BRANCH_IDS[0], "Served")])
    store.reset()
    store.commit(
        ProjectionChanges(
            "twin",
            {},
            {0: 1},
            {(SubjectKind.BRANCH, BRANCH_IDS[1]): branch(BRANCH_IDS[1], "Rebuilt")},
            log_end={0: 2},
        )
    )
    assert [b.name for b in store.branches(10, 0).items] == ["Served"]
    assert store.switch_if_caught_up("twin", {0: 1})
    assert [b.name for b in store.branches(10, 0).items] == ["Rebuilt"]
