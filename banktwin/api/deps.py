"""FastAPI dependencies: the request's services and its caller's scopes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority, InvalidTokenError, Principal
from banktwin.api.problems import Problem
from banktwin.api.view_cache import RenderedViews
from banktwin.config import Settings
from banktwin.intake import EventIntake
from banktwin.log.group_commit import GroupCommitter
from banktwin.log.port import EventLog
from banktwin.runtime import Runtime
from banktwin.store.port import StateStore


@dataclass
class Services:
    """What request handlers use, built once by the app factory."""

    settings: Settings
    log: EventLog
    store: StateStore
    committer: GroupCommitter
    runtime: Runtime
    """The process's consumers (for readiness and the KPIs)."""
    authority: Authority
    events: EventIntake
    views: RenderedViews
    clock: Callable[[], datetime]


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

SECURITY_SCHEME = {
    "type": "oauth2",
    "description": "OAuth 2.0 client credentials; scopes as in the DTS document, section 3.2.",
    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPES}},
}


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def authorize(request: Request, authorization: str | None, scope: str) -> Principal:
    """The caller, if its bearer token is valid and carries ``scope``."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(
            "send an access token: Authorization: Bearer <token> (get one from POST /oauth/token)"
        )
    services: Services = request.app.state.services
    try:
        principal = services.authority.verify(token.strip())
    except InvalidTokenError as exc:
        raise _unauthorized(f"the access token is not valid: {exc}") from exc
    if scope not in principal.scopes:
        raise Problem(
            403,
            f"this needs the scope {scope}; the token has "
            f"{' '.join(sorted(principal.scopes)) or 'none'}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    return principal


@dataclass(frozen=True, slots=True)
class Caller:
    """An authorized request's caller and the services it may use."""

    principal: Principal
    services: Services


# One flat dependency per scope: FastAPI resolves dependencies on every request, and a deep
# tree (security scopes, nested schemes) cost more than the profile read itself. The OpenAPI
# page still shows each operation's scope (``SCOPE_OF`` is read by ``install_openapi``).
def caller_of(request: Request, scope: str) -> Caller:
    """The request's caller, if its token carries ``scope`` (else a 401/403 problem). For
    handlers that skip dependency injection on a hot path (they document the scope with
    ``lean_openapi(..., scope=...)``)."""
    return Caller(
        authorize(request, request.headers.get("authorization"), scope),
        request.app.state.services,
    )


async def require_read(request: Request) -> Caller:
    return caller_of(request, READ)


async def require_write(request: Request) -> Caller:
    return caller_of(request, WRITE)


async def require_admin(request: Request) -> Caller:
    return caller_of(request, ADMIN)


SCOPE_OF: dict[object, str] = {require_read: READ, require_write: WRITE, require_admin: ADMIN}
ReaderDep = Annotated[Caller, Depends(require_read)]
WriterDep = Annotated[Caller, Depends(require_write)]
AdminDep = Annotated[Caller, Depends(require_admin)]
