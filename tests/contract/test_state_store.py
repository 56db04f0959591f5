"""One contract, every state-store adapter: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from banktwin.adapters import open_kv_store, open_state_store
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.customer import CustomerTwin, FraudAlert
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.records import AlertStatusChange, TransactionRecord, records_for
from banktwin.domain.twin import Twin, fold
from banktwin.errors import ConflictError
from banktwin.store.port import AlertQuery, ProjectionChanges, StateStore
from tests.factories import T0, event, new_id, opened, posted, registered


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_state_store(url)
    yield s
    s.close()


def _folded(events: list[Event], state: Twin | None = None) -> Twin:
    twin = fold(events, state)
    assert twin is not None
    return twin


def _customer(customer_id: str, n_transactions: int = 3) -> tuple[Twin, list[Event]]:
    events = [registered(customer_id), opened(customer_id, balance="1000.00")]
    events += [
        posted(customer_id, amount=f"{i + 1}.50", minutes=i + 1) for i in range(n_transactions)
    ]
    return _folded(events), events


def _alert(customer_id: str, minutes: int, status: str = "open") -> FraudAlert:
    at = T0 + timedelta(minutes=minutes)
    return FraudAlert(
        new_id(), customer_id, "TX1", "high", status, 0.9, ("burst",), ("R1",), at, at
    )


class TestStateStoreContract:
    def test_only_embedded_stores_say_their_reads_are_local(
        self, store: StateStore, request: pytest.FixtureRequest
    ) -> None:
        assert store.reads_are_local is (request.node.callspec.params["store"] != "postgres")

    def test_commit_then_load_and_read_back_equal_twins(self, store: StateStore) -> None:
        cid = new_id()
        twin, events = _customer(cid)
        key = (SubjectKind.CUSTOMER, cid)
        rows = [r for e in events for r in records_for(e) if isinstance(r, TransactionRecord)]
        store.commit(
            ProjectionChanges(
                "twin", start={0: 0}, end={0: len(events)}, twins={key: twin}, transactions=rows
            )
        )
        assert store.load([key, (SubjectKind.CUSTOMER, new_id())]) == {key: twin}
        assert store.customer(cid) == twin
        assert store.customer(new_id()) is None
        assert store.positions("twin") == {0: len(events)}
        assert store.positions("someone-else") == {}

    def test_balances_stay_exact_decimals(self, store: StateStore) -> None:
        cid = new_id()
        twin = _folded(
            [opened(cid, balance="0.10"), posted(cid, amount="0.20", direction="credit")]
        )
        store.commit(ProjectionChanges("twin", {}, {0: 2}, {(SubjectKind.CUSTOMER, cid): twin}))
        loaded = store.customer(cid)
        assert loaded is not None and loaded.accounts[0].balance == Decimal("0.30")

    def test_a_commit_from_stale_positions_is_refused_and_writes_nothing(
        self, store: StateStore
    ) -> None:
        cid = new_id()
        twin, _ = _customer(cid)
        store.commit(ProjectionChanges("twin", {0: 0}, {0: 5}))
        with pytest.raises(ConflictError):
            store.commit(
                ProjectionChanges("twin", {0: 0}, {0: 9}, twins={(SubjectKind.CUSTOMER, cid): twin})
            )
        assert store.customer(cid) is None
        assert store.positions("twin") == {0: 5}

    def test_transactions_page_newest_first_with_total(self, store: StateStore) -> None:
        cid = new_id()
        twin, events = _customer(cid, n_transactions=7)
        rows = [r for e in events for r in records_for(e) if isinstance(r, TransactionRecord)]
        store.commit(
            ProjectionChanges(
                "twin",
                {},
                {0: 9},
                {(SubjectKind.CUSTOMER, cid): twin},
                transactions=rows,
            )
        )
        page = store.transactions(cid, limit=3, offset=2)
        assert page.total == 7
        assert [t.amount for t in page.items] == [Decimal("5.50"), Decimal("4.50"), Decimal("3.50")]
        assert page.items[0].merchant == "Corner Grocery"
        assert page.items[0].occurred_at == T0 + timedelta(minutes=5)
        assert store.transactions(new_id(), 10, 0).total == 0

    def test_a_transaction_row_is_keyed_by_customer_time_and_transaction_id(
        self, store: StateStore
    ) -> None:
        cid = new_id()
        again = [
            posted(cid, transaction_id="TX-SAME", minutes=1),
            posted(cid, transaction_id="TX-SAME", minutes=1),  # the same, another event id
            posted(cid, transaction_id="TX-SAME", minutes=2),  # the id reused later
            posted(new_id(), transaction_id="TX-SAME", minutes=1),  # another customer's
        ]
        rows = [r for e in again for r in records_for(e) if isinstance(r, TransactionRecord)]
        store.commit(ProjectionChanges("twin", {}, {0: 4}, {}, transactions=rows))
        page = store.transactions(cid, limit=10, offset=0)
        assert page.total == 2
        assert [t.occurred_at for t in page.items] == [
            T0 + timedelta(minutes=2),
            T0 + timedelta(minutes=1),
        ]
        assert store.transactions(again[3].subject_id, 10, 0).total == 1

    def test_recent_transactions_are_the_newest_optionally_up_to_a_time(
        self, store: StateStore
    ) -> None:
        cid = new_id()
        twin, events = _customer(cid, n_transactions=7)
        rows = [r for e in events for r in records_for(e) if isinstance(r, TransactionRecord)]
        store.commit(
            ProjectionChanges(
                "twin", {}, {0: 9}, {(SubjectKind.CUSTOMER, cid): twin}, transactions=rows
            )
        )
        newest = store.recent_transactions(cid, 2)
        assert [t.amount for t in newest] == [Decimal("7.50"), Decimal("6.50")]
        assert newest == store.transactions(cid, limit=2, offset=0).items
        earlier = store.recent_transactions(cid, 3, until=T0 + timedelta(minutes=3))
        assert [t.occurred_at for t in earlier] == [
            T0 + timedelta(minutes=3),
            T0 + timedelta(minutes=2),
            T0 + timedelta(minutes=1),
        ]
        assert store.recent_transactions(cid, 5, until=T0) == []
        assert store.recent_transactions(new_id(), 5) == []

    def test_fraud_alerts_filter_by_status_and_follow_status_changes(
        self, store: StateStore
    ) -> None:
        cid = new_id()
        alerts = [_alert(cid, minutes=i) for i in range(5)]
        store.commit(ProjectionChanges("twin", {}, {0: 5}, alerts_raised=alerts))
        store.commit(
            ProjectionChanges(
                "twin",
                {0: 5},
                {0: 6},
                alert_changes=[AlertStatusChange(alerts[1].alert_id, "false_positive", T0)],
            )
        )
        everything = store.fraud_alerts(AlertQuery(), 10, 0)
        assert everything.total == 5
        assert [a.alert_id for a in everything.items] == [a.alert_id for a in reversed(alerts)]
        open_page = store.fraud_alerts(AlertQuery(status="open"), 2, 0)
        assert open_page.total == 4 and len(open_page.items) == 2
        closed = store.fraud_alerts(AlertQuery(status="false_positive"), 10, 0)
        assert [a.alert_id for a in closed.items] == [alerts[1].alert_id]
        assert closed.items[0].reasons == ("burst",)

    def test_fraud_alerts_filter_by_every_criterion_in_a_stable_order(
        self, store: StateStore
    ) -> None:
        customers = [new_id(), new_id()]
        alerts = [
            replace(_alert(customers[i % 2], minutes=i // 2), severity=("high", "low")[i % 3 % 2])
            for i in range(6)
        ]  # two per minute: ties broken by alert id, descending
        store.commit(ProjectionChanges("twin", {}, {0: 6}, alerts_raised=alerts))
        newest = sorted(alerts, key=lambda a: (a.raised_at, a.alert_id), reverse=True)

        def listed(query: AlertQuery, limit: int = 10, offset: int = 0) -> list[str]:
            return [a.alert_id for a in store.fraud_alerts(query, limit, offset).items]

        assert listed(AlertQuery()) == [a.alert_id for a in newest]
        assert listed(AlertQuery(), 2, 1) + listed(AlertQuery(), 3, 3) == [
            a.alert_id for a in newest[1:]
        ]
        mine = AlertQuery(customer_id=customers[1])
        assert listed(mine) == [a.alert_id for a in newest if a.customer_id == customers[1]]
        high = AlertQuery(severity="high")
        assert listed(high) == [a.alert_id for a in newest if a.severity == "high"]
        minute = T0 + timedelta(minutes=1)
        since = AlertQuery(raised_since=minute)
        assert listed(since) == [a.alert_id for a in newest if a.raised_at >= minute]
        every = AlertQuery("open", "high", customers[0], T0 + timedelta(minutes=1))
        expected = [
            a.alert_id
            for a in newest
            if a.customer_id == customers[0] and a.severity == "high" and a.raised_at > T0
        ]
        assert listed(every) == expected and store.fraud_alerts(every, 1, 0).total == len(expected)
        assert listed(AlertQuery(status="closed")) == []

    def test_one_fraud_alert_and_one_transaction_by_id(self, store: StateStore) -> None:
        cid = new_id()
        alert = _alert(cid, minutes=1)
        rows = [
            r
            for e in (
                posted(cid, transaction_id="TX1", amount="1.00", minutes=1),
                posted(cid, transaction_id="TX1", amount="2.00", minutes=2),  # posted again
                posted(cid, transaction_id="TX2", minutes=3),
            )
            for r in records_for(e)
            if isinstance(r, TransactionRecord)
        ]
        store.commit(
            ProjectionChanges("twin", {}, {0: 4}, transactions=rows, alerts_raised=[alert])
        )
        assert store.fraud_alert(alert.alert_id) == alert
        assert store.fraud_alert(new_id()) is None
        found = store.transaction(cid, "TX1")
        assert found is not None and found.amount == Decimal("2.00")  # the newest row
        assert store.transaction(cid, "TX3") is None and store.transaction(new_id(), "TX1") is None

    def test_branches_and_loans_are_stored_by_kind(self, store: StateStore) -> None:
        branch_id, loan_id, cid = new_id(), new_id(), new_id()
        branch = _folded([event("branch.opened", branch_id, {"name": "Main St", "capacity": 40})])
        loan = _folded(
            [
                event(
                    "loan.submitted",
                    loan_id,
                    {
                        "customerId": cid,
                        "product": "personal",
                        "amount": "5000",
                        "currency": "EUR",
                        "termMonths": 24,
                    },
                )
            ]
        )
        store.commit(
            ProjectionChanges(
                "twin",
                {},
                {0: 2},
                {
                    (SubjectKind.BRANCH, branch_id): branch,
                    (SubjectKind.LOAN, loan_id): loan,
                },
            )
        )
        assert store.branch(branch_id) == branch
        assert store.loan(loan_id) == loan
        assert store.loans_of(cid) == [loan]
        assert store.customer(branch_id) is None

    def test_reset_starts_an_empty_twin_beside_the_one_readers_are_served(
        self, store: StateStore
    ) -> None:
        cid = new_id()
        twin, _ = _customer(cid)
        key = (SubjectKind.CUSTOMER, cid)
        store.commit(
            ProjectionChanges("twin", {}, {0: 4}, {key: twin}, alerts_raised=[_alert(cid, 1)])
        )
        store.reset()
        assert store.rebuilding()
        assert store.positions("twin") == {} and store.load([key]) == {}  # the projector's
        assert store.customer(cid) == twin  # readers' until the new one has caught up
        assert store.fraud_alerts(AlertQuery(), 10, 0).total == 1

    def test_updating_a_twin_replaces_it(self, store: StateStore) -> None:
        cid = new_id()
        twin, _ = _customer(cid)
        assert isinstance(twin, CustomerTwin)
        key = (SubjectKind.CUSTOMER, cid)
        store.commit(ProjectionChanges("twin", {}, {0: 1}, {key: twin}))
        newer = replace(twin, name="Jane Roe")
        store.commit(ProjectionChanges("twin", {0: 1}, {0: 2}, {key: newer}))
        assert store.customer(cid) == newer

    def test_ping_succeeds_on_a_reachable_store(self, store: StateStore) -> None:
        store.ping()

    def test_customer_version_moves_with_the_customer_and_their_loans(
        self, store: StateStore
    ) -> None:
        cid, loan_id = new_id(), new_id()
        assert store.customer_version(cid) is None
        twin, _ = _customer(cid)
        key = (SubjectKind.CUSTOMER, cid)
        store.commit(ProjectionChanges("twin", {}, {0: 1}, {key: twin}))
        first = store.customer_version(cid)
        loan = _folded(
            [
                event(
                    "loan.submitted",
                    loan_id,
                    {
                        "customerId": cid,
                        "product": "auto",
                        "amount": "900",
                        "currency": "EUR",
                        "termMonths": 12,
                    },
                )
            ]
        )
        store.commit(ProjectionChanges("twin", {0: 1}, {0: 2}, {(SubjectKind.LOAN, loan_id): loan}))
        second = store.customer_version(cid)
        newer = _folded([posted(cid)], twin)
        store.commit(ProjectionChanges("twin", {0: 2}, {0: 3}, {key: newer}))
        third = store.customer_version(cid)
        assert first is not None and len({first, second, third}) == 3


@pytest.fixture(params=["sqlite", "postgres"])
def durable_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _commit_one_customer(store: StateStore) -> str:
    cid = new_id()
    twin, _ = _customer(cid)
    store.commit(
        ProjectionChanges(
            "twin", store.positions("twin"), {0: 3}, {(SubjectKind.CUSTOMER, cid): twin}
        )
    )
    return cid


def test_reopening_keeps_the_twin_and_other_consumers_state(durable_store_url: str) -> None:
    store = open_state_store(durable_store_url)
    kept = _commit_one_customer(store)
    store.close()
    kv = open_kv_store(durable_store_url)
    kv.commit(Checkpoint("kpis", {}, {0: 5}), {"0000/totals": b"{}"})  # another consumer's
    kv.close()

    store = open_state_store(durable_store_url)  # the same build again: nothing moves
    kv = open_kv_store(durable_store_url)
    try:
        assert store.customer(kept) is not None and store.positions("twin") == {0: 3}
        assert [g.generation.state for g in store.generations()] == ["active"]
        assert kv.positions("kpis") == {0: 5} and kv.get_many("kpis", ["0000/totals"])
    finally:
        store.close()
        kv.close()
