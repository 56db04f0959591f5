"""JSON rendering for responses: money as exact JSON numbers, times as ISO 8601 with ``Z``.

The seed's example shows balances as JSON numbers (``14523.50``). orjson writes datetimes
natively and takes each ``Decimal`` as a pre-rendered fragment, so the exact digits reach
the client without passing through a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def render_json(content: Any) -> bytes:
    """Views (dicts and lists of str, numbers, ``Decimal``, ``datetime``, ``date``) as JSON."""
    return orjson.dumps(content, default=_fragment, option=_OPTIONS)


class JsonResponse(Response):
    """A JSON response rendered with :func:`render_json`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render_json(content)
