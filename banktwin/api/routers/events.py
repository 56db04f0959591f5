"""``POST /v1/events``: bulk loads, all-or-nothing per request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from banktwin.api.body import JSON, NDJSON, read_body, require_media_type
from banktwin.api.deps import ReaderDep, WriterDep
from banktwin.api.event_input import parse_json, parse_ndjson
from banktwin.api.ingest import accepted, receipt
from banktwin.api.openapi_docs import BATCH_BODY, PROBLEMS, batch_receipt_doc
from banktwin.api.problems import FieldError, Problem, invalid
from banktwin.api.rendering import JsonResponse
from banktwin.domain.events import EVENT_TYPES, Event

router = APIRouter(tags=["events"])
MAX_REPORTED_ERRORS = 50


@router.post(
    "/events",
    status_code=202,
    responses={202: batch_receipt_doc(), **PROBLEMS(400, 401, 403, 413, 415, 503)},
    openapi_extra=BATCH_BODY,
)
async def post_events(request: Request, caller: WriterDep) -> JsonResponse:
    """Push many events at once (JSON array or NDJSON); either all are logged or none."""
    services = caller.services
    kind = require_media_type(request, (JSON, *NDJSON))
    body = await read_body(request, services.settings.max_batch_bytes)
    items: Any = parse_json(body) if kind == JSON else parse_ndjson(body)
    if not isinstance(items, list):
        raise invalid([FieldError("body", "send a JSON array of events (or NDJSON)")])
    if not items:
        raise invalid([FieldError("body", "the batch holds no events")])
    events: list[Event] = []
    errors: list[FieldError] = []
    for index, raw in enumerate(items):
        try:
            events.append(
                services.events.read(
                    raw, prefix=f"[{index}]", default_source=caller.principal.client_id
                )
            )
        except Problem as problem:
            errors.extend(problem.errors)
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
    if errors:
        raise invalid(
            errors[:MAX_REPORTED_ERRORS], what=f"batch ({len(items)} events, none logged)"
        )
    results = await services.committer.append(events)
    duplicates = sum(r.duplicate for r in results)
    return accepted(
        {
            "accepted": len(results) - duplicates,
            "duplicates": duplicates,
            "events": [receipt(r) for r in results],
        }
    )


@router.get("/event-types", responses=PROBLEMS(401, 403))
def list_event_types(_: ReaderDep) -> JsonResponse:
    """The event vocabulary: each type, its subject, version and payload JSON schema."""
    return JsonResponse(
        [
            {
                "type": spec.type,
                "subject": spec.subject.value,
                "version": spec.version,
                "derivedOnly": spec.projector_only,
                "payloadSchema": spec.payload.model_json_schema(),
            }
            for spec in EVENT_TYPES.values()
        ]
    )
