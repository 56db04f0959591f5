"""Where generated events go: any :class:`EventSink`, such as the twin's HTTP API."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from banktwin.domain.events import Event
from banktwin.errors import BanktwinError
from banktwin.wire import events_to_ndjson

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0


class EventSink(Protocol):
    """Takes batches of events; returns once they are accepted, raises otherwise."""

    def send(self, events: Sequence[Event]) -> None:
        """Deliver ``events`` (in order); raise if they were not accepted."""
        ...


class EventDeliveryError(BanktwinError):
    """The receiver refused the events, or could not be reached after every retry."""


def _problem_detail(response: httpx.Response) -> str:
    """The ``detail`` (or ``title``) of a problem+json answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if detail:
            return str(detail)
    return str(body)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), MAX_BACKOFF_SECONDS) if value is not None else None
    except ValueError:
        return None


class HttpSink:
    """POSTs events as NDJSON to ``{url}/v1/events``.

    Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff
    (the server is idempotent by ``eventId``, so a retried batch is never applied twice);
    any other 4xx raises :class:`EventDeliveryError` naming the status and the problem's
    ``detail``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        max_attempts: int = 8,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.endpoint = f"{url.rstrip('/')}/v1/events"
        headers = {"Content-Type": "application/x-ndjson"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep

    def send(self, events: Sequence[Event]) -> None:
        """Deliver one batch.

        Raises:
            EventDeliveryError: refused (4xx other than 429), or still failing after
                ``max_attempts`` attempts.
        """
        if not events:
            return
        body = events_to_ndjson(list(events))
        problem = "no attempt made"
        for attempt in range(1, self._max_attempts + 1):
            wait: float | None = None
            try:
                response = self._client.post(self.endpoint, content=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return
                status = f"{response.status_code} {response.reason_phrase}"
                problem = f"{status}: {_problem_detail(response)}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise EventDeliveryError(f"POST {self.endpoint} was refused with {problem}")
                wait = _retry_after(response)
            if attempt < self._max_attempts:
                backoff = min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                self._sleep(wait if wait is not None else backoff)
        raise EventDeliveryError(
            f"POST {self.endpoint} failed {self._max_attempts} times; last: {problem}"
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> HttpSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
