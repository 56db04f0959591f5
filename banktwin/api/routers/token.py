"""``POST /oauth/token``: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4).

Errors here follow RFC 6749 section 5.2 (``{"error": …}``), which OAuth clients expect,
rather than problem+json.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request

from banktwin.api.auth import TOKEN_TTL_S
from banktwin.api.body import read_body
from banktwin.api.deps import ServicesDep
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.problems import TITLES
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import OAuthErrorPublic, TokenPublic

router = APIRouter(tags=["auth"])
FORM = "application/x-www-form-urlencoded"


def _oauth_error(status: int, error: str, description: str) -> JsonResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="banktwin"'
    return JsonResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), non-ASCII text, not UTF-8 underneath
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def _oauth_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": OAuthErrorPublic, "description": f"{TITLES[code]}: an RFC 6749 error."}
        for code in codes
    }


@router.post(
    "/oauth/token",
    responses={
        200: {"model": TokenPublic, "description": "A bearer token."},
        **_oauth_errors(400, 401),
        **PROBLEMS(413),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string", "description": "Space-separated."},
                        },
                    }
                }
            },
        }
    },
)
async def issue_token(request: Request, services: ServicesDep) -> JsonResponse:
    """Exchange client credentials (form fields or HTTP Basic) for a bearer token."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        return _oauth_error(400, "invalid_request", f"send the request as {FORM}")
    try:
        text = (await read_body(request, 8192)).decode()
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", f"send the form as UTF-8 ({FORM})")
    form = {k: v[-1] for k, v in parse_qs(text).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    credentials = _basic_credentials(request.headers.get("authorization")) or (
        form.get("client_id", ""),
        form.get("client_secret", ""),
    )
    client = services.authority.authenticate(*credentials)
    if client is None:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    asked = frozenset(form.get("scope", "").split()) or client.scopes
    if not asked <= client.scopes:
        extra = sorted(asked - client.scopes)
        return _oauth_error(400, "invalid_scope", f"this client may not use {' '.join(extra)}")
    body: dict[str, Any] = {
        "access_token": services.authority.issue(client, asked),
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_S,
        "scope": " ".join(sorted(asked)),
    }
    return JsonResponse(body, headers={"Cache-Control": "no-store"})
