"""The consumer runtime on the in-memory fakes, with a small engine of the test's own: state
and positions committed together, retries without double effects, derived events once,
listeners, lag in events and seconds."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from banktwin.consumers.consumer import BULK_READ_EVENTS, Consumer, Lag
from banktwin.consumers.engine import Checkpoint, Committed
from banktwin.domain.events import Event, derived_event_id
from banktwin.errors import ConflictError, UnavailableError
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.port import LoggedEvent
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import new_id, opened, posted, registered


@dataclass
class Counts:
    per_subject: dict[str, int] = field(default_factory=dict)


class CountingEngine:
    """Counts events per subject in the key-value store; derives one ``customer.login``-free
    event per registration when ``derive`` is on (to test derived events)."""

    def __init__(self, store: InMemoryKeyValueStore, name: str = "counts") -> None:
        self.store = store
        self._name = name
        self.fail_commits = 0

    @property
    def name(self) -> str:
        return self._name

    def positions(self) -> dict[int, int]:
        return self.store.positions(self._name)

    def begin(self) -> Counts:
        return Counts()

    def process(self, work: Counts, batch: Sequence[LoggedEvent]) -> list[Event]:
        subjects = {logged.event.subject_id for logged in batch} - work.per_subject.keys()
        stored = self.store.get_many(self._name, subjects)
        for subject in subjects:
            work.per_subject[subject] = int(stored.get(subject, b"0"))
        derived = []
        for logged in batch:
            event = logged.event
            work.per_subject[event.subject_id] += 1
            if event.type == "customer.registered":
                derived.append(opened_for(event))
        return derived

    def commit(self, work: Counts, checkpoint: Checkpoint) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            raise UnavailableError("the store went away")
        puts: Mapping[str, bytes | None] = {k: str(v).encode() for k, v in work.per_subject.items()}
        self.store.commit(checkpoint, puts)

    def reset(self) -> None:
        self.store.reset(self._name)

    def count(self, subject: str) -> int:
        return int(self.store.get_many(self._name, [subject]).get(subject, b"0"))


def opened_for(cause: Event) -> Event:
    """The account a registration derives (in this test only), under an id fixed by its cause."""
    account = opened(cause.subject_id, account_id="DERIVED", at=cause.occurred_at)
    return Event(
        event_id=derived_event_id(cause.event_id, 0),
        type=account.type,
        subject_id=account.subject_id,
        occurred_at=account.occurred_at,
        payload=account.payload,
        source="test-engine",
        version=account.version,
    )


def test_every_event_takes_effect_once_across_a_failed_commit() -> None:
    log, kv = InMemoryEventLog(partitions=3), InMemoryKeyValueStore()
    customers = [new_id() for _ in range(10)]
    log.append([posted(c, minutes=i) for i in range(5) for c in customers])
    engine = CountingEngine(kv)
    consumer = Consumer(log, engine, batch_size=7)
    engine.fail_commits = 1
    with pytest.raises(UnavailableError):
        consumer.run_once()
    assert kv.positions("counts") == {}  # nothing of the failed unit of work was kept
    assert consumer.run_until_caught_up() == 50
    assert {engine.count(c) for c in customers} == {5}
    assert kv.positions("counts") == log.end_offsets()
    assert consumer.lag() == 0


def test_derived_events_are_appended_once_even_when_derived_twice() -> None:
    log, kv = InMemoryEventLog(), InMemoryKeyValueStore()
    cid = new_id()
    log.append([registered(cid)])
    engine = CountingEngine(kv)
    consumer = Consumer(log, engine)
    engine.fail_commits = 1
    with pytest.raises(UnavailableError):
        consumer.run_once()  # derived and appended, then the commit failed
    consumer.run_until_caught_up()
    types = [le.event.type for le in log.read(0, 0, 10)]
    assert types == ["customer.registered", "account.opened"]
    assert engine.count(cid) == 2  # the registration and the account it derived


def test_consumers_of_one_log_keep_their_own_positions() -> None:
    log, kv = InMemoryEventLog(partitions=2), InMemoryKeyValueStore()
    log.append([posted(new_id()) for _ in range(20)])
    fast, slow = (Consumer(log, CountingEngine(kv, name)) for name in ("fast", "slow"))
    fast.run_until_caught_up()
    assert fast.lag() == 0 and slow.lag() == 20
    assert kv.positions("slow") == {}


def test_another_process_consuming_first_is_a_conflict_then_a_clean_restart() -> None:
    log, kv = InMemoryEventLog(), InMemoryKeyValueStore()
    cid = new_id()
    log.append([posted(cid) for _ in range(30)])
    first, second = (
        Consumer(log, CountingEngine(kv), batch_size=10),
        Consumer(log, CountingEngine(kv), batch_size=10),
    )
    second.positions()
    first.run_once()
    with pytest.raises(ConflictError):
        second.run_once()
    second.run_until_caught_up()
    assert CountingEngine(kv).count(cid) == 30


def test_listeners_hear_every_commit_and_one_failing_listener_changes_nothing() -> None:
    log, kv = InMemoryEventLog(), InMemoryKeyValueStore()
    log.append([posted(new_id()) for _ in range(25)])
    consumer = Consumer(log, CountingEngine(kv), batch_size=10)
    heard: list[Committed[Counts]] = []

    def broken(_: Committed[Counts]) -> None:
        raise RuntimeError("a listener bug")

    consumer.add_listener(broken)
    consumer.add_listener(heard.append)
    consumer.run_until_caught_up()
    assert [c.events for c in heard] == [10, 10, 5]
    assert heard[-1].checkpoint.end == {0: 25} and heard[0].checkpoint.start == {0: 0}
    assert kv.positions("counts") == {0: 25}


def test_lag_in_seconds_is_the_age_of_the_oldest_event_not_applied() -> None:
    log, kv = InMemoryEventLog(partitions=2), InMemoryKeyValueStore()
    [first] = log.append([posted(new_id())])
    consumer = Consumer(log, CountingEngine(kv))
    later = first.recorded_at + timedelta(minutes=6)
    lag = consumer.lag_now(later)
    assert lag.events == 1 and lag.seconds == pytest.approx(360, abs=0.01)
    consumer.run_until_caught_up()
    assert consumer.lag_now(later) == Lag(0, 0.0)


def test_run_forever_is_woken_by_the_logs_appends_and_commits_on_stop() -> None:
    log, kv = InMemoryEventLog(), InMemoryKeyValueStore()
    engine = CountingEngine(kv)
    consumer = Consumer(log, engine, commit_interval_s=3600)
    committed = threading.Event()
    consumer.add_listener(lambda _: committed.set())
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run_forever, args=(stop,), kwargs={"idle_wait_s": 30})
    thread.start()
    cid = new_id()
    log.append([posted(cid)])  # the watch wakes it long before its 30 s idle wait
    assert committed.wait(5)
    stop.set()
    consumer.notify()
    thread.join(5)
    assert not thread.is_alive() and engine.count(cid) == 1


def test_a_consumer_catching_up_commits_less_often_and_at_once_when_it_reaches_the_end() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    log.append([posted(new_id(), minutes=i) for i in range(45)])
    consumer = Consumer(
        log,
        CountingEngine(kv),
        batch_size=10,
        commit_interval_s=0,
        catch_up_commit_s=3600,
        max_uncommitted_events=35,
    )
    commits: list[int] = []
    consumer.add_listener(lambda c: commits.append(c.checkpoint.end[0]))
    assert [consumer.run_once() for _ in range(3)] == [10, 10, 10]
    assert commits == [] and kv.positions("counts") == {}  # full reads: still catching up
    consumer.run_once()
    assert commits == [40]  # the most events a commit may wait for
    consumer.run_once()
    assert commits == [40, 45]  # a read that took what was left: the live interval (0)
    assert consumer.run_once() == 0 and kv.positions("counts") == {0: 45}


def test_without_a_catch_up_interval_every_read_is_committed_as_before() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    log.append([posted(new_id(), minutes=i) for i in range(25)])
    consumer = Consumer(log, CountingEngine(kv), batch_size=10)
    commits: list[int] = []
    consumer.add_listener(lambda c: commits.append(c.checkpoint.end[0]))
    consumer.run_until_caught_up()
    assert commits == [10, 20, 25]


def test_a_reset_consumer_applies_the_whole_log_again() -> None:
    log, kv = InMemoryEventLog(partitions=2), InMemoryKeyValueStore()
    customers = [new_id() for _ in range(4)]
    log.append([posted(c, minutes=i) for i in range(3) for c in customers])
    engine = CountingEngine(kv)
    consumer = Consumer(log, engine)
    assert consumer.run_until_caught_up() == 12
    consumer.reset()  # its positions were known: it must not trust them any more
    assert consumer.run_until_caught_up() == 12
    assert {engine.count(c) for c in customers} == {3}


def _running(consumer: Consumer[Counts]) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run_forever, args=(stop,), kwargs={"idle_wait_s": 30})
    thread.start()
    return stop, thread


def _stopped(consumer: Consumer[Counts], stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    consumer.notify()
    thread.join(10)
    assert not thread.is_alive()


def test_a_bulk_load_posted_batch_after_batch_is_committed_once_per_interval() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    consumer = Consumer(
        log, CountingEngine(kv), batch_size=50_000, commit_interval_s=3600, bulk_linger_s=5
    )
    commits: list[int] = []
    consumer.add_listener(lambda c: commits.append(c.events))
    applied = threading.Event()
    engine_process = consumer.engine.process

    def process(work: Counts, batch: Sequence[LoggedEvent]) -> Sequence[Event]:
        derived = engine_process(work, batch)
        applied.set()
        return derived

    consumer.engine.process = process  # type: ignore[method-assign]
    stop, thread = _running(consumer)
    try:
        for _ in range(3):  # three bulk batches, each applied before the next is posted
            applied.clear()
            log.append([posted(new_id(), minutes=i) for i in range(BULK_READ_EVENTS)])
            assert applied.wait(5)
        assert commits == []  # each pause after a bulk read waits for the next batch
    finally:
        _stopped(consumer, stop, thread)
    assert commits == [3 * BULK_READ_EVENTS]


def test_a_bulk_read_then_silence_is_committed_after_the_linger() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    consumer = Consumer(log, CountingEngine(kv), commit_interval_s=3600, bulk_linger_s=0.2)
    committed = threading.Event()
    consumer.add_listener(lambda _: committed.set())
    stop, thread = _running(consumer)
    try:
        log.append([posted(new_id(), minutes=i) for i in range(BULK_READ_EVENTS)])
        assert committed.wait(5)  # 0.2 s of silence, then the commit
        assert kv.positions("counts") == {0: BULK_READ_EVENTS}
    finally:
        _stopped(consumer, stop, thread)


def test_small_appends_are_committed_as_soon_as_they_are_applied_whatever_the_linger() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    consumer = Consumer(log, CountingEngine(kv), commit_interval_s=3600, bulk_linger_s=3600)
    committed = threading.Event()
    consumer.add_listener(lambda _: committed.set())
    stop, thread = _running(consumer)
    try:
        log.append([posted(new_id(), minutes=i) for i in range(BULK_READ_EVENTS - 1)])
        assert committed.wait(5)
    finally:
        _stopped(consumer, stop, thread)


def test_catching_up_outside_run_forever_never_lingers() -> None:
    log, kv = InMemoryEventLog(partitions=1), InMemoryKeyValueStore()
    log.append([posted(new_id(), minutes=i) for i in range(BULK_READ_EVENTS)])
    consumer = Consumer(log, CountingEngine(kv), commit_interval_s=3600, bulk_linger_s=3600)
    assert consumer.run_until_caught_up() == BULK_READ_EVENTS  # returns at once
    assert kv.positions("counts") == {0: BULK_READ_EVENTS}


class PostedOnlyEngine(CountingEngine):
    """Counts only transactions, and says so: the runtime hands it nothing else."""

    event_types = frozenset({"transaction.posted"})

    def process(self, work: Counts, batch: Sequence[LoggedEvent]) -> list[Event]:
        assert all(logged.event.type == "transaction.posted" for logged in batch)
        return super().process(work, batch)


def test_an_engine_of_some_types_gets_only_those_and_passes_over_the_others() -> None:
    log, kv = InMemoryEventLog(partitions=2), InMemoryKeyValueStore()
    customers = [new_id() for _ in range(6)]
    log.append([registered(c) for c in customers])  # a first read finds none of its types
    log.append([posted(c, minutes=i) for i in range(3) for c in customers])
    log.append([opened(c, minutes=9) for c in customers])
    consumer = Consumer(log, PostedOnlyEngine(kv), batch_size=4)
    assert consumer.run_until_caught_up() == 30  # every event looked at, once
    assert {PostedOnlyEngine(kv).count(c) for c in customers} == {3}
    assert kv.positions("counts") == log.end_offsets()
    assert consumer.lag() == 0
    assert consumer.run_once() == 0
