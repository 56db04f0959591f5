"""JSON rendering for responses: money as exact JSON numbers, times as ISO 8601 with ``Z``.

The seed's example shows balances as JSON numbers (``14523.50``); rendering ``Decimal``
through simplejson writes the exact digits, where a float would round.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import simplejson
from starlette.responses import Response


def render_json(content: Any) -> bytes:
    return simplejson.dumps(
        content, use_decimal=True, ensure_ascii=False, separators=(",", ":")
    ).encode()


def iso(moment: datetime | None) -> str | None:
    """``2025-09-15T14:23:00Z``, with fractional seconds only when there are any."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


class JsonResponse(Response):
    """A JSON response rendered with :func:`render_json`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render_json(content)
