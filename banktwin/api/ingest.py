"""The 202 answer to posted events."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from banktwin.api.body import JSON, read_body, require_media_type
from banktwin.api.deps import Caller
from banktwin.api.event_input import parse_json
from banktwin.api.rendering import JsonResponse
from banktwin.domain.events import SubjectKind
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


async def ingest_one(
    request: Request, caller: Caller, subject: tuple[SubjectKind, str]
) -> JsonResponse:
    """Validate the body as one event about the URL's ``subject``, log it, answer 202."""
    services = caller.services
    require_media_type(request, (JSON,))
    body = parse_json(await read_body(request, services.settings.max_event_bytes))
    event = services.events.read(
        body, path_subject=subject, default_source=caller.principal.client_id
    )
    (result,) = await services.committer.append([event])
    return accepted(receipt(result))
