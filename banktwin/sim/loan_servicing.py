"""Loan servicing: monthly instalments paid or missed, arrears, defaults and charge-offs.

Each facility (:mod:`banktwin.sim.credit_facilities`) falls due monthly, at the servicing
system's evening run on its due day. Whether the customer pays depends on their latent credit
quality and their liquidity then (:mod:`banktwin.sim.credit_quality`), and a payment needs the
money on the checking account (topped up from savings if need be): a payment is a debit of
checking and a credit of the facility's account, and a ``credit.payment_made``. A miss is a
``credit.payment_missed`` with the days past due since the oldest unpaid instalment; a customer
in arrears settles them all at a later due date, or falls further behind. At 90 days past due
the facility defaults (``credit.defaulted``) and nothing more falls due; a customer who
becomes unable to pay at all (insolvency) defaults at a due date, in arrears or not (the
"unlikely to pay" default of the EBA's definition). 30 to 90 days later
(120 to 180 days past due) the bank charges it off (``credit.charged_off``). A customer 30
days behind, and one in default, is reported to the credit bureau: more delinquencies and a
lower score in the next report.

**The past.** A bank's loans have a history before the simulated window. The facilities
customers hold when it starts are paid out in the bank's past (``account.opened``), and their
last year of servicing is simulated before the window (:data:`HISTORY_DAYS`): misses, late
payments, defaults and charge-offs dated before the window come with the bank's past, so the
window starts with a realistic share of facilities in arrears and defaults and charge-offs
happen from its first weeks. Instalments paid on time before the window are not sent (the
balances the accounts open with already hold them).

Everything random here comes from a stream of its own, so the activity of the rest of the bank
is unchanged except where servicing touches it (a repayment moves the checking balance).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

from banktwin.domain.payloads.account import AccountOpened, AccountType, Channel, Direction
from banktwin.domain.payloads.common import Payload
from banktwin.domain.payloads.credit import (
    DEFAULT_DAYS_PAST_DUE,
    CreditChargedOff,
    CreditDefaulted,
    CreditPaymentMade,
    CreditPaymentMissed,
)
from banktwin.domain.payloads.loan import LoanProduct
from banktwin.sim.bank_model import SimAccount, SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.credit_bureau import clamp_score
from banktwin.sim.credit_facilities import SimFacility, existing_facilities, new_facility
from banktwin.sim.credit_quality import (
    cure_probability,
    insolvency_probability,
    latent_quality,
    liquidity,
    miss_probability,
    observable_quality,
)
from banktwin.sim.ground_truth import CreditQuality
from banktwin.sim.identifiers import account_number
from banktwin.sim.ledger import money
from banktwin.sim.money_movements import next_monthly
from banktwin.sim.registration import PastEvent
from banktwin.sim.timeline import DAY, local_date, local_instant

HISTORY_DAYS = 365
"""How much of the existing facilities' servicing is simulated before the window."""
FIRST_DUE_AFTER_DAYS = 20
"""A new facility's first instalment falls due on its due day at least this long after it is
paid out."""
CHARGE_OFF_AFTER_DEFAULT_DAYS = (30, 90)
"""Days from default to charge-off (so 120 to 180 days past due)."""
BUREAU_PENALTY_30_DAYS = (15, 40)
BUREAU_PENALTY_DEFAULT = (50, 100)
"""Points the bureau score drops when a facility is 30 days behind, and when it defaults."""
SERVICER = "Loan servicing"


def _paying_account(customer: SimCustomer) -> SimAccount | None:
    """The account instalments are collected from: checking, or savings without one."""
    return customer.account_of(AccountType.CHECKING) or customer.account_of(AccountType.SAVINGS)


