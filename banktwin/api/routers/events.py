"""``POST /v1/events``: bulk loads, all-or-nothing per request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from banktwin.api.body import JSON, NDJSON, read_body, require_media_type
from banktwin.api.deps import ReaderDep, WriterDep
from banktwin.api.ingest import append, batch_receipt
from banktwin.api.openapi_docs import BATCH_BODY, PROBLEMS, batch_receipt_doc, conflict_doc
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import EventTypePublic
from banktwin.domain.events import EVENT_TYPES

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    status_code=202,
    responses={
        202: batch_receipt_doc(),
        **PROBLEMS(400, 401, 403, 413, 415, 503),
        **conflict_doc(),
    },
    openapi_extra=BATCH_BODY,
)
async def post_events(request: Request, caller: WriterDep) -> Response:
    """Push many events at once (JSON array or NDJSON); either all are logged or none."""
    services = caller.services
    kind = require_media_type(request, (JSON, *NDJSON))
    body = await read_body(request, services.settings.max_batch_bytes)
    source = caller.principal.client_id
    if kind == JSON:
        submission = services.events.batch_from_json(body, source=source)
    else:
        submission = services.events.batch_from_ndjson(body, source=source)
    results = await append(caller, submission)
    return Response(batch_receipt(results), status_code=202, media_type="application/json")


@router.get("/event-types", response_model=list[EventTypePublic], responses=PROBLEMS(401, 403))
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
