"""Posting events over HTTP: the body read, the intake's validation, the log, the 202."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import Request

from banktwin.api.body import JSON, read_body, require_media_type
from banktwin.api.deps import Caller
from banktwin.api.rendering import JsonResponse
from banktwin.config import Settings
from banktwin.domain.events import SubjectKind
from banktwin.intake import EventIntake, SubjectScope, Submission
from banktwin.log.port import AppendResult
from banktwin.observability.appended_events import count_appended

WHERE_TO_SEND = {
    SubjectKind.CUSTOMER: "/v1/customers/{id}/events or /v1/events",
    SubjectKind.BRANCH: "/v1/branches/{id}/events or /v1/events",
}
"""Where each kind of subject's events are posted (loan events: either subject endpoint, with
the application's subjectId, or /v1/events)."""


def http_intake(settings: Settings, clock: Callable[[], datetime]) -> EventIntake:
    """The intake as the HTTP API uses it (its errors name the API's paths)."""
    return EventIntake(
        clock, timedelta(seconds=settings.max_future_skew_s), where_to_send=WHERE_TO_SEND
    )


def receipt(result: AppendResult) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "status": "accepted",
        "duplicate": result.duplicate,
        "partition": result.partition,
        "offset": result.offset,
    }


def batch_receipt(results: list[AppendResult]) -> bytes:
    """A batch's 202 body: counts, then one receipt per event, in the order posted."""
    duplicates = sum(r.duplicate for r in results)
    return orjson.dumps(
        {
            "accepted": len(results) - duplicates,
            "duplicates": duplicates,
            "events": [
                {
                    "eventId": event_id,
                    "status": "accepted",
                    "duplicate": duplicate,
                    "partition": partition,
                    "offset": offset,
                }
                for event_id, partition, offset, _, duplicate in results
            ],
        }
    )


async def append(caller: Caller, submission: Submission) -> list[AppendResult]:
    """Log a submission durably (grouped with concurrent requests; one with expectations in a
    write of its own).

    Raises:
        VersionConflictError: a subject it expects has moved (answered 409).
    """
    results = await caller.services.committer.append(
        submission.events, expected=submission.expected or None
    )
    count_appended(submission.events, results, caller.principal.client_id)
    return results


async def ingest_one(request: Request, caller: Caller, subject: SubjectScope) -> JsonResponse:
    """Validate the body as one event about the URL's ``subject``, log it, answer 202."""
    services = caller.services
    require_media_type(request, (JSON,))
    body = await read_body(request, services.settings.max_event_bytes)
    submission = services.events.event_from_json(
        body, source=caller.principal.client_id, scope=subject
    )
    (result,) = await append(caller, submission)
    return JsonResponse(receipt(result), status_code=202)
