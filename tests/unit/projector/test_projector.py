"""The projector on the in-memory fakes: exactly-once application, derived events, retries."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

import pytest

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.twin import Twin
from banktwin.errors import ConflictError, UnavailableError
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.port import AppendResult
from banktwin.projector import projector as projector_module
from banktwin.projector.as_of import twin_as_of
from banktwin.projector.projector import Projector
from banktwin.projector.replay import rebuild_projections
from banktwin.store.memory import InMemoryStateStore
from banktwin.store.port import AlertQuery, ProjectionChanges, SubjectKey
from tests.factories import T0, event, new_id, opened, posted, registered


def test_applies_everything_once_across_partitions() -> None:
    log, store = InMemoryEventLog(partitions=4), InMemoryStateStore()
    customers = [new_id() for _ in range(20)]
    log.append([registered(c) for c in customers] + [opened(c, minutes=1) for c in customers])
    log.append([posted(c, amount="1.00", minutes=2) for c in customers])
    projector = Projector(log, store, batch_size=16)
    assert projector.lag() == 60
    assert projector.run_until_caught_up() == 60
    assert projector.lag() == 0 and projector.run_once() == 0
    for c in customers:
        twin = store.customer(c)
        assert twin is not None and twin.accounts[0].balance == 99 and twin.events_applied == 3
    assert store.transactions(customers[0], 10, 0).total == 1


def test_projectors_owning_disjoint_partitions_build_the_same_twin_as_one() -> None:
    log = InMemoryEventLog(partitions=3)
    customers = [new_id() for _ in range(30)]
    log.append([registered(c) for c in customers] + [opened(c, minutes=1) for c in customers])
    log.append([posted(c, amount="2.50", minutes=2 + i % 3) for i, c in enumerate(customers)])
    alone, shared = InMemoryStateStore(), InMemoryStateStore()
    Projector(log, alone, batch_size=7).run_until_caught_up()
    first = Projector(log, shared, batch_size=7, partitions=[0, 2])
    second = Projector(log, shared, batch_size=7, partitions=[1])
    ends = log.end_offsets()
    assert first.lag() == ends[0] + ends[2] and second.lag() == ends[1]
    assert first.run_until_caught_up() == ends[0] + ends[2]
    assert second.lag() == ends[1]  # the other's work is not counted as its own
    assert second.run_until_caught_up() == ends[1]
    assert shared.positions("twin") == alone.positions("twin") == ends
    for c in customers:
        assert shared.customer(c) == alone.customer(c)


@pytest.mark.parametrize("partitions", [[], [3], [0, -1]])
def test_a_projector_refuses_partitions_the_log_does_not_have(partitions: list[int]) -> None:
    with pytest.raises(ValueError, match=r"not a subset of the log's 0\.\.2"):
        Projector(InMemoryEventLog(partitions=3), InMemoryStateStore(), partitions=partitions)


def test_derived_events_are_appended_once_and_then_applied() -> None:
    log, store = InMemoryEventLog(), InMemoryStateStore()
    loan_id = new_id()
    log.append(
        [
            event(
                "loan.submitted",
                loan_id,
                {
                    "customerId": new_id(),
                    "product": "auto",
                    "amount": "9000",
                    "currency": "EUR",
                    "termMonths": 36,
                },
            ),
            event("loan.stage_changed", loan_id, {"stage": "underwriting"}, minutes=600),
        ]
    )
    projector = Projector(log, store)
    projector.run_until_caught_up()
    assert [le.event.type for le in log.read(0, 0, 10)] == [
        "loan.submitted",
        "loan.stage_changed",
        "loan.sla_breached",
    ]
    loan = store.loan(loan_id)
    assert loan is not None and loan.sla_breaches == 1


class CrashingStore(InMemoryStateStore):
    """Fails the first commit after doing nothing: as if the process died before committing."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def commit(self, changes: ProjectionChanges) -> None:
        if self.failures:
            self.failures -= 1
            raise UnavailableError("disk went away")
        super().commit(changes)


def test_a_failed_commit_is_retried_from_the_same_position_without_duplicates() -> None:
    log, store = InMemoryEventLog(), CrashingStore()
    loan_id, cid = new_id(), new_id()
    log.append(
        [
            registered(cid),
            opened(cid),
            posted(cid, amount="5.00"),
            event(
                "loan.submitted",
                loan_id,
                {
                    "customerId": cid,
                    "product": "auto",
                    "amount": "9000",
                    "currency": "EUR",
                    "termMonths": 36,
                },
            ),
            event("loan.decided", loan_id, {"decision": "rejected"}, minutes=24 * 60),
        ]
    )
    projector = Projector(log, store)
    with pytest.raises(UnavailableError):
        projector.run_once()
    assert store.customer(cid) is None
    projector.run_until_caught_up()
    twin = store.customer(cid)
    assert twin is not None and twin.accounts[0].balance == 95 and twin.events_applied == 3
    types = [le.event.type for le in log.read(0, 0, 100)]
    assert types.count("loan.sla_breached") == 1  # re-derived with the same id: a no-op


