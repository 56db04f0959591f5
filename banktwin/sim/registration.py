"""The bank's past before the simulated window: customers registering (on their
customer-since date), accounts opening, devices first seen, first bureau reports, and each
branch's last business day with its full details.

These events are dated before the window and come out first, in time order, so a customer's
``customer.registered`` precedes everything else about them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from banktwin.domain.payloads.account import AccountOpened
from banktwin.domain.payloads.branch import BranchClosed
from banktwin.domain.payloads.common import Payload
from banktwin.domain.payloads.customer import CustomerDeviceSeen, CustomerRegistered
from banktwin.sim.bank_model import SimBranch, SimCustomer
from banktwin.sim.branch_days import details, opening_hours
from banktwin.sim.context import SimContext
from banktwin.sim.credit_bureau import CreditBureau
from banktwin.sim.ledger import money
from banktwin.sim.timeline import DAY, MINUTE, local_date, local_instant, to_datetime

PastEvent = tuple[int, int, str, Payload]
"""(instant, order of making, subject id, payload)."""


def _registered(customer: SimCustomer, start_day: date) -> CustomerRegistered:
    fields: dict[str, Any] = {
        "name": customer.name,
        "country": customer.country.code,
        "segment": customer.segment,
        "consent": customer.consent,
    }
    if customer.has_dob:
        fields["dob"] = start_day - timedelta(days=customer.age_days)
    for name in ("email", "address", "phone"):
        value = getattr(customer, name)
        if value is not None:
            fields[name] = value
    return CustomerRegistered(**fields)


def _days_before(ctx: SimContext, customer: SimCustomer, days_ago: float) -> int:
    """An instant during local business hours ``days_ago`` days before the window."""
    day = local_date(customer.home, ctx.start - round(days_ago * DAY))
    return local_instant(customer.home, day, ctx.rng.uniform(480, 1140))


def customer_history(
    ctx: SimContext, customer: SimCustomer, bureau: CreditBureau
) -> list[PastEvent]:
    """A customer's events before the window."""
    rng, subject = ctx.rng, customer.customer_id
    registered = min(_days_before(ctx, customer, customer.since_days_ago), ctx.start - DAY)
    start_day = to_datetime(ctx.start).date()
    made: list[tuple[int, Payload]] = [(registered, _registered(customer, start_day))]
    for account in customer.accounts:
        opened = _days_before(ctx, customer, account.opened_days_ago)
        opened = min(max(opened, registered + rng.randint(2, 30) * MINUTE), ctx.start - MINUTE)
        payload = AccountOpened(
            account_id=account.account_id,
            type=account.type,
            currency=account.currency,
            balance=money(account.balance),
            status=account.status,
        )
        made.append((opened, payload))
    for device in customer.devices:
        seen = _days_before(ctx, customer, device.first_seen_days_ago)
        seen = min(max(seen, registered + rng.randint(5, 60) * MINUTE), ctx.start - MINUTE)
        made.append(
            (
                seen,
                CustomerDeviceSeen(
                    device_id=device.device_id, platform=device.platform, model=device.model
                ),
            )
        )
    if customer.credit_score is not None:
        scored = registered + round(rng.uniform(0.2, 10) * DAY)
        if scored < ctx.start:
            made.append((scored, bureau.report(customer)))
    made.sort(key=lambda item: item[0])
    return [(at, i, subject, payload) for i, (at, payload) in enumerate(made)]


def branch_history(ctx: SimContext, branch: SimBranch) -> list[PastEvent]:
    """The branch's last full business day before the window: opened with all its details,
    then closed."""
    day = local_date(branch.city, ctx.start)
    for _ in range(14):
        hours = opening_hours(branch, day)
        if hours is not None and hours[1] <= ctx.start:
            return [
                (hours[0], 0, branch.branch_id, details(branch)),
                (hours[1], 1, branch.branch_id, BranchClosed()),
            ]
        day -= timedelta(days=1)
    return []


def emit_history(ctx: SimContext, bureau: CreditBureau, more: Iterable[PastEvent] = ()) -> None:
    """Emit the whole past, in time order, with ``more`` of it (the loans' servicing)."""
    past: list[PastEvent] = list(more)
    for customer in ctx.bank.customers:
        past.extend(customer_history(ctx, customer, bureau))
    for branch in ctx.bank.branches:
        past.extend(branch_history(ctx, branch))
    past.sort(key=lambda item: item[0])
    for at, _, subject, payload in past:
        ctx.emitter.emit(payload, subject, at)
