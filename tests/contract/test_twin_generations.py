"""Twin generations in the state stores (SQLite, PostgreSQL; the memory fake at the end).

Two builds are two store objects opened with different ``codec.TWIN_FORMAT`` values; two
processes of one build are two store objects opened with the same. The stores' readers are
told to look the served generation up on every read (``generation_check_s = 0``) except
where the test is about that delay.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from banktwin.adapters import open_state_store
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.twin import fold
from banktwin.errors import ConflictError, UnavailableError
from banktwin.store import codec
from banktwin.store.generations import TwinNotReadyError
from banktwin.store.memory import InMemoryStateStore
from banktwin.store.port import ProjectionChanges, StateStore
from banktwin.store.sql_reader import SqlTwinReader
from tests.contract.legacy_stores import LEGACY_FORMAT, read_legacy_store, write_legacy_store
from tests.factories import new_id, opened, posted, registered

OLD, NEW = "7", "8"
Build = Callable[[str], StateStore]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def build(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Build]:
    """Opens the store as a process of the build whose twin format is given."""
    opened_stores: list[StateStore] = []

    def open_as(twin_format: str) -> StateStore:
        monkeypatch.setattr(codec, "TWIN_FORMAT", twin_format)
        store = open_state_store(url)
        if isinstance(store, SqlTwinReader):
            store.generation_check_s = 0.0
        opened_stores.append(store)
        return store

    yield open_as
    for store in opened_stores:
        store.close()


def _twin(customer_id: str, transactions: int = 1) -> CustomerTwin:
    events = [registered(customer_id), opened(customer_id, balance="100.00")]
    events += [posted(customer_id, amount="1.00", minutes=i + 1) for i in range(transactions)]
    twin = fold(events)
    assert isinstance(twin, CustomerTwin)
    return twin


def _commit(
    store: StateStore,
    start: dict[int, int],
    end: dict[int, int],
    *twins: CustomerTwin,
    log_end: dict[int, int] | None = None,
) -> None:
    store.commit(
        ProjectionChanges(
            "twin",
            start,
            end,
            {(SubjectKind.CUSTOMER, t.customer_id): t for t in twins},
            log_end=log_end,
        )
    )


def _states(store: StateStore) -> list[tuple[int, str, str]]:
    return [
        (s.generation.number, s.generation.twin_format, s.generation.state)
        for s in store.generations()
    ]


def test_a_new_store_serves_its_first_generation_at_once(build: Build) -> None:
    store = build(OLD)
    assert _states(store) == [(2, OLD, "active")]
    assert store.served_generation().number == 2 and not store.rebuilding()
    assert store.customer(new_id()) is None  # an empty twin, not an unready one


def test_a_new_format_is_built_beside_the_served_twin_and_switched_in_when_caught_up(
    build: Build,
) -> None:
    old = build(OLD)
    cid = new_id()
    key = (SubjectKind.CUSTOMER, cid)
    v1, v2, v3 = _twin(cid, 1), _twin(cid, 2), _twin(cid, 3)
    _commit(old, {}, {0: 3, 1: 2}, v1)

    new = build(NEW)  # a process of the next build starts
    assert new.rebuilding() and not old.rebuilding()
    assert _states(new) == [(2, OLD, "active"), (3, NEW, "building")]
    with pytest.raises(TwinNotReadyError, match="being built"):
        new.customer(cid)
    with pytest.raises(UnavailableError):  # the API's 503
        new.served_generation()
    assert new.positions("twin") == {} and new.load([key]) == {}

    _commit(old, {0: 3, 1: 2}, {0: 4, 1: 2}, v2)  # the old build goes on, its readers too
    assert old.customer(cid) == v2

    # Partition 0 reaches the end of the log, partition 1 not yet: no switch.
    _commit(new, {}, {0: 4}, v2, log_end={0: 4, 1: 2})
    assert new.rebuilding()
    with pytest.raises(TwinNotReadyError):
        new.customer(cid)
    # Partition 1 does while partition 0 has fallen behind a new append: it was at the end
    # once, so the generation has caught up.
    _commit(new, {1: 0}, {1: 2}, log_end={0: 5, 1: 2})
    assert not new.rebuilding()
    assert new.customer(cid) == v2 and new.served_generation().twin_format == NEW
    assert _states(new) == [(2, OLD, "retired"), (3, NEW, "active")]

    # The old build's processes keep serving and writing the generation of their format.
    assert old.customer(cid) == v2
    _commit(old, {0: 4, 1: 2}, {0: 5, 1: 2}, v3)
    assert old.customer(cid) == v3 and new.customer(cid) == v2


def test_processes_of_a_new_build_opening_at_once_build_one_generation(
    build: Build, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = build(OLD)
    _commit(old, {}, {0: 1}, _twin(new_id()))
    monkeypatch.setattr(codec, "TWIN_FORMAT", NEW)
    barrier = threading.Barrier(4)
    stores: list[StateStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            stores.append(open_state_store(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(stores) == 4
        assert _states(old) == [(2, OLD, "active"), (3, NEW, "building")]
        first, *others = stores
        _commit(first, {}, {0: 1}, log_end={0: 2})
        assert all(s.positions("twin") == {0: 1} for s in others)  # one generation
    finally:
        for store in stores:
            store.close()


def test_two_processes_bringing_their_partitions_to_the_end_at_once_switch_once(
    build: Build,
) -> None:
    _commit(build(OLD), {}, {0: 2, 1: 2}, _twin(new_id()))
    left, right = build(NEW), build(NEW)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def catch_up(store: StateStore, partition: int) -> None:
        barrier.wait()
        try:
            _commit(store, {partition: 0}, {partition: 2}, log_end={0: 2, 1: 2})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=catch_up, args=(s, p)) for p, s in enumerate((left, right))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _states(left) == [(2, OLD, "retired"), (3, NEW, "active")]
    assert left.positions("twin") == right.positions("twin") == {0: 2, 1: 2}


def test_a_replay_is_built_beside_and_the_projectors_of_the_replaced_twin_follow(
    build: Build,
) -> None:
    serving = build(OLD)
    cid = new_id()
    v1, v2, v3 = _twin(cid, 1), _twin(cid, 2), _twin(cid, 3)
    _commit(serving, {}, {0: 2}, v1)
    replay = build(OLD)  # `banktwin replay`, while serve runs
    replay.reset()
    assert replay.rebuilding() and not serving.rebuilding()
    assert replay.customer(cid) == serving.customer(cid) == v1  # still served

    _commit(serving, {0: 2}, {0: 3}, v2)  # serve keeps the served twin current
    assert replay.customer(cid) == v2 and replay.positions("twin") == {}

    _commit(replay, {}, {0: 3}, v2, log_end={0: 3})
    assert _states(replay) == [(2, OLD, "retired"), (3, OLD, "active")]
    with pytest.raises(ConflictError, match="replaced"):
        _commit(serving, {0: 3}, {0: 4}, v3)  # serve's projector moves on ...
    assert serving.positions("twin") == {0: 3}  # ... to the new generation's positions
    _commit(serving, {0: 3}, {0: 4}, v3)
    assert replay.customer(cid) == serving.customer(cid) == v3

    replay.reset()  # the next replay's switch drops what the first retired
    _commit(replay, {}, {0: 4}, v3, log_end={0: 4})
    assert _states(replay) == [(2, OLD, "dropped"), (3, OLD, "retired"), (4, OLD, "active")]
    assert replay.drop_retired() == [3]
    assert [s.positions for s in replay.generations()] == [{}, {}, {0: 4}]
    assert replay.customer(cid) == v3


def test_a_replay_restarted_drops_the_one_it_was_building(build: Build) -> None:
    store = build(OLD)
    _commit(store, {}, {0: 1}, _twin(new_id()))
    store.reset()
    _commit(store, {}, {0: 1})
    store.reset()  # interrupted, started again
    assert _states(store) == [(2, OLD, "active"), (3, OLD, "dropped"), (4, OLD, "building")]
    assert store.positions("twin") == {}


def test_a_restored_store_of_an_older_build_is_served_once_rebuilt(build: Build) -> None:
    cid = new_id()
    twin = _twin(cid)
    _commit(build(OLD), {}, {0: 3}, twin)  # the backup, made by the previous build
    restored = build(NEW)
    with pytest.raises(TwinNotReadyError):
        restored.customer(cid)
    _commit(restored, {}, {0: 3}, twin)  # committed without the log's end: no switch
    assert restored.rebuilding()
    assert restored.switch_if_caught_up("twin", {0: 4}) is False  # the log grew since
    assert restored.switch_if_caught_up("twin", {0: 3}) is True
    assert restored.customer(cid) == twin and not restored.rebuilding()


def test_an_older_build_neither_takes_the_store_back_nor_reads_a_newer_format(
    build: Build,
) -> None:
    cid = new_id()
    _commit(build(NEW), {}, {0: 1}, _twin(cid))
    older = build(OLD)
    assert _states(older) == [(2, NEW, "active")]  # nothing created
    with pytest.raises(TwinNotReadyError, match="run a newer build"):
        older.customer(cid)
    assert older.positions("twin") == {} and not older.rebuilding()
    with pytest.raises(TwinNotReadyError):
        _commit(older, {}, {0: 1}, _twin(cid))
    with pytest.raises(TwinNotReadyError):
        older.reset()


def test_the_plain_tables_of_a_build_before_generations_stay_as_it_left_them(
    build: Build, url: str
) -> None:
    cid = new_id()
    v1, v2 = _twin(cid, 1), _twin(cid, 2)
    write_legacy_store(url, [v1], {0: 3})
    same = build(LEGACY_FORMAT)  # this code, of the format the old build wrote
    assert _states(same) == [(1, LEGACY_FORMAT, "active")]
    assert same.customer(cid) == v1 and same.positions("twin") == {0: 3}

    new = build(NEW)
    _commit(new, {}, {0: 3}, v1, log_end={0: 3})
    assert _states(new) == [(1, LEGACY_FORMAT, "retired"), (2, NEW, "active")]
    # What the old build finds, were it still running: its format key and its twin.
    assert read_legacy_store(url) == (LEGACY_FORMAT, {cid}, {0: 3})
    _commit(same, {0: 3}, {0: 4}, v2)  # and it goes on writing them
    assert read_legacy_store(url)[2] == {0: 4} and same.customer(cid) == v2

    new.reset()  # the next switch drops them: emptied, the format key left alone
    _commit(new, {}, {0: 4}, v2, log_end={0: 4})
    assert _states(new)[0] == (1, LEGACY_FORMAT, "dropped")
    assert read_legacy_store(url) == (LEGACY_FORMAT, set(), {})
    assert new.customer(cid) == v2


def test_plain_tables_from_before_formats_were_recorded_are_rebuilt_beside(
    build: Build, url: str
) -> None:
    cid = new_id()
    write_legacy_store(url, [_twin(cid)], {0: 3}, twin_format=None)
    store = build(LEGACY_FORMAT)
    assert _states(store) == [(1, "1", "active"), (2, LEGACY_FORMAT, "building")]
    with pytest.raises(TwinNotReadyError):
        store.customer(cid)


def test_readers_see_a_switch_made_by_another_process_within_the_check_interval(
    build: Build,
) -> None:
    reader = build(OLD)
    assert isinstance(reader, SqlTwinReader)
    reader.generation_check_s = 0.2
    cid = new_id()
    v1, v2 = _twin(cid, 1), _twin(cid, 2)
    _commit(reader, {}, {0: 1}, v1)
    assert reader.customer(cid) == v1
    replay = build(OLD)
    replay.reset()
    _commit(replay, {}, {0: 2}, v2, log_end={0: 2})  # rebuilt by newer rules, say
    assert reader.customer(cid) == v1  # the generation looked up a moment ago: retired, kept
    time.sleep(0.25)
    assert reader.customer(cid) == v2


def test_the_memory_store_builds_a_replay_beside_and_switches_when_caught_up() -> None:
    store = InMemoryStateStore()
    cid = new_id()
    v1, v2 = _twin(cid, 1), _twin(cid, 2)
    _commit(store, {}, {0: 1}, v1)
    store.reset()
    assert store.rebuilding() and store.positions("twin") == {}
    assert store.customer(cid) == v1
    _commit(store, {}, {0: 1}, v2, log_end={0: 2})
    assert store.customer(cid) == v1  # not caught up yet
    _commit(store, {0: 1}, {0: 2}, v2, log_end={0: 2})
    assert store.customer(cid) == v2 and not store.rebuilding()
    assert [s.generation.state for s in store.generations()] == ["retired", "active"]
    assert store.drop_retired() == [2]
