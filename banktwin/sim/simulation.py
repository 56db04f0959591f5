"""The simulation: one generator of bank activity, run as a backfill or live.

A backfill makes the bank's past (registrations, account openings …, dated before the
window) and then ``history_days`` of activity up to ``end``, as fast as it can. Live mode
continues the same simulation in step with a clock (see :func:`banktwin.sim.run_live`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from banktwin.domain.events import Event
from banktwin.sim.backfill_estimate import estimate_backfill_events
from banktwin.sim.bank import Bank, build_bank
from banktwin.sim.branch_days import BranchOperations
from banktwin.sim.card_spending import CardSpending
from banktwin.sim.config import SimConfig
from banktwin.sim.context import SimContext
from banktwin.sim.credit_bureau import CreditBureau
from banktwin.sim.customer_activity import CustomerActivity
from banktwin.sim.digital_banking import DigitalBanking
from banktwin.sim.emitter import EventEmitter
from banktwin.sim.fraud_incident import AVERAGE_FRAUD_TRANSACTIONS
from banktwin.sim.fraud_injector import FraudInjector
from banktwin.sim.fraud_reports import FraudReports
from banktwin.sim.ground_truth import GroundTruthStore, Scenario
from banktwin.sim.identifiers import RunIds
from banktwin.sim.ledger import Ledger
from banktwin.sim.loan_pipeline import LoanPipeline
from banktwin.sim.loan_servicing import LoanServicing
from banktwin.sim.money_movements import MoneyMovements
from banktwin.sim.registration import emit_history
from banktwin.sim.scheduler import Scheduler
from banktwin.sim.timeline import DAY, to_datetime, to_micros

DEFAULT_EVENTS_PER_ARRIVAL = 1.05
MIN_ARRIVALS_MEASURED = 200


@dataclass(frozen=True, slots=True)
class _Run:
    ctx: SimContext
    activity: CustomerActivity
    fraud: FraudInjector


class Simulation:
    """A deterministic synthetic bank and its activity.

    The bank is built from ``config.seed`` on construction; events are made by
    :meth:`backfill` (once) and then :meth:`advance_to` (live). Fraud labels go to ``truth``
    (when given) before the events they label are handed out.
    """

    def __init__(self, config: SimConfig, truth: GroundTruthStore | None = None) -> None:
        self.config = config
        self._truth = truth
        self.bank: Bank = build_bank(config)
        self._run: _Run | None = None

    @property
    def simulated_until(self) -> datetime | None:
        """The simulated instant reached (``None`` before the simulation starts)."""
        return None if self._run is None else to_datetime(self._run.ctx.scheduler.now)

    def sample_customer_id(self) -> str:
        """A customer of the bank (the same one for the same seed), for examples."""
        return self.bank.customers[0].customer_id

    def sample_branch_id(self) -> str | None:
        """A branch of the bank (``None`` when it has none), for examples."""
        return self.bank.branches[0].branch_id if self.bank.branches else None

    def estimated_backfill_events(self) -> int:
        """About how many events :meth:`backfill` makes (for a progress bar's total)."""
        return estimate_backfill_events(self.bank, self.config.history_days)

    def backfill(self, end: datetime, batch_size: int = 5000) -> Iterator[list[Event]]:
        """The bank's history, then activity over ``[end - history_days, end]``, in batches of
        at most ``batch_size`` events in time order.

        Raises:
            ValueError: ``end`` is naive or ``batch_size`` is not positive.
            RuntimeError: the simulation already ran (make a new one to backfill again).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        end_micros = to_micros(end)
        if self._run is not None:
            raise RuntimeError("this simulation has already started; create a new Simulation")
        run = self._start(end_micros - self.config.history_days * DAY)
        return self._batches(run, end_micros, batch_size)

    def resume(self, at: datetime) -> None:
        """Continue, from ``at``, a bank whose history the twin already holds (a restarted
        demo): the bank's past is not handed out again, and this run's event, transaction,
        ticket and loan ids differ from every earlier run's. Then use :meth:`advance_to`.

        Raises:
            ValueError: ``at`` is naive.
            RuntimeError: the simulation already started.
        """
        if self._run is not None:
            raise RuntimeError("this simulation has already started; create a new Simulation")
        start = to_micros(at)
        run = self._start(start, run_key=f"resume/{self.config!r}@{start}")
        run.ctx.emitter.take()  # the bank's past: already in the log
        run.ctx.emitter.take_labels()

    def advance_to(self, until: datetime) -> list[Event]:
        """Every event due up to ``until`` (all of the bank's history first if the simulation
        had not started). Asking for an instant already passed returns nothing."""
        until_micros = to_micros(until)
        run = self._run or self._start(until_micros)
        scheduler = run.ctx.scheduler
        scheduler.run_until(until_micros)
        self._flush_labels()
        return run.ctx.emitter.take()

    def start_fraud(self, scenario: Scenario | str) -> str | None:
        """Start an incident of ``scenario`` at the simulation's current instant, against the
        first customer (in the bank's order) it fits; its events come with the next
        :meth:`advance_to`, labelled in the ground truth. Returns the victim's customer id
        (``None``: no customer fits).

        Raises:
            RuntimeError: the simulation has not started.
        """
        if self._run is None:
            raise RuntimeError("start the simulation (backfill or advance_to) before a fraud")
        run = self._run
        for customer in self.bank.customers:
            if run.fraud.start(Scenario(scenario), customer, run.ctx.scheduler.now):
                return customer.customer_id
        return None

    def set_live_rate(self, events_per_second: float | None) -> None:
        """Pace customer activity to about ``events_per_second`` from now on (``None``: the
        natural pace of the bank's size). Branch days, salaries and loan stages keep to the
        calendar.

        Raises:
            RuntimeError: the simulation has not started.
            ValueError: the rate is not positive.
        """
        if self._run is None:
            raise RuntimeError("start the simulation (backfill or advance_to) before pacing it")
        activity = self._run.activity
        if events_per_second is None:
            activity.set_pace(None, self._run.ctx.scheduler.now)
            return
        if events_per_second <= 0:
            raise ValueError(f"the rate must be positive, got {events_per_second}")
        measured = activity.arrivals >= MIN_ARRIVALS_MEASURED
        per_arrival = (
            activity.arrival_events / activity.arrivals if measured else DEFAULT_EVENTS_PER_ARRIVAL
        )
        activity.set_pace(events_per_second / per_arrival, self._run.ctx.scheduler.now)

    def _batches(self, run: _Run, end: int, batch_size: int) -> Iterator[list[Event]]:
        scheduler, emitter = run.ctx.scheduler, run.ctx.emitter
        while True:
            exhausted = False
            while emitter.pending() < batch_size:
                if not scheduler.run_next(end):
                    exhausted = True
                    break
            if emitter.pending():
                self._flush_labels()
                yield emitter.take(batch_size)
            elif exhausted:
                break
        scheduler.advance(end)

    def _flush_labels(self) -> None:
        if self._run is None:
            return
        labels, instances = self._run.ctx.emitter.take_labels()
        if self._truth is not None:
            self._truth.record(labels, instances)

    def _start(self, start: int, run_key: str | None = None) -> _Run:
        config = self.config
        ids = RunIds(config.seed, run_key or f"{config!r}@{start}", resumed=run_key is not None)
        emitter = EventEmitter(ids, config.source)
        scheduler = Scheduler(now=start)
        ctx = SimContext(
            config=config,
            bank=self.bank,
            rng=random.Random(f"activity/{config.seed}"),
            scheduler=scheduler,
            emitter=emitter,
            ids=ids,
            ledger=Ledger(emitter, ids),
            reports=FraudReports(config.seed, scheduler, emitter),
            start=start,
        )
        spending, banking = CardSpending(ctx), DigitalBanking(ctx)
        # Interest arrives as a new absolute balance: a resumed run does not know the balances
        # the twin holds (only the opening ones), so it books none.
        movements = MoneyMovements(ctx, books_interest=run_key is None)
        bureau = CreditBureau(ctx)
        servicing = LoanServicing(ctx)
        loans = LoanPipeline(ctx, bureau, servicing.open_facility)
        branches = BranchOperations(ctx)
        fraud = FraudInjector(ctx, spending, banking)
        activity = CustomerActivity(
            ctx,
            actions={
                "purchase": spending.purchase,
                "login": banking.login,
                "transfer": movements.transfer,
                "profile": banking.update_profile,
                "consent": banking.change_consent,
                "status": banking.change_account_status,
                "loan": loans.submit,
            },
            fraud=fraud.inject,
            fraud_share=config.fraud_rate / AVERAGE_FRAUD_TRANSACTIONS,
        )
        emit_history(ctx, bureau, servicing.history())
        if self._truth is not None:
            self._truth.record_credit_quality(servicing.qualities())
        for customer in self.bank.customers:
            movements.start(customer, start)
            bureau.start(customer, start)
        servicing.start()
        for branch in self.bank.branches:
            branches.start(branch, start)
        activity.start(start)
        self._run = _Run(ctx, activity, fraud)
        return self._run
