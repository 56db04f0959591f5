"""FastAPI dependencies: the request's services and its caller's scopes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from banktwin.api.auth import ADMIN, READ, SCOPES, WRITE, Authority, InvalidTokenError, Principal
from banktwin.api.event_input import EventReader
from banktwin.api.problems import Problem
from banktwin.config import Settings
from banktwin.log.group_commit import GroupCommitter
from banktwin.log.port import EventLog
from banktwin.projector.projector import Projector
from banktwin.store.port import StateStore


@dataclass
class Services:
    """What request handlers use, built once by the app factory."""

    settings: Settings
    log: EventLog
    store: StateStore
    committer: GroupCommitter
    projector: Projector
    authority: Authority
    events: EventReader
    clock: Callable[[], datetime]


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPES)
    ),
    description="OAuth 2.0 client credentials; scopes as in the DTS document, section 3.2.",
)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def authorize(
    security_scopes: SecurityScopes,
    services: ServicesDep,
    authorization: Annotated[str | None, Depends(oauth2)],
) -> Principal:
    """The caller, if its bearer token is valid and carries the endpoint's scopes."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized(
            "send an access token: Authorization: Bearer <token> (get one from POST /oauth/token)"
        )
    try:
        principal = services.authority.verify(token.strip())
    except InvalidTokenError as exc:
        raise _unauthorized(f"the access token is not valid: {exc}") from exc
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        raise Problem(
            403,
            f"this needs the scope {missing[0]}; the token has "
            f"{' '.join(sorted(principal.scopes)) or 'none'}",
            headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{missing[0]}"'
            },
        )
    return principal


ReaderDep = Annotated[Principal, Security(authorize, scopes=[READ])]
WriterDep = Annotated[Principal, Security(authorize, scopes=[WRITE])]
AdminDep = Annotated[Principal, Security(authorize, scopes=[ADMIN])]
