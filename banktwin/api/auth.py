"""OAuth 2.0 client credentials (seed section 3.2): clients, signed tokens and scope checks.

Clients exchange their id and secret at ``POST /oauth/token`` for a short-lived bearer token
(a JWT signed with HS256) carrying the scopes they may use: ``digitaltwin.read``,
``digitaltwin.write``, ``digitaltwin.admin``. Every endpoint except health, metrics and the
token endpoint checks the token and its scope. Outside the demo profile there are no default
clients and no default signing key: the process refuses to start without them.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import jwt

from banktwin.config import Settings
from banktwin.errors import ConfigurationError

READ = "digitaltwin.read"
WRITE = "digitaltwin.write"
ADMIN = "digitaltwin.admin"
SCOPES = {
    READ: "Read the twin: customers, branches, risk scores, fraud alerts.",
    WRITE: "Push events to the twin.",
    ADMIN: "Administer the twin: models, retraining, erasure.",
}
TOKEN_TTL_S = 3600
ISSUER = "banktwin"
DEMO_CLIENT_ID = "demo"
DEMO_CLIENT_SECRET = "demo-secret"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    secret: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and what they may do."""

    client_id: str
    scopes: frozenset[str]


class InvalidTokenError(Exception):
    """The bearer token is malformed, forged or expired."""


def parse_clients(text: str) -> dict[str, Client]:
    """``id:secret:scope1+scope2,id2:secret2:scope1`` as clients.

    Raises:
        ConfigurationError: a malformed entry or an unknown scope (names BANKTWIN_CLIENTS).
    """
    clients: dict[str, Client] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        parts = entry.split(":")
        if len(parts) != 3 or not all(parts):
            raise ConfigurationError(
                f"BANKTWIN_CLIENTS entry {parts[0]!r} must be id:secret:scope+scope"
            )
        client_id, secret, scope_text = parts
        scopes = frozenset(scope_text.split("+"))
        unknown = sorted(scopes - set(SCOPES))
        if unknown:
            raise ConfigurationError(
                f"BANKTWIN_CLIENTS: client {client_id!r} has unknown scope {unknown[0]!r}; "
                f"use {', '.join(SCOPES)}"
            )
        clients[client_id] = Client(client_id, secret, scopes)
    return clients


class Authority:
    """Registers clients, issues tokens and verifies them."""

    def __init__(self, clients: dict[str, Client], signing_key: str) -> None:
        self._clients = clients
        self._key = signing_key
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> Authority:
        """The authority the settings describe.

        Raises:
            ConfigurationError: outside the demo profile, no signing key, a short one, or no
                clients.
        """
        demo = settings.profile == "demo"
        key = settings.token_secret.get_secret_value() if settings.token_secret else None
        if key is None:
            if not demo:
                raise ConfigurationError(
                    "BANKTWIN_TOKEN_SECRET is not set: give a random key of at least "
                    f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`), or run "
                    "with BANKTWIN_PROFILE=demo"
                )
            key = secrets.token_hex(32)  # demo: tokens last as long as the process
        if len(key) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"BANKTWIN_TOKEN_SECRET is too short: use at least {MIN_SECRET_LENGTH} characters"
            )
        clients = parse_clients(settings.clients or "")
        if not clients:
            if not demo:
                raise ConfigurationError(
                    "BANKTWIN_CLIENTS is not set: declare API clients as id:secret:scope+scope "
                    "(scopes digitaltwin.read, digitaltwin.write, digitaltwin.admin)"
                )
            clients = {
                DEMO_CLIENT_ID: Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, frozenset(SCOPES))
            }
        if not demo and any(c.secret == DEMO_CLIENT_SECRET for c in clients.values()):
            raise ConfigurationError("BANKTWIN_CLIENTS uses the demo secret outside the demo")
        return cls(clients, key)

    def client(self, client_id: str) -> Client:
        """A registered client (raises ``KeyError`` for an unknown id)."""
        return self._clients[client_id]

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The client if the secret matches (compared in constant time); ``None`` for any
        other id or secret, whatever characters they hold."""
        # compare_digest refuses str holding non-ASCII characters (TypeError): compare the
        # UTF-8 bytes ("surrogatepass": even a lone surrogate is only a wrong secret).
        given = secret.encode("utf-8", "surrogatepass")
        client = self._clients.get(client_id)
        if client is None:
            hmac.compare_digest(given, given)  # same work whether or not the id exists
            return None
        expected = client.secret.encode("utf-8", "surrogatepass")
        return client if hmac.compare_digest(expected, given) else None

    def issue(self, client: Client, scopes: frozenset[str]) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": client.client_id,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "exp": now + TOKEN_TTL_S,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        """The principal a token speaks for.

        Raises:
            InvalidTokenError: with the reason.
        """
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        principal = Principal(str(claims["sub"]), frozenset(str(claims.get("scope", "")).split()))
        # Verified tokens are remembered until they expire: HMAC checks on every read of a
        # busy client would cost more than the read itself.
        self._verified[token] = (principal, float(claims["exp"]))
        if len(self._verified) > 10_000:
            self._verified.popitem(last=False)
        return principal
