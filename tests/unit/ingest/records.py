"""Records as a producer writes them to a topic: events in the JSON ``POST /v1/events``
takes."""

from __future__ import annotations

from typing import Any

import orjson

from banktwin.domain.events import Event
from banktwin.wire import event_to_wire


def wire(event: Event, *, with_id: bool = True, **changes: Any) -> dict[str, Any]:
    """The event as a producer sends it (optionally without its ``eventId``), with
    ``changes`` to its envelope."""
    sent = {k: v for k, v in event_to_wire(event).items() if k != "recordedAt"}
    if not with_id:
        del sent["eventId"]
    sent.update(changes)
    return sent


def record(value: Any) -> bytes:
    """A record's bytes: one event, or a JSON array of them."""
    return orjson.dumps(value)
