"""Request durations by route template: a pure ASGI middleware (the batch endpoint is hot: no
``BaseHTTPMiddleware``, one clock read at each end and one histogram observation)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from fastapi import APIRouter, FastAPI
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from banktwin.observability.instruments import instruments

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods kept as they are; any other is counted as ``OTHER`` (labels stay a closed set)."""


def route_templates(app: FastAPI, mounted: Iterable[tuple[str, APIRouter]]) -> dict[int, str]:
    """The path template of every route, by the route object's id: the app's own routes and
    those of the routers it mounts (``mounted``: prefix and router, as the app factory mounts
    them). Routers' routes keep their own path; the prefix is the factory's."""
    templates: dict[int, str] = {}
    for route in app.routes:
        path = getattr(route, "path_format", None)
        if isinstance(path, str):
            templates[id(route)] = path
    for prefix, router in mounted:
        for route in router.routes:
            path = getattr(route, "path_format", None)
            if isinstance(path, str):
                templates[id(route)] = prefix + path
    return templates


class HttpRequestMetrics:
    """Observes ``banktwin_http_request_duration_seconds`` for every HTTP request: from its
    arrival to the end of its response, labelled with the matched route's template (never the
    raw path, which holds ids), the method and the status (500 when the app raised before
    answering)."""

    def __init__(self, app: ASGIApp, templates: Mapping[int, str]) -> None:
        self.app = app
        self._templates = templates
        self._histogram: Histogram = instruments().http_request_duration
        self._children: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._child(scope, status).observe(time.perf_counter() - started)

    def _child(self, scope: Scope, status: int) -> Histogram:
        route = scope.get("route")
        template: str = UNMATCHED
        if route is not None:
            template = self._templates.get(id(route)) or str(getattr(route, "path_format", ""))
            template = template or UNMATCHED
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        key = (template, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._histogram.labels(template, method, str(status))
        return child


def install_http_metrics(app: FastAPI, mounted: Iterable[tuple[str, APIRouter]]) -> None:
    """Measure every request the app answers (call after its routers are mounted)."""
    app.add_middleware(HttpRequestMetrics, templates=route_templates(app, list(mounted)))
