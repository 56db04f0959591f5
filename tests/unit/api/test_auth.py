"""Clients, tokens and the rules that keep secrets from having working defaults."""

from __future__ import annotations

import time

import jwt
import pytest

from banktwin.api.auth import (
    DEMO_CLIENT_SECRET,
    READ,
    WRITE,
    Authority,
    InvalidTokenError,
    parse_clients,
)
from banktwin.config import Settings
from banktwin.errors import ConfigurationError

KEY = "k" * 40


def test_production_needs_a_key_and_clients_and_never_the_demo_secret() -> None:
    with pytest.raises(ConfigurationError, match="BANKTWIN_TOKEN_SECRET"):
        Authority.from_settings(Settings(clients="a:b:digitaltwin.read"))
    with pytest.raises(ConfigurationError, match="BANKTWIN_CLIENTS"):
        Authority.from_settings(Settings(token_secret=KEY))
    with pytest.raises(ConfigurationError, match="demo secret"):
        Authority.from_settings(
            Settings(token_secret=KEY, clients=f"x:{DEMO_CLIENT_SECRET}:digitaltwin.read")
        )


def test_the_demo_profile_has_a_demo_client_and_a_random_key() -> None:
    first = Authority.from_settings(Settings(profile="demo"))
    second = Authority.from_settings(Settings(profile="demo"))
    client = first.authenticate("demo", DEMO_CLIENT_SECRET)
    assert client is not None and {READ, WRITE} <= client.scopes
    token = first.issue(client, frozenset({READ}))
    with pytest.raises(InvalidTokenError):
        second.verify(token)  # a key per process: another process's token is not valid


def test_tokens_carry_scopes_and_expire() -> None:
    authority = Authority(parse_clients("c:s3cret:digitaltwin.read+digitaltwin.write"), KEY)
    client = authority.client("c")
    principal = authority.verify(authority.issue(client, frozenset({READ})))
    assert principal.client_id == "c" and principal.scopes == {READ}
    expired = jwt.encode(
        {"iss": "banktwin", "sub": "c", "scope": READ, "iat": 0, "exp": int(time.time()) - 10},
        KEY,
        algorithm="HS256",
    )
    with pytest.raises(InvalidTokenError, match="expired"):
        authority.verify(expired)
    forged = jwt.encode(
        {"iss": "banktwin", "sub": "c", "scope": READ, "iat": 0, "exp": int(time.time()) + 60},
        "x" * 40,
        algorithm="HS256",
    )
    with pytest.raises(InvalidTokenError):
        authority.verify(forged)
    assert authority.authenticate("c", "wrong") is None
    assert authority.authenticate("nobody", "s3cret") is None


def test_client_declarations_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="id:secret:scope"):
        parse_clients("just-an-id")
    with pytest.raises(ConfigurationError, match="unknown scope"):
        parse_clients("a:b:digitaltwin.everything")
