"""What the fraud scenarios share: an incident (one injected occurrence) and its labelling."""

from __future__ import annotations

from dataclasses import dataclass

from banktwin.domain.events import Event
from banktwin.log.codec import utc_text
from banktwin.sim.bank_model import SimCustomer
from banktwin.sim.context import SimContext
from banktwin.sim.ground_truth import LabelRole, Scenario, ScenarioInstance
from banktwin.sim.timeline import to_datetime

AVERAGE_FRAUD_TRANSACTIONS = 7.5
"""Fraudulent transactions per incident, averaged over the scenarios (sets the injection
rate so the configured share of transactions is fraudulent)."""


@dataclass(frozen=True, slots=True)
class Incident:
    """One occurrence of a scenario, and the ground truth it writes."""

    ctx: SimContext
    instance_id: str
    scenario: Scenario

    @classmethod
    def begin(
        cls, ctx: SimContext, scenario: Scenario, customer: SimCustomer, at: int, detail: str
    ) -> Incident:
        """Start an incident: record its instance in the ground truth."""
        incident = cls(ctx, ctx.ids.scenario_instance(), scenario)
        ctx.emitter.instance(
            ScenarioInstance(
                scenario_instance_id=incident.instance_id,
                scenario=scenario,
                customer_id=customer.customer_id,
                started_at=utc_text(to_datetime(at)),
                detail=detail,
            )
        )
        return incident

    def mark(
        self,
        customer: SimCustomer,
        event: Event,
        transaction_id: str | None = None,
        role: LabelRole = LabelRole.FRAUD,
    ) -> None:
        """Label ``event`` as part of this incident; a fraudulent transaction is also reported
        to the bank, later (:mod:`banktwin.sim.fraud_reports`)."""
        self.ctx.emitter.label(
            event,
            customer_id=customer.customer_id,
            scenario=self.scenario,
            instance_id=self.instance_id,
            transaction_id=transaction_id,
            role=role,
        )
        if role is LabelRole.FRAUD and transaction_id is not None:
            self.ctx.reports.report_later(
                customer.customer_id, self.scenario, self.instance_id, event
            )

    def mark_posted(
        self,
        customer: SimCustomer,
        posted: tuple[Event, str] | None,
        role: LabelRole = LabelRole.FRAUD,
    ) -> None:
        """Label a posted transaction (nothing when it was declined)."""
        if posted is not None:
            self.mark(customer, posted[0], posted[1], role)