def test_two_projectors_on_one_store_never_double_apply() -> None:
    log, store = InMemoryEventLog(), InMemoryStateStore()
    cid = new_id()
    log.append([opened(cid, balance="100.00")] + [posted(cid, amount="1.00") for _ in range(50)])
    first, second = Projector(log, store, batch_size=10), Projector(log, store, batch_size=10)
    second.positions()  # both start from position 0
    first.run_once()
    with pytest.raises(ConflictError):
        second.run_once()  # it read from position 0, the store is at 10 now
    for projector in (second, first, second, first, second, first):
        try:
            projector.run_until_caught_up()
        except ConflictError:
            continue
    twin = store.customer(cid)
    assert twin is not None and twin.accounts[0].balance == 50


class SlowLoadStore(InMemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self, keys: Collection[SubjectKey]) -> dict[SubjectKey, Twin]:
        self.loads += 1
        return super().load(keys)


def test_a_batch_loads_each_twin_once() -> None:
    log, store = InMemoryEventLog(), SlowLoadStore()
    cid = new_id()
    log.append([posted(cid) for _ in range(100)])
    Projector(log, store, batch_size=1000).run_once()
    assert store.loads == 1


def test_run_forever_stops_on_request_and_retries_failures() -> None:
    log, store = InMemoryEventLog(), CrashingStore()
    cid = new_id()
    log.append([registered(cid)])
    projector = Projector(log, store)
    stop = threading.Event()
    thread = threading.Thread(target=projector.run_forever, args=(stop,))
    thread.start()
    for _ in range(200):
        if store.customer(cid) is not None:
            break
        stop.wait(0.05)
    stop.set()
    projector.notify()
    thread.join(5)
    assert store.customer(cid) is not None
    assert projector.status.last_error is None and not projector.status.running


def test_replay_rebuilds_the_same_twin() -> None:
    log, store = InMemoryEventLog(partitions=2), InMemoryStateStore()
    cids = [new_id() for _ in range(5)]
    log.append([e for c in cids for e in (registered(c), opened(c), posted(c, minutes=1))])
    Projector(log, store).run_until_caught_up()
    before = {c: store.customer(c) for c in cids}
    seen: list[int] = []
    applied = rebuild_projections(log, store, on_start=seen.append)
    assert applied == 15 and seen == [15]
    assert {c: store.customer(c) for c in cids} == before


def test_as_of_folds_only_the_past() -> None:
    log = InMemoryEventLog()
    cid = new_id()
    log.append(
        [
            opened(cid, balance="100.00"),
            posted(cid, amount="10.00", minutes=60),
            posted(cid, amount="10.00", minutes=120),
        ]
    )
    past = twin_as_of(log, SubjectKind.CUSTOMER, cid, T0 + timedelta(minutes=90))
    assert isinstance(past, CustomerTwin) and past.accounts[0].balance == 90
    assert twin_as_of(log, SubjectKind.CUSTOMER, cid, T0 - timedelta(minutes=1)) is None
    assert twin_as_of(log, SubjectKind.LOAN, cid, T0 + timedelta(days=1)) is None


class RecordingLog(InMemoryEventLog):
    def __init__(self) -> None:
        super().__init__()
        self.appends: list[int] = []

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        self.appends.append(len(events))
        return super().append(events, expected=expected)


def test_events_that_derive_nothing_append_nothing() -> None:
    log = RecordingLog()
    log.append([registered(new_id())])
    Projector(log, InMemoryStateStore()).run_until_caught_up()
    assert log.appends == [1]


def test_lag_follows_whoever_projects() -> None:
    log, store = InMemoryEventLog(), InMemoryStateStore()
    log.append([registered(new_id()) for _ in range(3)])
    observer, worker = Projector(log, store), Projector(log, store)
    assert observer.lag() == 3
    worker.run_until_caught_up()
    assert observer.lag() == 0


