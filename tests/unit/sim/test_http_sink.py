"""HttpSink: what it posts, what it retries, what it refuses to retry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from banktwin.domain.events import new_event
from banktwin.domain.payloads.customer import CreditScoreReceived
from banktwin.sim import EventDeliveryError, HttpSink
from banktwin.wire import events_to_ndjson

EVENTS = [
    new_event(
        CreditScoreReceived(score=700 + i, bureau="SCHUFA"),
        subject_id="9b2f0c1e-4a5d-4b6e-8f70-112233445566",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        source="banktwin.sim",
        event_id=f"00000000-0000-4000-8000-00000000000{i}",
    )
    for i in range(3)
]
PROBLEM = {"type": "about:blank", "title": "Unprocessable", "status": 422, "detail": "bad amount"}


def _sink(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> tuple[HttpSink, list[float]]:
    sleeps: list[float] = []
    sink = HttpSink(
        "http://twin.test/",
        token="s3cret",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )
    return sink, sleeps


def test_posts_ndjson_with_bearer_token_to_v1_events() -> None:
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"accepted": 3})

    sink, sleeps = _sink(accept)
    sink.send(EVENTS)

    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://twin.test/v1/events"
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.content == events_to_ndjson(EVENTS)
    assert sleeps == []


def test_retries_5xx_429_and_connection_errors_with_backoff() -> None:
    answers: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(502),
            httpx.Response(200),
        ]
    )

    def flaky(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sink, sleeps = _sink(flaky, backoff_seconds=0.5)
    sink.send(EVENTS)

    assert sleeps == [0.5, 1.0, 7.0, 4.0]


def test_other_4xx_raises_with_status_and_problem_detail_without_retrying() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            422, json=PROBLEM, headers={"Content-Type": "application/problem+json"}
        )

    sink, sleeps = _sink(refuse)
    with pytest.raises(EventDeliveryError, match=r"422 Unprocessable Entity: bad amount"):
        sink.send(EVENTS)
    assert calls == 1 and sleeps == []


def test_gives_up_after_max_attempts_naming_the_last_problem() -> None:
    sink, sleeps = _sink(lambda request: httpx.Response(500, text="boom"), max_attempts=3)

    with pytest.raises(
        EventDeliveryError, match=r"failed 3 times; last: 500 Internal Server Error"
    ):
        sink.send(EVENTS)
    assert sleeps == [0.5, 1.0]


def test_empty_batches_are_not_sent() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be posted")

    sink, _ = _sink(fail)
    sink.send([])


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.path, self.headers["Authorization"], body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_delivers_to_a_real_http_server() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with HttpSink(f"http://127.0.0.1:{server.server_port}", token="t", timeout=5) as sink:
            sink.send(EVENTS[:2])
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.bodies == [("/v1/events", "Bearer t", events_to_ndjson(EVENTS[:2]))]
