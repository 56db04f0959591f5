"""Turns payloads into events (ids, times, source) and collects them with their labels."""

from __future__ import annotations

from banktwin.domain.events import Event, new_event
from banktwin.domain.payloads.common import Payload
from banktwin.log.codec import utc_text
from banktwin.sim.ground_truth import FraudLabel, LabelRole, Scenario, ScenarioInstance
from banktwin.sim.identifiers import RunIds
from banktwin.sim.timeline import to_datetime


class EventEmitter:
    """Collects the events the simulation makes, in the order it makes them."""

    def __init__(self, ids: RunIds, source: str) -> None:
        self._ids = ids
        self._source = source
        self._events: list[Event] = []
        self._labels: list[FraudLabel] = []
        self._instances: list[ScenarioInstance] = []

    def emit(self, payload: Payload, subject_id: str, at: int) -> Event:
        """An event of ``payload`` about ``subject_id`` at simulated instant ``at``."""
        event = new_event(
            payload,
            subject_id=subject_id,
            occurred_at=to_datetime(at),
            source=self._source,
            event_id=self._ids.event(at),
        )
        self._events.append(event)
        return event

    def label(
        self,
        event: Event,
        *,
        customer_id: str,
        scenario: Scenario,
        instance_id: str,
        transaction_id: str | None = None,
        role: LabelRole = LabelRole.FRAUD,
    ) -> None:
        """Mark ``event`` in the ground truth (never in the event itself)."""
        self._labels.append(
            FraudLabel(
                event_id=event.event_id,
                transaction_id=transaction_id,
                customer_id=customer_id,
                scenario=scenario,
                scenario_instance_id=instance_id,
                occurred_at=utc_text(event.occurred_at),
                role=role,
            )
        )

    def instance(self, instance: ScenarioInstance) -> None:
        """Record the start of a fraud scenario instance (ground truth only)."""
        self._instances.append(instance)

    def pending(self) -> int:
        """How many events are waiting to be taken."""
        return len(self._events)

    def take(self, limit: int | None = None) -> list[Event]:
        """Hand out up to ``limit`` collected events (all when ``None``), oldest first."""
        if limit is None or limit >= len(self._events):
            taken, self._events = self._events, []
            return taken
        taken = self._events[:limit]
        del self._events[:limit]
        return taken

    def take_labels(self) -> tuple[list[FraudLabel], list[ScenarioInstance]]:
        """Hand out the labels and scenario instances collected so far."""
        labels, instances = self._labels, self._instances
        self._labels, self._instances = [], []
        return labels, instances
