"""The alert evaluator: measures, decides with the rules, appends what fired or resolved.

Every ``interval_s`` it reads :class:`~banktwin.alerting.measures.Measures`, applies them to
its book with :func:`~banktwin.domain.operational_alerts.evaluate`, appends an
``ops.alert_fired`` or ``ops.alert_resolved`` per transition (subject: the alert's id; event
ids fixed by the alert), and only then saves its book and the alerts' documents in its own
keys of the key-value store. A crash between the two decides the same transitions again under
the same ids, which the log ignores: nothing is paged twice, nothing is lost.

One evaluator runs per deployment: in the process that runs the whole-log consumers (the
first worker process, or ``serve``'s own threads).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from banktwin.alerting import ALERTING
from banktwin.alerting.measures import Measures
from banktwin.alerting.periodic import run_periodically
from banktwin.alerting.webhooks import Webhooks
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.events import Event, derived_event_id, new_event
from banktwin.domain.operational_alerts import (
    RULES,
    AlertRule,
    Fired,
    Resolved,
    Transition,
    Watch,
    evaluate,
)
from banktwin.domain.payloads.operations import OperationalAlertFired, OperationalAlertResolved
from banktwin.log.port import EventLog
from banktwin.store.kv import KeyValueStore

log = logging.getLogger(__name__)

SOURCE = "banktwin.alerting"
BOOK_KEY = "book"
ALERT_PREFIX = "alert/"
"""``alert/<fired at>/<alert id>``: an alert's document, in firing order."""
ID_PREFIX = "id/"
"""``id/<alert id>``: the key of that alert's document."""
DEFAULT_INTERVAL_S = 15.0


def fired_event_id(alert_id: str) -> str:
    return derived_event_id(alert_id, 0)


def resolved_event_id(alert_id: str) -> str:
    return derived_event_id(alert_id, 1)


class AlertEvaluator:
    """Evaluates the alert rules over the measures and records what changed."""

    def __init__(
        self,
        log: EventLog,
        kv: KeyValueStore,
        measures: Measures,
        clock: Callable[[], datetime],
        rules: Mapping[str, AlertRule] = RULES,
        webhooks: Webhooks | None = None,
    ) -> None:
        """``webhooks``: where each firing and resolution is delivered (none: nowhere)."""
        self._log = log
        self._webhooks = webhooks
        self._kv = kv
        self._measures = measures
        self._clock = clock
        self._rules = rules

    def evaluate_once(self) -> list[Transition]:
        """Measure now, decide, append the transitions, save the book; returns them.

        Raises:
            UnavailableError: the log or the store cannot be written (nothing is saved; the
                next evaluation decides the same again).
        """
        now = self._clock()
        book = self._load_book()
        book_after, transitions = evaluate(book, self._measures.measure(now), self._rules)
        if not transitions and book_after == book:
            return []
        if transitions:
            self._log.append([_event_of(t) for t in transitions])
        puts: dict[str, bytes | None] = {BOOK_KEY: _encode_book(book_after)}
        for t in transitions:
            puts.update(self._document_puts(t, puts))
            if self._webhooks is not None:
                action, alert = (
                    ("trigger", _alert_document(t))
                    if isinstance(t, Fired)
                    else ("resolve", {"alertId": t.alert_id})
                )
                puts.update(self._webhooks.deliveries_of(action, alert, now))
        self._kv.commit(Checkpoint(ALERTING, {}, {}), puts)
        for t in transitions:
            log.warning(
                "alert %s %s: %s",
                t.alert_id,
                "fired" if isinstance(t, Fired) else "resolved",
                t.rule.describe(t.key, t.value),
            )
        return transitions

    def run_forever(self, stop: threading.Event, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        """Evaluate every ``interval_s`` until ``stop`` is set; a failed evaluation is logged
        and tried again at the next tick."""
        run_periodically(self.evaluate_once, stop, interval_s, "evaluating the alert rules")

    def _load_book(self) -> dict[tuple[str, str], Watch]:
        raw = self._kv.get_many(ALERTING, [BOOK_KEY]).get(BOOK_KEY)
        return {} if raw is None else _decode_book(raw)

    def _document_puts(
        self, t: Transition, pending: Mapping[str, bytes | None]
    ) -> dict[str, bytes | None]:
        if isinstance(t, Fired):
            key = f"{ALERT_PREFIX}{t.at.isoformat()}/{t.alert_id}"
            document = _alert_document(t)
            return {key: orjson.dumps(document), f"{ID_PREFIX}{t.alert_id}": key.encode()}
        index = f"{ID_PREFIX}{t.alert_id}"
        where = pending.get(index) or self._kv.get_many(ALERTING, [index]).get(index)
        if where is None:  # fired before the book was kept: nothing to update
            return {}
        key = where.decode()
        raw = pending.get(key) or self._kv.get_many(ALERTING, [key]).get(key)
        if raw is None:
            return {}
        document = orjson.loads(raw)
        document.update(status="resolved", resolvedAt=t.at.isoformat(), resolvedValue=t.value)
        return {key: orjson.dumps(document)}


def _alert_document(t: Fired) -> dict[str, Any]:
    return {
        "alertId": t.alert_id,
        "rule": t.rule.name,
        "key": t.key,
        "severity": t.rule.severity.value,
        "status": "firing",
        "summary": t.rule.describe(t.key, t.value),
        "value": t.value,
        "threshold": t.rule.threshold,
        "since": t.since.isoformat(),
        "firedAt": t.at.isoformat(),
        "resolvedAt": None,
        "resolvedValue": None,
    }


def _event_of(t: Transition) -> Event:
    if isinstance(t, Fired):
        return new_event(
            OperationalAlertFired(
                rule=t.rule.name,
                key=t.key,
                severity=t.rule.severity.value,
                value=t.value,
                threshold=t.rule.threshold,
                summary=t.rule.describe(t.key, t.value),
                since=t.since,
            ),
            subject_id=t.alert_id,
            occurred_at=t.at,
            source=SOURCE,
            event_id=fired_event_id(t.alert_id),
        )
    assert isinstance(t, Resolved)
    return new_event(
        OperationalAlertResolved(rule=t.rule.name, key=t.key, value=t.value),
        subject_id=t.alert_id,
        occurred_at=t.at,
        source=SOURCE,
        event_id=resolved_event_id(t.alert_id),
    )


def _encode_book(book: Mapping[tuple[str, str], Watch]) -> bytes:
    return orjson.dumps(
        [
            {
                "rule": rule,
                "key": key,
                "aboveSince": None if w.above_since is None else w.above_since.isoformat(),
                "firing": w.firing,
                "firedBefore": w.fired_before,
            }
            for (rule, key), w in sorted(book.items())
        ]
    )


def _decode_book(raw: bytes) -> dict[tuple[str, str], Watch]:
    entries: list[dict[str, Any]] = orjson.loads(raw)
    return {
        (e["rule"], e["key"]): Watch(
            None if e["aboveSince"] is None else datetime.fromisoformat(e["aboveSince"]),
            e["firing"],
            e["firedBefore"],
        )
        for e in entries
    }
