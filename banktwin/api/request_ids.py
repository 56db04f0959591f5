"""A request id per HTTP request, and the access log line that carries it.

Each request gets an id: the caller's ``X-Request-ID`` when it is a sane token, else a new
one. It is answered in the ``X-Request-ID`` header, carried by every problem+json body
(``requestId``) and by every log line written while the request is served, so an operator
can find the server's lines for an error a client reports.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
"""What an incoming id may be: short, and nothing a log line or a header could be split by."""
STATE_KEY = "request_id"
"""Where in the request's ``scope["state"]`` (``request.state.request_id``) the id is kept."""

_HEADER_NAME = REQUEST_ID_HEADER.lower().encode()
_current: ContextVar[str | None] = ContextVar("banktwin_request_id", default=None)

access_log = logging.getLogger("banktwin.access")


def current_request_id() -> str | None:
    """The id of the request being served here (``None`` outside a request)."""
    return _current.get()


def request_id_of(scope: MutableMapping[str, Any]) -> str | None:
    """The id :class:`RequestIdMiddleware` gave the request of ``scope``, if it ran."""
    state = scope.get("state")
    return state.get(STATE_KEY) if isinstance(state, dict) else None


def new_request_id() -> str:
    """A fresh request id (uuid4, 32 hex digits)."""
    return uuid.uuid4().hex


def accepted_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's ``X-Request-ID`` if it is sane (1-128 of ``[A-Za-z0-9._:-]``), else
    ``None``: an id that could forge a log line or grow without bound is replaced."""
    for name, value in headers:
        if name == _HEADER_NAME:
            return value.decode("ascii") if SANE_REQUEST_ID.fullmatch(value) else None
    return None


def route_template(scope: MutableMapping[str, Any]) -> str | None:
    """The template of the route that matched (``/v1/customers/{customerId}``): a log line
    names the operation without the ids in the path. ``None`` when no route matched."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    regex = getattr(route, "path_regex", None)
    if not isinstance(template, str) or regex is None:
        # Routes FastAPI adds itself (/openapi.json, /docs) leave no route in the scope; a
        # path without parameters is its own template.
        matched = "endpoint" in scope and not scope.get("path_params")
        return str(scope["path"]) if matched else None
    # FastAPI hands over the route as its router declared it, without the prefix the router
    # is included under: the prefix is the part of the path before what the route matches.
    path: str = scope.get("path", "")
    start = 0
    while start != -1:
        if regex.match(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


class RequestIdMiddleware:
    """Pure ASGI middleware: sets the request's id (see the module), adds the
    ``X-Request-ID`` header to the answer and writes one access log line per request
    (method, route template, status, duration; never the query string or the body, which
    can carry personal data).

    The id is also kept in ``scope["state"]``: a 500 is answered by Starlette's outermost
    middleware, after this one has returned, so its handler reads the id from there and
    adds the header itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(scope["headers"]) or new_request_id()
        scope.setdefault("state", {})[STATE_KEY] = request_id
        # Not reset afterwards: the server runs each request in a task of its own, whose
        # context ends with it, and its own error line for a 500 comes after we return.
        _current.set(request_id)
        header = (_HEADER_NAME, request_id.encode("ascii"))
        status = 500  # unless a response starts: an exception escaped
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the response object may reuse its own.
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, request_id, status, time.perf_counter() - started)


def _log_access(scope: Scope, request_id: str, status: int, seconds: float) -> None:
    method, route = scope["method"], route_template(scope)
    duration_ms = round(seconds * 1000, 3)
    access_log.info(
        "%s %s %d %.1f ms",
        method,
        route or "(no route)",
        status,
        duration_ms,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "durationMs": duration_ms,
            "requestId": request_id,
        },
    )
