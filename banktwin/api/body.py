"""Request bodies with a size limit (413) and a content-type check (415)."""

from __future__ import annotations

from fastapi import Request

from banktwin.api.problems import Problem

JSON = "application/json"
NDJSON = ("application/x-ndjson", "application/jsonl", "application/ndjson")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media_type(request: Request, allowed: tuple[str, ...]) -> str:
    """The request's media type if it is one of ``allowed``; 415 otherwise."""
    given = media_type(request)
    if given not in allowed:
        raise Problem(
            415,
            f"send the body as {' or '.join(allowed)} (got {given or 'no Content-Type'})",
            headers={"Accept-Post": ", ".join(allowed)},
        )
    return given


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    # ASCII digits only: isdigit() alone takes "²" (a byte a header may carry), which int()
    # refuses. Anything else is left to the count below.
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the body is {declared} bytes; the limit here is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
