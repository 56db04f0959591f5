"""A customer's event timeline: the subject's events from the log, newest first, each as one
summarized line (:mod:`banktwin.api.event_summaries`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from banktwin.api.event_summaries import summarize
from banktwin.domain.events import Event
from banktwin.log.port import LoggedEvent


def newest_first(logged: Iterable[LoggedEvent]) -> list[Event]:
    """The events by time of occurrence, newest first; events of one instant by the log's
    order, newest first (a stable order for paging)."""
    events = [le.event for le in logged]
    ordered = sorted(range(len(events)), key=lambda i: (events[i].occurred_at, i), reverse=True)
    return [events[i] for i in ordered]


def timeline_view(e: Event) -> dict[str, Any]:
    return {
        "eventId": e.event_id,
        "type": e.type,
        "occurredAt": e.occurred_at,
        "recordedAt": e.recorded_at,
        "source": e.source,
        "summary": summarize(e),
    }
