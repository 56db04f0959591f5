"""Rows the SQL stores write for a twin."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from banktwin.domain.customer import Account
from banktwin.domain.customer_rules import new_customer
from banktwin.domain.evolve import evolve
from banktwin.store.rows import account_rows

AT = datetime(2025, 9, 15, 14, 0, tzinfo=UTC)


def _account(account_id: str, balance: str) -> Account:
    return Account(account_id, "checking", "EUR", Decimal(balance), "active", AT, AT)


def test_every_account_has_a_row_when_the_stored_twin_is_unknown() -> None:
    twin = evolve(new_customer("c1", AT), accounts=(_account("a1", "1.00"), _account("a2", "2.00")))
    rows = account_rows(twin, str, datetime.isoformat)
    assert [(r[0], r[4]) for r in rows] == [("a1", "1.00"), ("a2", "2.00")]


def test_only_changed_accounts_have_rows_when_the_stored_twin_is_known() -> None:
    kept, moved = _account("a1", "1.00"), _account("a2", "2.00")
    before = evolve(new_customer("c1", AT), accounts=(kept, moved))
    opened = _account("a3", "0.00")
    after = evolve(before, accounts=(kept, moved._replace(balance=Decimal("5.00")), opened))
    rows = account_rows(after, str, datetime.isoformat, before)
    assert [(r[0], r[4]) for r in rows] == [("a2", "5.00"), ("a3", "0.00")]
    assert account_rows(before, str, datetime.isoformat, before) == []
