"""HTTP's own optimistic concurrency (RFC 9110, section 13.1.1): strong ETags and If-Match."""

from __future__ import annotations

from typing import Any


def strong_etag(resource_id: str, version: int) -> str:
    """The strong ETag of a resource at a version (quoted, as the header carries it)."""
    return f'"{resource_id}.{version}"'


def if_match_allows(header: str | None, current: str) -> bool:
    """Whether a request's ``If-Match`` lets it go ahead on a resource whose ETag is
    ``current``: no header, ``*``, or a list naming ``current``. The comparison is strong: a
    weak tag (``W/"…"``) never matches, and neither does an empty or malformed header."""
    if header is None:
        return True
    return any(tag.strip() in ("*", current) for tag in header.split(","))


def etag_header_doc(what: str, *, required: bool) -> dict[str, Any]:
    """The OpenAPI description of a response's ``ETag`` header (``what`` it tags)."""
    return {
        "ETag": {
            "description": f"The strong entity tag of {what}: send it back in If-Match.",
            "required": required,
            "schema": {"type": "string"},
        }
    }
