"""Resuming a bank whose history the twin already holds (a restarted demo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from banktwin.domain.payloads.account import AccountBalanceChanged
from banktwin.sim import SimConfig, Simulation

END = datetime(2025, 6, 18, 12, tzinfo=UTC)
CONFIG = SimConfig(customers=40, branches=2, seed=7, history_days=2)


def test_a_resumed_run_sends_no_history_and_reuses_no_id() -> None:
    first = Simulation(CONFIG)
    earlier = [e for batch in first.backfill(end=END) for e in batch]
    earlier += first.advance_to(END + timedelta(hours=6))
    resumed = Simulation(CONFIG)
    resumed.resume(END + timedelta(days=1))
    later = resumed.advance_to(END + timedelta(days=1, hours=6))
    assert later, "the resumed bank is active"
    assert not {e.type for e in later} & {"customer.registered", "account.opened"}
    assert {e.event_id for e in later}.isdisjoint(e.event_id for e in earlier)

    def keys(events: list) -> set[str]:  # type: ignore[type-arg]
        found = set()
        for e in events:
            if e.type == "transaction.posted":
                found.add(e.payload.transaction_id)
            if e.type.startswith("loan."):
                found.add(e.subject_id)
        return found

    assert keys(later).isdisjoint(keys(earlier))
    customers = {e.subject_id for e in earlier if e.type == "customer.registered"}
    assert {e.subject_id for e in later if e.type == "transaction.posted"} <= customers


def test_resume_refuses_a_started_simulation() -> None:
    sim = Simulation(CONFIG)
    sim.resume(END)
    with pytest.raises(RuntimeError):
        sim.resume(END)


def test_only_a_run_that_knows_the_balances_books_interest() -> None:
    first_of_july = datetime(2025, 7, 1, 12, tzinfo=UTC)  # the core's run was at 02:00 local
    fresh = Simulation(CONFIG)
    booked = [
        e
        for batch in fresh.backfill(end=first_of_july)
        for e in batch
        if e.type == "account.balance_changed"
    ]
    assert booked and all(
        cast(AccountBalanceChanged, e.payload).reason == "Interest" for e in booked
    )
    resumed = Simulation(CONFIG)
    resumed.resume(first_of_july - timedelta(days=2))
    later = resumed.advance_to(first_of_july)
    assert later and not [e for e in later if e.type == "account.balance_changed"]
