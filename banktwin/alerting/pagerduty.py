"""The PagerDuty Events API v2 body of an alert's firing or resolution (no I/O).

A firing is a ``trigger`` and its resolution a ``resolve`` of the same ``dedup_key`` (the
alert's id), so PagerDuty opens one incident per alert and closes it when banktwin does.
``page`` alerts are ``critical``, ``ticket`` alerts ``warning``.
"""

from __future__ import annotations

from typing import Any

SOURCE = "banktwin"
SEVERITIES = {"page": "critical", "ticket": "warning"}


def trigger(alert: dict[str, Any], routing_key: str) -> dict[str, Any]:
    """The ``trigger`` event of an alert document (as ``GET /v1/alerts`` shows it)."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert["alertId"],
        "payload": {
            "summary": alert["summary"][:1024],
            "source": SOURCE,
            "severity": SEVERITIES[alert["severity"]],
            "timestamp": alert["firedAt"],
            "component": alert["key"],
            "group": "banktwin",
            "class": alert["rule"],
            "custom_details": {
                "value": alert["value"],
                "threshold": alert["threshold"],
                "since": alert["since"],
            },
        },
    }


def resolve(alert_id: str, routing_key: str) -> dict[str, Any]:
    """The ``resolve`` event closing the incident of ``alert_id``."""
    return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert_id}
