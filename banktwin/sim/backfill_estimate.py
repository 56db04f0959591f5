"""How many events a backfill will make, estimated from the bank's rates (for progress bars)."""

from __future__ import annotations

from banktwin.domain.payloads.account import AccountType
from banktwin.sim.bank import Bank
from banktwin.sim.bank_model import SimBranch
from banktwin.sim.customer_activity import RARE_ACTIVITY_PER_DAY
from banktwin.sim.rhythms import BRANCH_VISITS_BY_HOUR, BRANCH_VISITS_DEFAULT

DAYS_PER_MONTH = 30.44
EVENTS_PER_LOGIN = 1.04
EVENTS_PER_TRANSFER = 1.25
EVENTS_PER_LOAN = 6.3
BUREAU_UPDATES_PER_DAY = 1 / 60
PURCHASES_DECLINED = 0.03


def _branch_events_per_day(branch: SimBranch) -> float:
    """Average events per calendar day of a branch."""
    per_week = 0.0
    for hours in branch.open_hours.values():
        start, end = (int(t[:2]) + int(t[3:]) / 60 for t in hours.split("-"))
        visit_hours = range(int(start), int(end - 1 / 3))
        weight = sum(BRANCH_VISITS_BY_HOUR.get(h, BRANCH_VISITS_DEFAULT) for h in visit_hours)
        visitors = branch.arrivals_per_hour * weight
        staff = len(branch.staff) * 0.92 * (2 + 0.35 * 2)
        per_week += 2 * visitors + staff + 2
    return per_week / 7


def estimate_backfill_events(bank: Bank, history_days: int) -> int:
    """Events of a backfill over ``history_days`` days, the registration history included."""
    history = sum(
        1 + len(c.accounts) + len(c.devices) + (c.credit_score is not None) for c in bank.customers
    )
    history += 2 * sum(1 for b in bank.branches if b.open_hours)
    per_day = 0.0
    for c in bank.customers:
        p = c.profile
        per_day += p.purchases_per_day * (1 - PURCHASES_DECLINED)
        per_day += p.logins_per_day * EVENTS_PER_LOGIN + p.transfers_per_day * EVENTS_PER_TRANSFER
        per_day += sum(RARE_ACTIVITY_PER_DAY.values()) - RARE_ACTIVITY_PER_DAY["loan"]
        per_day += RARE_ACTIVITY_PER_DAY["loan"] * EVENTS_PER_LOAN
        monthly = 1 + (p.rent > 0) + 2 * (c.account_of(AccountType.CREDIT_CARD) is not None)
        per_day += monthly / DAYS_PER_MONTH
        per_day += BUREAU_UPDATES_PER_DAY if c.credit_score is not None else 0.0
    per_day += sum(_branch_events_per_day(b) for b in bank.branches)
    return round(history + per_day * history_days)
