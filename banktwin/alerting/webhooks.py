"""Delivering alerts to webhooks (PagerDuty's Events API v2, or any receiver of its body).

Delivery is an outbox: when the evaluator records a firing or a resolution, it writes one
*delivery* per configured webhook in the same commit (:meth:`Webhooks.deliveries_of`), so an
alert recorded is an alert that will be sent, whatever crashes next. :class:`WebhookSender`
sends the pending ones, oldest first, and retries a failure with back-off
(:data:`BACKOFF_S`); after the last attempt the delivery is marked ``failed`` and kept, with
its last error, for ``GET /v1/alerts/{alertId}`` to show: nothing is dropped. A receiver may
get a delivery twice (a crash after its answer and before the delivery is marked sent):
PagerDuty's ``dedup_key`` makes that harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from banktwin.alerting import ALERTING, pagerduty
from banktwin.alerting.periodic import run_periodically
from banktwin.consumers.engine import Checkpoint
from banktwin.store.kv import KeyValueStore, prefix_end

log = logging.getLogger(__name__)

DELIVERY_PREFIX = "delivery/"
"""``delivery/<alert id>/<action>/<webhook>``: one delivery and its attempts."""
PENDING_PREFIX = "pending/"
"""``pending/<delivery key>``: the deliveries still to send."""
BACKOFF_S = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
"""Wait after each failed attempt; after the last, the delivery has failed (about 9 minutes
of trying)."""
TIMEOUT_S = 5.0

Post = Callable[[str, bytes], int]
"""POSTs a JSON body to a URL and returns the status; raises ``httpx.HTTPError`` when no
answer came."""


@dataclass(frozen=True)
class Webhooks:
    """Where alerts are delivered, and the PagerDuty routing key their bodies carry."""

    urls: Sequence[str]
    routing_key: str

    def deliveries_of(
        self, action: str, alert: Mapping[str, Any], now: datetime
    ) -> dict[str, bytes | None]:
        """The outbox entries of an alert's ``trigger`` or ``resolve``: one per webhook."""
        body = (
            pagerduty.trigger(dict(alert), self.routing_key)
            if action == "trigger"
            else pagerduty.resolve(alert["alertId"], self.routing_key)
        )
        puts: dict[str, bytes | None] = {}
        for index, url in enumerate(self.urls):
            key = f"{DELIVERY_PREFIX}{alert['alertId']}/{action}/{index}"
            puts[key] = orjson.dumps(
                {
                    "alertId": alert["alertId"],
                    "action": action,
                    "webhook": index,
                    "target": urlsplit(url).hostname or "",
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "createdAt": now.isoformat(),
                    "nextAttemptAt": now.isoformat(),
                    "lastAttemptAt": None,
                    "lastStatus": None,
                    "lastError": None,
                    "deliveredAt": None,
                }
            )
            puts[f"{PENDING_PREFIX}{key}"] = b""
        return puts


def http_post(url: str, body: bytes) -> int:
    """POST ``body`` as JSON to ``url``; the answer's status."""
    response = httpx.post(
        url, content=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT_S
    )
    return response.status_code


class WebhookSender:
    """Sends the pending deliveries and records every attempt."""

    def __init__(
        self,
        kv: KeyValueStore,
        urls: Sequence[str],
        clock: Callable[[], datetime],
        post: Post = http_post,
    ) -> None:
        self._kv = kv
        self._urls = list(urls)
        self._clock = clock
        self._post = post

    def send_due(self) -> int:
        """Attempt every pending delivery whose time has come; returns how many were tried."""
        now = self._clock()
        pending = self._kv.scan(ALERTING, PENDING_PREFIX, prefix_end(PENDING_PREFIX))
        keys = [key[len(PENDING_PREFIX) :] for key, _ in pending]
        documents = self._kv.get_many(ALERTING, keys)
        tried = 0
        for key in keys:
            raw = documents.get(key)
            if raw is None:
                self._commit({f"{PENDING_PREFIX}{key}": None})
                continue
            delivery = orjson.loads(raw)
            if datetime.fromisoformat(delivery["nextAttemptAt"]) > now:
                continue
            tried += 1
            self._attempt(key, delivery, now)
        return tried

    def _attempt(self, key: str, delivery: dict[str, Any], now: datetime) -> None:
        index = delivery["webhook"]
        status: int | None = None
        error: str | None = None
        if index >= len(self._urls):
            error = f"webhook {index} is no longer configured"
        else:
            try:
                status = self._post(self._urls[index], orjson.dumps(delivery["body"]))
                if not 200 <= status < 300:
                    error = f"the receiver answered {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        delivery.update(attempts=delivery["attempts"] + 1, lastAttemptAt=now.isoformat())
        delivery.update(lastStatus=status, lastError=error)
        puts: dict[str, bytes | None] = {}
        if error is None:
            delivery.update(status="delivered", deliveredAt=now.isoformat())
            puts[f"{PENDING_PREFIX}{key}"] = None
        elif delivery["attempts"] >= len(BACKOFF_S):
            delivery["status"] = "failed"
            puts[f"{PENDING_PREFIX}{key}"] = None
            log.error(
                "alert %s: delivery to webhook %d failed: %s", delivery["alertId"], index, error
            )
        else:
            wait = BACKOFF_S[delivery["attempts"] - 1]
            delivery["nextAttemptAt"] = (now + timedelta(seconds=wait)).isoformat()
            log.warning(
                "alert %s: delivery to webhook %d failed (%s); again in %g s",
                delivery["alertId"],
                index,
                error,
                wait,
            )
        puts[key] = orjson.dumps(delivery)
        self._commit(puts)

    def _commit(self, puts: dict[str, bytes | None]) -> None:
        self._kv.commit(Checkpoint(ALERTING, {}, {}), puts)

    def run_forever(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Send what is due every ``interval_s`` until ``stop`` is set."""
        run_periodically(self.send_due, stop, interval_s, "sending alert deliveries")


def deliveries_of_alert(kv: KeyValueStore, alert_id: str) -> list[dict[str, Any]]:
    """Every delivery of ``alert_id`` with its attempts (bodies left out)."""
    prefix = f"{DELIVERY_PREFIX}{alert_id}/"
    found = []
    for _, raw in kv.scan(ALERTING, prefix, prefix_end(prefix)):
        delivery = orjson.loads(raw)
        delivery.pop("body", None)
        found.append(delivery)
    return found