class CountingStore(InMemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.commits: list[ProjectionChanges] = []

    def commit(self, changes: ProjectionChanges) -> None:
        super().commit(changes)
        self.commits.append(changes)


def test_while_the_log_grows_one_commit_covers_many_reads() -> None:
    log, store = InMemoryEventLog(), CountingStore()
    cid = new_id()
    log.append([registered(cid), opened(cid, balance="100.00")])
    projector = Projector(log, store, batch_size=1000, commit_interval_s=3600)
    assert projector.run_once() == 2
    for minute in range(1, 4):  # the log keeps growing between reads
        log.append([posted(cid, amount="1.00", minutes=minute)])
        assert projector.run_once() == 1
    assert store.commits == [] and store.customer(cid) is None  # applied, not yet visible
    assert projector.run_once() == 0  # caught up: everything applied is committed at once
    [commit] = store.commits
    assert commit.start == {0: 0} and commit.end == {0: 5}
    assert [t.amount for t in commit.transactions] == [1, 1, 1]
    twin = store.customer(cid)
    assert twin is not None and twin.accounts[0].balance == 97 and twin.events_applied == 5
    assert store.positions("twin") == {0: 5} and projector.status.events_applied == 5


def test_a_commit_is_due_after_batch_size_events_or_the_interval() -> None:
    log, store = InMemoryEventLog(), CountingStore()
    cid = new_id()
    log.append([opened(cid)] + [posted(cid, minutes=i) for i in range(9)])
    by_size = Projector(log, store, batch_size=4, commit_interval_s=3600)
    by_size.run_once()  # a full read: batch_size events applied, due
    assert [c.end for c in store.commits] == [{0: 4}]
    by_size.run_until_caught_up()
    assert [c.end for c in store.commits] == [{0: 4}, {0: 8}, {0: 10}]

    log2, store2 = InMemoryEventLog(), CountingStore()
    log2.append([opened(cid), posted(cid)])
    Projector(log2, store2, batch_size=1, commit_interval_s=0).run_once()
    assert len(store2.commits) == 1  # an interval of 0 commits every read


def _two_reads_pending(store: InMemoryStateStore) -> tuple[Projector, str]:
    """A projector that applied an account opening, then found a debit of 1.00 appended:
    the second read is next, nothing is committed yet."""
    log, cid = InMemoryEventLog(), new_id()
    log.append([opened(cid, balance="10.00")])
    projector = Projector(log, store, batch_size=100, commit_interval_s=3600)
    projector.run_once()
    log.append([posted(cid, amount="1.00", minutes=1)])
    return projector, cid


def test_a_failed_commit_of_many_reads_applies_them_again_once() -> None:
    store = CrashingStore()
    projector, cid = _two_reads_pending(store)
    projector.run_once()
    with pytest.raises(UnavailableError):
        projector.run_once()  # caught up: the commit of both reads fails
    assert store.positions("twin") == {}
    assert projector.run_until_caught_up() == 2  # read again from the committed positions
    twin = store.customer(cid)
    assert twin is not None and twin.accounts[0].balance == 9 and twin.events_applied == 2


def test_a_rule_that_fails_drops_what_was_applied_since_the_commit() -> None:
    store = InMemoryStateStore()
    projector, cid = _two_reads_pending(store)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(projector_module, "apply", _failing_apply)
        with pytest.raises(RuntimeError):
            projector.run_once()
    assert projector.run_until_caught_up() == 2
    twin = store.customer(cid)
    assert twin is not None and twin.accounts[0].balance == 9 and twin.events_applied == 2


def _failing_apply(state: Twin | None, event: Event) -> tuple[Twin, list[Event]]:
    raise RuntimeError("a bug in a rule")


def test_stopping_commits_what_was_applied() -> None:
    log, store = InMemoryEventLog(), InMemoryStateStore()
    cid = new_id()
    log.append([registered(cid)])
    projector = Projector(log, store, commit_interval_s=3600)
    projector.run_once()
    stop = threading.Event()
    stop.set()
    projector.run_forever(stop)  # stops at once: commits on the way out
    assert store.customer(cid) is not None


ALERT = "5b0c7e0e-7a43-4c6f-9a52-1c2b3d4e5f60"


def _alert_events(customer: str) -> list[Event]:
    raised = {
        "alertId": ALERT,
        "transactionId": "T1",
        "severity": "high",
        "score": 0.9,
        "reasons": ["new device"],
        "ruleIds": ["R1"],
    }
    return [
        event("fraud.alert_raised", customer, raised, minutes=1),
        event(
            "fraud.alert_status_changed",
            customer,
            {"alertId": ALERT, "status": "investigating"},
            minutes=2,
        ),
        event(
            "fraud.alert_status_changed",
            customer,
            {"alertId": ALERT, "status": "confirmed_fraud"},
            minutes=3,
        ),
        event(
            "fraud.alert_status_changed",
            customer,
            {"alertId": ALERT, "status": "investigating"},
            minutes=4,
        ),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_the_alerts_table_agrees_with_the_twin_whatever_the_arrival_order(
    order: tuple[int, ...],
) -> None:
    customer = new_id()
    events = _alert_events(customer)
    log, store = InMemoryEventLog(), InMemoryStateStore()
    log.append([events[i] for i in order])
    Projector(log, store).run_until_caught_up()
    [alert] = store.fraud_alerts(AlertQuery(), 10, 0).items
    # Settling is final: the "investigating" after "confirmed_fraud" changes nothing.
    assert (alert.status, alert.updated_at) == ("confirmed_fraud", T0 + timedelta(minutes=3))
    assert store.fraud_alerts(AlertQuery(status="open"), 10, 0).items == []
