"""List responses: a JSON array, the total in ``X-Total-Count`` and RFC 8288 ``Link`` headers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from banktwin.api.rendering import JsonResponse

MAX_LIMIT = 1000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 1000).")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]


def paged_response(
    request: Request, items: list[Any], total: int, limit: int, offset: int
) -> JsonResponse:
    links = []
    if offset + limit < total:
        links.append((offset + limit, "next"))
    if offset > 0:
        links.append((max(offset - limit, 0), "prev"))
    links.append((0, "first"))
    links.append((max((total - 1) // limit * limit, 0), "last"))
    header = ", ".join(
        f'<{request.url.include_query_params(limit=limit, offset=o)}>; rel="{rel}"'
        for o, rel in links
    )
    return JsonResponse(items, headers={"X-Total-Count": str(total), "Link": header})
