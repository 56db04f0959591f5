"""One contract, every key-value state store adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from banktwin.adapters import open_kv_store, open_state_store
from banktwin.consumers.engine import Checkpoint
from banktwin.errors import ConflictError
from banktwin.store.kv import KeyValueStore, prefix_end
from tests.contract.state_stores import BACKENDS, DURABLE_BACKENDS, backend_url, reopening

StoreFactory = Callable[[], KeyValueStore]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request.param, request, tmp_path)


@pytest.fixture
def factory(store_url: str) -> Iterator[StoreFactory]:
    """Opens the same store again each call (memory: the same object)."""
    yield from reopening(open_kv_store, store_url)


@pytest.fixture
def kv(factory: StoreFactory) -> KeyValueStore:
    return factory()


def at(consumer: str, start: dict[int, int], end: dict[int, int]) -> Checkpoint:
    return Checkpoint(consumer, start, end)


class TestKeyValueStoreContract:
    def test_starts_empty(self, kv: KeyValueStore) -> None:
        assert kv.positions("kpis") == {}
        assert kv.get_many("kpis", ["a"]) == {}
        assert kv.scan("kpis", "", prefix_end("")) == []

    def test_commit_writes_values_and_positions_together(self, factory: StoreFactory) -> None:
        kv = factory()
        kv.commit(at("kpis", {}, {0: 5, 1: 2}), {"a": b"1", "b/x": b"2", "b/y": b"\x00\xff"})
        again = factory()  # as a restarted process sees it
        assert again.positions("kpis") == {0: 5, 1: 2}
        assert again.get_many("kpis", ["a", "b/y", "missing"]) == {"a": b"1", "b/y": b"\x00\xff"}

    def test_values_are_replaced_and_deleted(self, kv: KeyValueStore) -> None:
        kv.commit(at("c", {}, {0: 1}), {"a": b"1", "b": b"2"})
        kv.commit(at("c", {0: 1}, {0: 2}), {"a": b"10", "b": None})
        assert kv.get_many("c", ["a", "b"]) == {"a": b"10"}

    def test_scan_is_ordered_bounded_and_can_run_backwards(self, kv: KeyValueStore) -> None:
        keys = ["h/2026-11-30T08", "h/2026-11-30T09", "h/2026-11-30T10", "i/x", "g/y"]
        kv.commit(at("c", {}, {0: 1}), {k: k.encode() for k in keys})
        inside = kv.scan("c", "h/", prefix_end("h/"))
        assert [k for k, _ in inside] == keys[:3] and inside[0][1] == keys[0].encode()
        assert [k for k, _ in kv.scan("c", "h/2026-11-30T09", prefix_end("h/"))] == keys[1:3]
        assert [k for k, _ in kv.scan("c", "h/", "h/2026-11-30T10", reverse=True, limit=1)] == [
            "h/2026-11-30T09"
        ]

    def test_consumers_never_see_each_others_keys_or_positions(self, kv: KeyValueStore) -> None:
        kv.commit(at("one", {}, {0: 3}), {"k": b"one"})
        kv.commit(at("two", {}, {0: 7}), {"k": b"two"})
        assert kv.get_many("one", ["k"]) == {"k": b"one"}
        assert kv.positions("two") == {0: 7}
        kv.reset("one")
        assert kv.get_many("one", ["k"]) == {} and kv.positions("one") == {}
        assert kv.get_many("two", ["k"]) == {"k": b"two"} and kv.positions("two") == {0: 7}

    def test_a_commit_from_stale_positions_conflicts_and_writes_nothing(
        self, kv: KeyValueStore
    ) -> None:
        kv.commit(at("c", {}, {0: 4}), {"a": b"1"})
        with pytest.raises(ConflictError):
            kv.commit(at("c", {0: 2}, {0: 6}), {"a": b"stale", "new": b"x"})
        assert kv.get_many("c", ["a", "new"]) == {"a": b"1"} and kv.positions("c") == {0: 4}

    def test_of_two_racing_first_commits_exactly_one_wins(self, factory: StoreFactory) -> None:
        stores = [factory(), factory()]
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def commit(i: int) -> None:
            barrier.wait()
            try:
                stores[i].commit(at("c", {0: 0}, {0: 10}), {"winner": str(i).encode()})
                outcomes.append("won")
            except ConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=commit, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "won"]


@pytest.mark.parametrize("backend", DURABLE_BACKENDS)
def test_the_twin_store_and_the_key_value_store_share_a_database_without_clashing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = backend_url(backend, request, tmp_path)
    twin, kv = open_state_store(url), open_kv_store(url)
    try:
        kv.commit(at("kpis", {}, {0: 9}), {"k": b"v"})
        twin.reset()  # the twin's replay leaves other consumers alone
        assert kv.positions("kpis") == {0: 9} and kv.get_many("kpis", ["k"]) == {"k": b"v"}
        assert twin.positions("kpis") == {}  # the twin's are its generation's own
    finally:
        twin.close()
        kv.close()