class LoanServicing:
    """Keeps every facility of the bank and services it (see the module)."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self._rng = random.Random(f"loan-servicing/{ctx.config.seed}")
        self._taken = {a.account_id for c in ctx.bank.customers for a in c.accounts}
        self._quality: dict[str, float] = {}
        self._observable: dict[str, float] = {}
        self.facilities: list[SimFacility] = []
        self._past: list[tuple[int, str, Payload]] | None = None
        self._past_heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._sequence = 0

    def quality(self, customer: SimCustomer) -> float:
        """The customer's latent credit quality (drawn once, before any servicing moves the
        bureau's view of them)."""
        known = self._quality.get(customer.customer_id)
        if known is None:
            self._observable[customer.customer_id] = observable_quality(customer)
            known = self._quality[customer.customer_id] = latent_quality(customer, self._rng)
        return known

    def qualities(self) -> list[CreditQuality]:
        """Every customer's latent credit quality (for the ground truth)."""
        return [
            CreditQuality(c.customer_id, self.quality(c), self._observable[c.customer_id])
            for c in self._ctx.bank.customers
        ]

    # --- The past: facilities held when the window starts, and their last year ---

    def history(self) -> list[PastEvent]:
        """The facilities' openings and servicing before the window (for the bank's past);
        afterwards :meth:`start` schedules what falls due in the window."""
        start = self._ctx.start
        self._past = []
        for customer in self._ctx.bank.customers:
            self.quality(customer)
            for facility in existing_facilities(customer, self._rng, self._taken):
                self.facilities.append(facility)
                opened = self._opened_at(facility)
                self._past.append((opened, customer.customer_id, self._opening(facility)))
                first = max(opened + FIRST_DUE_AFTER_DAYS * DAY, start - HISTORY_DAYS * DAY)
                facility.next_due = self._due_after(facility, first)
                self._schedule(facility.next_due, self._due, facility)
        while self._past_heap and self._past_heap[0][0] < start:
            at, _, action, args = heapq.heappop(self._past_heap)
            action(at, *args)
        self._past_heap.clear()
        past, self._past = self._past, None
        return [(at, i, subject, payload) for i, (at, subject, payload) in enumerate(past)]

    def start(self) -> None:
        """Schedule, in the window, what falls due after the past (:meth:`history` first)."""
        start, at = self._ctx.start, self._ctx.scheduler.at
        for f in self.facilities:
            if f.closed:
                continue
            if f.defaulted:
                if f.charge_off_at is not None:
                    at(max(f.charge_off_at, start), self._charge_off, f)
                continue
            at(max(f.next_due, start), self._due, f)
            if f.oldest_unpaid is not None:
                due = f.oldest_unpaid + DEFAULT_DAYS_PAST_DUE * DAY
                at(max(due, start), self._default, f, f.oldest_unpaid)

    def _opened_at(self, f: SimFacility) -> int:
        home, start = f.customer.home, self._ctx.start
        day = local_date(home, start - round(f.opened_days_ago * DAY))
        return min(local_instant(home, day, self._rng.uniform(540, 1020)), start - DAY)

    # --- The window: loans the pipeline pays out ---

    def open_facility(
        self,
        customer: SimCustomer,
        product: LoanProduct,
        principal: int,
        months: int,
        application_id: str,
        at: int,
    ) -> None:
        """A loan of ``principal`` cents over ``months`` is paid out now: its account opens
        and its first instalment is scheduled."""
        account_id = account_number(random.Random(application_id), self._taken)
        f = new_facility(customer, product, principal, months, account_id, self._rng)
        self.facilities.append(f)
        self._emit(self._opening(f), customer.customer_id, at)
        f.next_due = self._due_after(f, at + FIRST_DUE_AFTER_DAYS * DAY)
        self._schedule(f.next_due, self._due, f)

    # --- Servicing, the same before and in the window ---

    def _due(self, at: int, f: SimFacility) -> None:
        if f.closed or f.defaulted:
            return
        customer = f.customer
        rng = self._rng
        if self._past is not None:
            cash = rng.gauss(0.5, 0.4)  # balances before the window are not simulated
        else:
            paying = _paying_account(customer)
            balance = -customer.profile.monthly_income if paying is None else paying.balance
            cash = liquidity(balance, customer.profile.monthly_income)
        quality = self.quality(customer)
        if rng.random() < insolvency_probability(quality, cash):
            self._unable_to_pay(f, at)
            return
        owed = min(f.arrears + 1, f.remaining)
        if f.arrears:
            pays = rng.random() < cure_probability(quality, cash)
        else:
            pays = rng.random() >= miss_probability(quality, cash)
        if pays and self._collect(f, owed * f.installment, at):
            self._paid(f, owed, at)
        else:
            self._missed(f, owed, at)
        if not f.closed:
            f.next_due = self._due_after(f, at + 1)
            self._schedule(f.next_due, self._due, f)

    def _collect(self, f: SimFacility, cents: int, at: int) -> bool:
        """Take ``cents`` from the customer's checking account to the facility's (always
        possible before the window, whose balances are not simulated)."""
        if self._past is not None:
            return True
        customer, ledger = f.customer, self._ctx.ledger
        paying = _paying_account(customer)
        if paying is None or not ledger.ensure_funds(customer, paying, cents, at):
            return False
        ledger.post(
            customer,
            paying,
            cents,
            at,
            channel=Channel.TRANSFER,
            merchant=SERVICER,
            description="Loan repayment",
        )
        ledger.post(
            customer,
            f.account,
            cents,
            at,
            channel=Channel.TRANSFER,
            direction=Direction.CREDIT,
            description="Repayment received",
        )
        return True

    def _paid(self, f: SimFacility, instalments: int, at: int) -> None:
        late = f.arrears > 0
        f.remaining -= instalments
        f.arrears, f.oldest_unpaid = 0, None
        f.closed = f.remaining <= 0
        if late or self._past is None:
            payload = CreditPaymentMade(
                facility_id=f.facility_id,
                amount=money(instalments * f.installment),
                currency=f.account.currency,
                late=late,
                product=f.product,
            )
            self._emit(payload, f.customer.customer_id, at)

    def _missed(self, f: SimFacility, owed: int, at: int) -> None:
        if f.oldest_unpaid is None:
            f.oldest_unpaid = at
            due = at + DEFAULT_DAYS_PAST_DUE * DAY
            self._schedule(due, self._default, f, at)
        if f.arrears < 2 <= owed:  # a month behind: the bureau hears of it
            self._report_to_bureau(f.customer, BUREAU_PENALTY_30_DAYS)
        f.arrears = owed
        days = (at - f.oldest_unpaid) // DAY + 1
        payload = CreditPaymentMissed(
            facility_id=f.facility_id,
            amount_due=money(owed * f.installment),
            currency=f.account.currency,
            days_past_due=days,
            product=f.product,
        )
        self._emit(payload, f.customer.customer_id, at)

    def _unable_to_pay(self, f: SimFacility, at: int) -> None:
        """The customer cannot pay any more (insolvency): the facility defaults now."""
        if f.oldest_unpaid is None:
            f.oldest_unpaid = at
        self._default(at, f, f.oldest_unpaid)

    def _default(self, at: int, f: SimFacility, oldest: int) -> None:
        if f.closed or f.defaulted or f.oldest_unpaid != oldest:
            return  # settled since (or already in default)
        f.defaulted = True
        self._report_to_bureau(f.customer, BUREAU_PENALTY_DEFAULT)
        payload = CreditDefaulted(
            facility_id=f.facility_id,
            outstanding=money(f.outstanding),
            currency=f.account.currency,
            days_past_due=(at - oldest) // DAY,
            product=f.product,
        )
        self._emit(payload, f.customer.customer_id, at)
        f.charge_off_at = at + round(self._rng.uniform(*CHARGE_OFF_AFTER_DEFAULT_DAYS) * DAY)
        self._schedule(f.charge_off_at, self._charge_off, f)

    def _charge_off(self, at: int, f: SimFacility) -> None:
        if f.closed:
            return
        f.closed = True
        assert f.oldest_unpaid is not None
        payload = CreditChargedOff(
            facility_id=f.facility_id,
            amount=money(f.outstanding),
            currency=f.account.currency,
            days_past_due=(at - f.oldest_unpaid) // DAY,
            product=f.product,
        )
        self._emit(payload, f.customer.customer_id, at)

    def _report_to_bureau(self, customer: SimCustomer, penalty: tuple[int, int]) -> None:
        """The bureau learns of the delinquency: its next report shows it."""
        customer.delinquencies += 1
        if customer.credit_score is not None:
            drop = self._rng.randint(*penalty)
            customer.credit_score = clamp_score(customer.credit_score - drop)

    # --- Plumbing: the past is collected, the window emitted and scheduled ---

    def _opening(self, f: SimFacility) -> AccountOpened:
        return AccountOpened(
            account_id=f.facility_id,
            type=f.account.type,
            currency=f.account.currency,
            balance=money(f.account.balance),
        )

    def _due_after(self, f: SimFacility, after: int) -> int:
        return next_monthly(f.customer.home, after, f.due_day, f.due_minute)

    def _emit(self, payload: Payload, subject: str, at: int) -> None:
        if self._past is not None:
            self._past.append((at, subject, payload))
        else:
            self._ctx.emitter.emit(payload, subject, at)

    def _schedule(self, due: int, action: Callable[..., None], *args: Any) -> None:
        if self._past is not None:
            self._sequence += 1
            heapq.heappush(self._past_heap, (due, self._sequence, action, args))
        else:
            self._ctx.scheduler.at(due, action, *args)
