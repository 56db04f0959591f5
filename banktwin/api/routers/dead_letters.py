"""``/v1/admin/dead-letters``: the records the connectors refused, with the reasons
(:mod:`banktwin.ingest.dead_letters`). Fixing and replaying them is done with
``banktwin dead-letters replay`` (docs/ingest.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from banktwin.api.dead_letter_schemas import DeadLetterPublic
from banktwin.api.deps import AdminDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.paging import PAGE_HEADERS_DOC, Limit, Offset, paged_response
from banktwin.api.problems import Problem
from banktwin.api.rendering import JsonResponse
from banktwin.ingest.dead_letters import Status, dead_letter_to_json

router = APIRouter(prefix="/admin/dead-letters", tags=["admin"])


@router.get(
    "",
    response_model=list[DeadLetterPublic],
    responses={200: PAGE_HEADERS_DOC, **PROBLEMS(400, 401, 403, 503)},
)
def list_dead_letters(
    request: Request,
    caller: AdminDep,
    source: Annotated[
        str | None, Query(max_length=100, description="Only this connector's records.")
    ] = None,
    status: Annotated[
        Literal["pending", "replayed", "discarded"] | None,
        Query(description="Only the records in this status."),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JsonResponse:
    """Records the connectors refused, in the order they were kept, with the reasons."""
    letters, total = caller.services.runtime.dead_letters.page(
        source=source,
        status=None if status is None else Status(status),
        limit=limit,
        offset=offset,
    )
    items = [dead_letter_to_json(letter) for letter in letters]
    return paged_response(request, items, total, limit, offset)


@router.get(
    "/{letterId}",
    response_model=DeadLetterPublic,
    responses=PROBLEMS(400, 401, 403, 404, 503),
)
def get_dead_letter(letterId: uuid.UUID, caller: AdminDep) -> JsonResponse:  # noqa: N803
    """One refused record: where it was read, why it was refused, the record as received."""
    letter = caller.services.runtime.dead_letters.get(str(letterId))
    if letter is None:
        raise Problem(404, f"no dead letter {letterId}")
    return JsonResponse(dead_letter_to_json(letter))
