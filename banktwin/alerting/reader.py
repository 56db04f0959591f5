"""Reading the operational alerts the evaluator recorded (for ``GET /v1/alerts``)."""

from __future__ import annotations

from typing import Any

import orjson

from banktwin.alerting import ALERTING
from banktwin.alerting.evaluator import ALERT_PREFIX, ID_PREFIX
from banktwin.alerting.webhooks import deliveries_of_alert
from banktwin.store.kv import KeyValueStore, prefix_end

MAX_KEPT = 100_000
"""Most alerts a listing looks through (alerts fire a few times a day: years of them)."""


class AlertReader:
    """The evaluator's alert documents, newest first."""

    def __init__(self, kv: KeyValueStore) -> None:
        self._kv = kv

    def page(
        self, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of alerts (``firing`` or ``resolved`` only, when ``status`` says so), newest
        first, and how many there are in all."""
        rows = self._kv.scan(
            ALERTING, ALERT_PREFIX, prefix_end(ALERT_PREFIX), reverse=True, limit=MAX_KEPT
        )
        alerts = [orjson.loads(value) for _, value in rows]
        if status is not None:
            alerts = [a for a in alerts if a["status"] == status]
        return alerts[offset : offset + limit], len(alerts)

    def get(self, alert_id: str) -> dict[str, Any] | None:
        """One alert by id, or ``None``."""
        alert = self._alert(alert_id)
        if alert is not None:
            alert["deliveries"] = deliveries_of_alert(self._kv, alert_id)
        return alert

    def _alert(self, alert_id: str) -> dict[str, Any] | None:
        index = f"{ID_PREFIX}{alert_id}"
        where = self._kv.get_many(ALERTING, [index]).get(index)
        if where is None:
            return None
        raw = self._kv.get_many(ALERTING, [where.decode()]).get(where.decode())
        return None if raw is None else orjson.loads(raw)
