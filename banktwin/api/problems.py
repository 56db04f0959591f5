"""RFC 9457 problem details: every error the API answers, in one shape.

``type`` is a stable relative URI documented in ``docs/problems.md``; ``detail`` says what
was wrong and how to fix it; validation problems name each bad field in ``errors``;
``requestId`` is the request's id (``X-Request-ID``), which the server's log lines for it carry.
No handler ever returns a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from banktwin.api.rendering import render_json
from banktwin.api.request_ids import (
    REQUEST_ID_HEADER,
    current_request_id,
    new_request_id,
    request_id_of,
)
from banktwin.errors import UnavailableError, VersionConflictError
from banktwin.intake import FieldError, IntakeError, MalformedJsonError
from banktwin.intake.errors import summarize
from banktwin.intake.field_errors import field_errors as intake_field_errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
TYPES = {
    400: "/problems/bad-request",
    401: "/problems/unauthorized",
    403: "/problems/forbidden",
    404: "/problems/not-found",
    405: "/problems/method-not-allowed",
    409: "/problems/conflict",
    412: "/problems/precondition-failed",
    413: "/problems/content-too-large",
    415: "/problems/unsupported-media-type",
    429: "/problems/too-many-requests",
    500: "/problems/internal-error",
    503: "/problems/unavailable",
}


@dataclass
class Problem(Exception):  # noqa: N818 - raised, but named for what it answers
    """Raise anywhere in a request to answer with problem+json."""

    status: int
    detail: str
    type: str | None = None
    title: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    """Extension members (RFC 9457 section 3.2), e.g. a conflict's ``subjectId``."""

    def body(self, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        """The problem+json body (``instance``: the request's path; ``request_id``: its id)."""
        body: dict[str, Any] = {
            "type": self.type or TYPES.get(self.status, "about:blank"),
            "title": self.title or TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if request_id:
            body["requestId"] = request_id
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        body.update(self.extensions)
        return body


def problem_response(
    problem: Problem, instance: str | None = None, request_id: str | None = None
) -> Response:
    """``problem`` as a problem+json response; ``request_id`` defaults to the id of the
    request being served."""
    return Response(
        render_json(problem.body(instance, request_id or current_request_id())),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


HTTP_LOCATIONS = ("body", "query", "path", "header")
"""Where FastAPI says a request parameter was: not part of a field's name."""


def field_errors(errors: Iterable[Any]) -> list[FieldError]:
    """FastAPI's (or pydantic's) errors of a request's parameters as field errors."""
    return intake_field_errors(
        {**err, "loc": [p for p in err["loc"] if p not in HTTP_LOCATIONS]} for err in errors
    )


def invalid(errors: list[FieldError], what: str = "request") -> Problem:
    """400 validation-error naming every bad field."""
    return Problem(
        400,
        summarize(errors, what),
        type="/problems/validation-error",
        title="Invalid input",
        errors=errors,
    )


def in_utc(moment: datetime, parameter: str) -> datetime:
    """``moment`` in UTC; 400 naming ``parameter`` when it has no UTC equivalent (year 1 ahead
    of UTC, or 9999 behind it), which Python only finds when converting."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise invalid([FieldError(parameter, "the time is out of range in UTC")]) from None


def malformed_json(detail: str) -> Problem:
    """400 malformed-json: the body (or an NDJSON line) is not JSON."""
    return Problem(400, detail, type="/problems/malformed-json", title="Malformed JSON")


def version_conflict(conflict: VersionConflictError, detail: str | None = None) -> Problem:
    """409 version-conflict: an expected-version append found its subject moved on
    (``detail``: what the caller should do, when the default advice does not fit)."""
    return Problem(
        409,
        detail
        or f"subject {conflict.subject_id} is at version {conflict.actual}, not the expected "
        f"{conflict.expected}: other events of it were logged after the decision was made. "
        "Nothing was logged; read the subject again, decide again, and post with its "
        "current version as expectedVersion.",
        type="/problems/version-conflict",
        title="Version conflict",
        extensions={
            "subjectId": conflict.subject_id,
            "expectedVersion": conflict.expected,
            "actualVersion": conflict.actual,
        },
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, including FastAPI's own, as problem+json."""

    def answer(request: Request, problem: Problem) -> Response:
        return problem_response(problem, request.url.path, request_id_of(request.scope))

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return answer(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError | ValidationError)
        return answer(request, invalid(field_errors(exc.errors())))

    async def on_intake(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntakeError)
        return answer(request, invalid(exc.errors, exc.what))

    async def on_malformed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MalformedJsonError)
        return answer(request, malformed_json(str(exc)))

    async def on_version_conflict(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VersionConflictError)
        return answer(request, version_conflict(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        problem = Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
        return answer(request, problem)

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("backing service unavailable: %s", exc)
        problem = Problem(
            503, "a backing service is unavailable; retry later", headers={"Retry-After": "1"}
        )
        return answer(request, problem)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Answered by Starlette's outermost middleware, outside RequestIdMiddleware: the id
        # comes from the scope, and the header is added here.
        request_id = request_id_of(request.scope) or new_request_id()
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"requestId": request_id},
        )
        problem = Problem(
            500,
            "an unexpected error occurred; report it with its requestId",
            headers={REQUEST_ID_HEADER: request_id},
        )
        return problem_response(problem, request.url.path, request_id)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(IntakeError, on_intake)
    app.add_exception_handler(MalformedJsonError, on_malformed)
    app.add_exception_handler(VersionConflictError, on_version_conflict)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(UnavailableError, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
