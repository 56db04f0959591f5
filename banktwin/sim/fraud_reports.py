"""Fraud reports: the ground truth told to the bank, late, as ``fraud.reported`` events.

A victim notices the fraud some days after it (on a statement, a declined card, an alert
text), or the bank's own investigation confirms it; either way the label reaches the bank
well after the transaction. Each victim of an incident reports once: every fraudulent
transaction of theirs in that incident at the same instant, a delay after the first of them
(and never less than :data:`MIN_REPORT_DELAY` after the transaction it names; docs/simulator.md
has the model). The reports are
scheduled like any other future activity, so a backfill hands out only those due by its end,
and live mode sends the rest when the clock reaches them.

The delays and kinds come from a random stream of their own, so the bank's activity (what
happens, when) is the same with or without the reports; only the event ids, minted in order,
move.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import cast

from banktwin.domain.events import Event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.fraud_report import FraudReported, FraudReportKind
from banktwin.sim.emitter import EventEmitter
from banktwin.sim.ground_truth import Scenario
from banktwin.sim.scheduler import Scheduler
from banktwin.sim.timeline import DAY, SECOND

MIN_REPORT_DELAY = DAY
"""The least time between a fraudulent transaction and its report."""
MAX_REPORT_DELAY = 42 * DAY
"""The most time between a fraudulent transaction and its report."""
SOON = (1, 10)
"""Days after the first fraudulent transaction most victims report (uniform)."""
LATE = (10, 42)
"""Days after it the others report (a statement read late, a slow investigation)."""
LATE_SHARE = 0.15

_CARD_KINDS = ((FraudReportKind.DISPUTE, 0.75), (FraudReportKind.CHARGEBACK, 0.25))
KINDS: dict[Scenario, tuple[tuple[FraudReportKind, float], ...]] = {
    Scenario.COMPROMISED_CARD: _CARD_KINDS,
    Scenario.CARD_TESTING: _CARD_KINDS,
    Scenario.COMPROMISED_TERMINAL: (
        (FraudReportKind.DISPUTE, 0.6),
        (FraudReportKind.CHARGEBACK, 0.25),
        (FraudReportKind.CONFIRMED_BY_BANK, 0.15),
    ),
    Scenario.ACCOUNT_TAKEOVER: (
        (FraudReportKind.CONFIRMED_BY_BANK, 0.6),
        (FraudReportKind.DISPUTE, 0.4),
    ),
}
"""Who reports a scenario's frauds, and how often: card frauds are mostly disputed by the
customer, some charged back; a takeover's transfers have no card scheme, and the bank usually
finds them in its investigation."""


@dataclass(frozen=True, slots=True)
class _Report:
    """When a victim reports an incident, and how."""

    at: int
    kind: FraudReportKind


class FraudReports:
    """Schedules the report of each fraudulent transaction the simulation labels."""

    def __init__(self, seed: int, scheduler: Scheduler, emitter: EventEmitter) -> None:
        self._rng = random.Random(f"fraud-reports/{seed}")
        self._scheduler = scheduler
        self._emitter = emitter
        self._reports: dict[tuple[str, str], _Report] = {}

    def report_later(
        self, customer_id: str, scenario: Scenario, instance_id: str, posted: Event
    ) -> None:
        """Schedule the report of ``posted``, a fraudulent transaction of ``customer_id`` in
        the incident ``instance_id``, posted at the current instant."""
        at = self._scheduler.now
        report = self._reports.get((instance_id, customer_id))
        if report is None:
            report = self._reports[instance_id, customer_id] = self._decide(scenario, at)
        due = max(report.at, at + MIN_REPORT_DELAY)
        self._scheduler.at(due, self._report, customer_id, scenario, report.kind, posted)

    def _decide(self, scenario: Scenario, first: int) -> _Report:
        rng = self._rng
        low, high = LATE if rng.random() < LATE_SHARE else SOON
        delay = round(rng.uniform(low, high) * DAY / SECOND) * SECOND
        kinds, weights = zip(*KINDS[scenario], strict=True)
        return _Report(first + delay, rng.choices(kinds, weights)[0])

    def _report(
        self,
        at: int,
        customer_id: str,
        scenario: Scenario,
        kind: FraudReportKind,
        posted: Event,
    ) -> None:
        transaction = cast(TransactionPosted, posted.payload)
        card = {} if transaction.card_token is None else {"card_token": transaction.card_token}
        report = FraudReported(
            transaction_id=transaction.transaction_id,
            account_id=transaction.account_id,
            kind=kind,
            transaction_occurred_at=posted.occurred_at,
            reason_code=scenario.value,
            **card,
        )
        self._emitter.emit(report, customer_id, at)
