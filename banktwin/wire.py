"""The JSON wire form of an event, as ``POST /v1/events`` takes it and exports write it."""

from __future__ import annotations

from typing import Any

import orjson

from banktwin.domain.events import Event
from banktwin.log.codec import utc_text


def event_to_wire(event: Event) -> dict[str, Any]:
    """``{"eventId", "type", "version", "subjectId", "occurredAt", "source", "payload"}``
    (plus ``recordedAt`` once logged); money stays an exact decimal string."""
    wire: dict[str, Any] = {
        "eventId": event.event_id,
        "type": event.type,
        "version": event.version,
        "subjectId": event.subject_id,
        "occurredAt": utc_text(event.occurred_at),
        "source": event.source,
        "payload": event.payload.model_dump(mode="json", exclude_unset=True),
    }
    if event.recorded_at is not None:
        wire["recordedAt"] = utc_text(event.recorded_at)
    return wire


def events_to_ndjson(events: list[Event]) -> bytes:
    """Newline-delimited JSON, one event per line (the bulk format of ``POST /v1/events``)."""
    return b"".join(orjson.dumps(event_to_wire(e)) + b"\n" for e in events)
