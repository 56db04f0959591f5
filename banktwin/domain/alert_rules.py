"""How fraud alerts change the customer twin: the open list, and the status of each alert.

An alert's status is the one of its newest status event, the raise counting as one ("open" at
the raise). Settling is final: a settled status wins over any open one, whatever the times, so
an alert never comes back to the open list (the twin keeps only open alerts in full). A status
change may arrive before its alert: it is kept as a mark, and the raise lands in that status.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import cast

from banktwin.domain.customer import AlertMark, Changes, CustomerRule, CustomerTwin, FraudAlert
from banktwin.domain.events import Event
from banktwin.domain.payloads.insight import AlertStatus, FraudAlertRaised, FraudAlertStatusChanged

MAX_ALERT_MARKS = 100
"""Marks kept per customer (the newest): beyond it, a settled alert is forgotten, and a status
change that arrives late for it, or a repeated raise, counts as news (docs/events.md)."""

_OPEN = AlertStatus.OPEN.value
_SETTLED = frozenset(s.value for s in AlertStatus if not s.is_open)
_LIFECYCLE = {status.value: i for i, status in enumerate(AlertStatus)}


def status_precedence(status: str, at: datetime) -> tuple[bool, datetime, int]:
    """Which of two statuses an alert takes: settled over open, then the later, then (at one
    instant) the one further along the lifecycle."""
    return status in _SETTLED, at, _LIFECYCLE[status]


def raised_alert(e: Event) -> FraudAlert:
    """The open alert a ``fraud.alert_raised`` event describes."""
    p = cast(FraudAlertRaised, e.payload)
    return FraudAlert(
        alert_id=p.alert_id,
        customer_id=e.subject_id,
        transaction_id=p.transaction_id,
        severity=p.severity.value,
        status=_OPEN,
        score=p.score,
        reasons=tuple(p.reasons),
        rule_ids=tuple(p.rule_ids),
        raised_at=e.occurred_at,
        updated_at=e.occurred_at,
    )


def _listed(alerts: tuple[FraudAlert, ...], alert: FraudAlert) -> tuple[FraudAlert, ...]:
    """``alerts`` with ``alert`` added, newest raised first (then by id, descending)."""
    key = (alert.raised_at, alert.alert_id)
    for i, other in enumerate(alerts):
        if (other.raised_at, other.alert_id) < key:
            return (*alerts[:i], alert, *alerts[i:])
    return (*alerts, alert)


def _marked(marks: tuple[AlertMark, ...], mark: AlertMark) -> tuple[AlertMark, ...]:
    """``marks`` with ``mark`` set (by alert id), the newest ``MAX_ALERT_MARKS`` kept."""
    listed = sorted([m for m in marks if m.alert_id != mark.alert_id] + [mark])
    if len(listed) > MAX_ALERT_MARKS:
        listed.remove(min(listed, key=lambda m: (m.at, m.alert_id)))
    return tuple(listed)


def _mark_index(marks: tuple[AlertMark, ...], alert_id: str) -> int:
    return next((i for i, m in enumerate(marks) if m.alert_id == alert_id), -1)


def _alert_raised(c: CustomerTwin, e: Event) -> Changes:
    alert = raised_alert(e)
    if any(a.alert_id == alert.alert_id for a in c.open_alerts):
        return {}  # raised already (an alert id names one raise)
    marks = c.alert_marks
    index = _mark_index(marks, alert.alert_id)
    changes: Changes = {"alert_count": c.alert_count + 1}
    if index < 0:
        changes["open_alerts"] = _listed(c.open_alerts, alert)
        return changes
    mark = marks[index]
    if mark.raised:
        return {}
    if mark.status in _SETTLED:  # settled before it was raised: it stays out of the list
        changes["alert_marks"] = (*marks[:index], mark._replace(raised=True), *marks[index + 1 :])
        return changes
    if status_precedence(mark.status, mark.at) > status_precedence(_OPEN, alert.raised_at):
        alert = replace(alert, status=mark.status, updated_at=mark.at)
    changes["open_alerts"] = _listed(c.open_alerts, alert)
    changes["alert_marks"] = (*marks[:index], *marks[index + 1 :])
    return changes


def _alert_status_changed(c: CustomerTwin, e: Event) -> Changes:
    p = cast(FraudAlertStatusChanged, e.payload)
    status, at = p.status.value, e.occurred_at
    precedence = status_precedence(status, at)
    alerts = c.open_alerts
    for i, alert in enumerate(alerts):
        if alert.alert_id == p.alert_id:
            if precedence <= status_precedence(alert.status, alert.updated_at):
                return {}
            if status in _SETTLED:  # it leaves the open list (the alerts table keeps it)
                return {
                    "open_alerts": (*alerts[:i], *alerts[i + 1 :]),
                    "alert_marks": _marked(c.alert_marks, AlertMark(p.alert_id, status, at, True)),
                }
            changed = replace(alert, status=status, updated_at=at)
            return {"open_alerts": (*alerts[:i], changed, *alerts[i + 1 :])}
    marks = c.alert_marks
    index = _mark_index(marks, p.alert_id)
    if index < 0:
        return {"alert_marks": _marked(marks, AlertMark(p.alert_id, status, at, False))}
    mark = marks[index]
    if precedence <= status_precedence(mark.status, mark.at):
        return {}
    return {"alert_marks": _marked(marks, mark._replace(status=status, at=at))}


def alert_status(c: CustomerTwin, alert_id: str) -> tuple[str, datetime] | None:
    """The status an alert has in the twin and since when (``None``: the twin does not know
    it, or no longer: past :data:`MAX_ALERT_MARKS`). The alerts table takes its rows' status
    from here, so it agrees with the twin whatever order the events came in."""
    for alert in c.open_alerts:
        if alert.alert_id == alert_id:
            return alert.status, alert.updated_at
    for mark in c.alert_marks:
        if mark.alert_id == alert_id:
            return mark.status, mark.at
    return None


ALERT_RULES: dict[str, CustomerRule] = {
    "fraud.alert_raised": _alert_raised,
    "fraud.alert_status_changed": _alert_status_changed,
}
"""The rule for each alert event type."""
