"""Delivering alerts to a webhook the test runs itself: PagerDuty's Events API v2 body,
retries with back-off, a failure kept and visible, nothing sent before it is recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from banktwin.alerting.evaluator import AlertEvaluator
from banktwin.alerting.reader import AlertReader
from banktwin.alerting.webhooks import BACKOFF_S, Webhooks, WebhookSender
from banktwin.domain.operational_alerts import Measurement, alert_id
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
KEY = "R0UT1NGKEY0000000000000000000000"


class Receiver:
    """An HTTP server on loopback answering each POST with the next of ``statuses`` (the
    last one from then on) and keeping every body."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(orjson.loads(self.rfile.read(length)))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_of(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Lag:
    def __init__(self) -> None:
        self.seconds = 0.0

    def measure(self, now: datetime) -> list[Measurement]:
        return [Measurement("ingestion_lag", "twin", self.seconds, now)]


def fire_and_resolve(kv: InMemoryKeyValueStore, clock: Clock, urls: list[str]) -> str:
    lag = Lag()
    evaluator = AlertEvaluator(InMemoryEventLog(), kv, lag, clock, webhooks=Webhooks(urls, KEY))
    lag.seconds = 900
    evaluator.evaluate_once()
    clock.now += timedelta(seconds=60)
    evaluator.evaluate_once()
    lag.seconds = 1
    clock.now += timedelta(seconds=30)
    evaluator.evaluate_once()
    return alert_id("ingestion_lag", "twin", 0)


def test_a_firing_and_its_resolution_reach_the_webhook_as_pagerduty_events(
    receiver_of: Any,
) -> None:
    receiver = receiver_of([202])
    kv, clock = InMemoryKeyValueStore(), Clock()
    fired = fire_and_resolve(kv, clock, [receiver.url])
    assert WebhookSender(kv, [receiver.url], clock).send_due() == 2
    trigger, resolve = sorted(receiver.bodies, key=lambda b: b["event_action"] != "trigger")
    assert trigger["routing_key"] == KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == fired
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "banktwin"
    assert trigger["payload"]["summary"].startswith("consumer twin is 900 s behind")
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": fired}
    alert = AlertReader(kv).get(fired)
    assert alert is not None
    assert {(d["action"], d["status"], d["attempts"]) for d in alert["deliveries"]} == {
        ("trigger", "delivered", 1),
        ("resolve", "delivered", 1),
    }
    assert WebhookSender(kv, [receiver.url], clock).send_due() == 0  # nothing left


def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(receiver_of: Any) -> None:
    receiver = receiver_of([500, 503, 202])
    kv, clock = InMemoryKeyValueStore(), Clock()
    lag = Lag()
    evaluator = AlertEvaluator(
        InMemoryEventLog(), kv, lag, clock, webhooks=Webhooks([receiver.url], KEY)
    )
    lag.seconds = 900
    evaluator.evaluate_once()
    clock.now += timedelta(seconds=60)
    evaluator.evaluate_once()
    sender = WebhookSender(kv, [receiver.url], clock)
    assert sender.send_due() == 1  # 500
    assert sender.send_due() == 0  # not before its back-off
    clock.now += timedelta(seconds=BACKOFF_S[0])
    assert sender.send_due() == 1  # 503
    clock.now += timedelta(seconds=BACKOFF_S[1])
    assert sender.send_due() == 1  # 202
    [delivery] = AlertReader(kv).get(alert_id("ingestion_lag", "twin", 0))["deliveries"]  # type: ignore[index]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["lastStatus"] == 202 and delivery["lastError"] is None
    assert len(receiver.bodies) == 3


def test_a_delivery_that_never_succeeds_is_kept_as_failed_with_its_last_error(
    receiver_of: Any,
) -> None:
    receiver = receiver_of([503])
    kv, clock = InMemoryKeyValueStore(), Clock()
    fired = fire_and_resolve(kv, clock, [receiver.url, "http://127.0.0.1:9/closed"])
    sender = WebhookSender(kv, [receiver.url, "http://127.0.0.1:9/closed"], clock)
    for _ in range(len(BACKOFF_S)):
        sender.send_due()
        clock.now += timedelta(seconds=max(BACKOFF_S))
    assert sender.send_due() == 0
    deliveries = AlertReader(kv).get(fired)["deliveries"]  # type: ignore[index]
    assert len(deliveries) == 4  # trigger and resolve, to each webhook
    assert {d["status"] for d in deliveries} == {"failed"}
    assert {d["attempts"] for d in deliveries} == {len(BACKOFF_S)}
    by_webhook = {d["webhook"]: d["lastError"] for d in deliveries}
    assert by_webhook[0] == "the receiver answered 503"
    assert by_webhook[1] is not None and "ConnectError" in by_webhook[1]
    assert len(receiver.bodies) == 2 * len(BACKOFF_S)


def test_deliveries_are_written_with_the_alert_in_one_commit() -> None:
    commits: list[set[str]] = []

    class Recording(InMemoryKeyValueStore):
        def commit(self, checkpoint: Any, puts: Any) -> None:
            commits.append(set(puts))
            super().commit(checkpoint, puts)

    kv, clock, lag = Recording(), Clock(), Lag()
    evaluator = AlertEvaluator(
        InMemoryEventLog(), kv, lag, clock, webhooks=Webhooks(["http://hooks.example/x"], KEY)
    )
    lag.seconds = 900
    evaluator.evaluate_once()
    clock.now += timedelta(seconds=60)
    evaluator.evaluate_once()
    fired = alert_id("ingestion_lag", "twin", 0)
    assert any(f"id/{fired}" in keys and f"delivery/{fired}/trigger/0" in keys for keys in commits)
