"""List responses: a JSON array, the total in ``X-Total-Count`` and RFC 8288 ``Link`` headers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from banktwin.api.rendering import JsonResponse

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
"""Beyond any list here, and far inside the stores' 64-bit integers (a larger offset made
SQLite raise OverflowError: a 500)."""
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 1000).")]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (0 to 1,000,000,000).")
]
PAGE_HEADERS_DOC: dict[str, Any] = {
    "headers": {
        "X-Total-Count": {"description": "Items in all pages.", "schema": {"type": "integer"}},
        "Link": {
            "description": 'RFC 8288 links to pages of the same list: rel="next", "prev", '
            '"first" and "last".',
            "schema": {"type": "string"},
        },
    }
}
"""The OpenAPI description of a list's 200 response headers."""


def paged_response(
    request: Request, items: list[Any], total: int, limit: int, offset: int
) -> JsonResponse:
    last = max((total - 1) // limit * limit, 0)
    links = []
    if offset + limit < total:
        links.append((offset + limit, "next"))
    if offset > 0:  # from past the end, the previous page is the last one
        links.append((min(max(offset - limit, 0), last), "prev"))
    links.append((0, "first"))
    links.append((last, "last"))
    header = ", ".join(
        f'<{request.url.include_query_params(limit=limit, offset=o)}>; rel="{rel}"'
        for o, rel in links
    )
    return JsonResponse(items, headers={"X-Total-Count": str(total), "Link": header})
