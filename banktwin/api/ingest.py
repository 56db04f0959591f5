"""The 202 answer to posted events."""

from __future__ import annotations

from typing import Any

from banktwin.api.rendering import JsonResponse
from banktwin.log.port import AppendResult


def receipt(result: AppendResult) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "status": "accepted",
        "duplicate": result.duplicate,
        "partition": result.partition,
        "offset": result.offset,
    }


def accepted(content: Any) -> JsonResponse:
    """202: the events are in the log (durable); the twin shows them once projected."""
    return JsonResponse(content, status_code=202)
