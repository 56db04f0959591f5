"""Getting an access token for a client talking to a running banktwin."""

from __future__ import annotations

import httpx

from banktwin.errors import ConfigurationError, UnavailableError


def fetch_token(base_url: str, client_id: str, client_secret: str, timeout: float = 10.0) -> str:
    """A bearer token from ``POST /oauth/token`` (client credentials).

    Raises:
        UnavailableError: the server cannot be reached.
        ConfigurationError: the server refused the credentials (the message says why).
    """
    try:
        response = httpx.post(
            f"{base_url.rstrip('/')}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise UnavailableError(f"cannot reach {base_url}: {exc}") from exc
    if response.status_code != 200:
        try:
            reason = response.json().get("error_description", response.text)
        except ValueError:
            reason = response.text
        raise ConfigurationError(
            f"{base_url} refused client {client_id!r} ({response.status_code}): {reason}; "
            "set --client-id/--client-secret or BANKTWIN_CLIENT_ID/BANKTWIN_CLIENT_SECRET"
        )
    token: str = response.json()["access_token"]
    return token
