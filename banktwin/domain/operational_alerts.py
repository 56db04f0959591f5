"""The seed's operational alert thresholds, decided from measurements (no I/O).

The seed pages on three conditions (§4.6): ingestion lag over 5 minutes, model drift over
10 %, and a fraud-alert rate over twice its baseline; issue 13 adds a stalled consumer and
growing dead letters. Each is an :class:`AlertRule` over one measured value per *key* (a
consumer, a model, a source, or the bank as a whole), and the same thresholds are written as
Prometheus rules in ``deploy/prometheus/rules.yml`` for a bank that runs Prometheus.

How a rule decides, as Prometheus does:

- A measurement **above the threshold** starts the condition. It **fires** once the condition
  has held for the rule's ``for_s`` (0: at once); until then the alert is *pending*.
- A measurement **at or below** the threshold ends it: a firing alert **resolves**, a pending
  one is forgotten.
- A key not measured at all keeps its state: a measure that cannot be read (a store down)
  neither fires nor resolves anything.

Each firing is a new alert, with an id fixed by what caused it: the rule, the key and how many
alerts of that pair fired before (:func:`alert_id`). An evaluator that crashes after appending
a firing and before saving its book decides the same firing again under the same id, which the
log ignores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Severity(StrEnum):
    """How urgently a person must act: ``page`` wakes someone, ``ticket`` waits for the day."""

    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One threshold: fires when a key's measured value stays above ``threshold`` for
    ``for_s`` seconds."""

    name: str
    threshold: float
    for_s: float
    severity: Severity
    summary: str
    """What firing means, with ``{key}``, ``{value}`` and ``{threshold}`` filled in."""

    def describe(self, key: str, value: float) -> str:
        return self.summary.format(key=key, value=f"{value:g}", threshold=f"{self.threshold:g}")


INGESTION_LAG_S = 300.0
"""The seed: ingestion lag over 5 minutes (a consumer's oldest unapplied event)."""
STALLED_AFTER_S = 600.0
"""A consumer with events to apply whose positions have not moved for 10 minutes."""
MODEL_DRIFT = 0.10
"""The seed: model drift over 10 %."""
FRAUD_ALERT_RATE_FACTOR = 2.0
"""The seed: fraud-alert rate over twice its trailing baseline (the measured value is the
ratio of the last full hour's alerts to the baseline's hourly mean)."""

RULES: Mapping[str, AlertRule] = {
    rule.name: rule
    for rule in (
        AlertRule(
            "ingestion_lag",
            INGESTION_LAG_S,
            60,
            Severity.PAGE,
            "consumer {key} is {value} s behind the log (threshold {threshold} s)",
        ),
        AlertRule(
            "consumer_stalled",
            STALLED_AFTER_S,
            0,
            Severity.PAGE,
            "consumer {key} has events to apply and has not moved for {value} s",
        ),
        AlertRule(
            "fraud_alert_rate",
            FRAUD_ALERT_RATE_FACTOR,
            0,
            Severity.PAGE,
            "fraud alerts in the last hour are {value}x their 7-day baseline "
            "(threshold {threshold}x)",
        ),
        AlertRule(
            "model_drift",
            MODEL_DRIFT,
            0,
            Severity.PAGE,
            "model {key} drifted by {value} (threshold {threshold})",
        ),
        AlertRule(
            "dead_letters_growing",
            0,
            0,
            Severity.TICKET,
            "{value} records of {key} went to the dead-letter table in the last 15 minutes",
        ),
    )
}
"""Every rule by name; thresholds are configurable (:func:`with_thresholds`)."""


def with_thresholds(overrides: Mapping[str, float]) -> dict[str, AlertRule]:
    """The rules with some thresholds replaced (``{"ingestion_lag": 120}``).

    Raises:
        ValueError: a name that is no rule, or a negative threshold.
    """
    rules = dict(RULES)
    for name, threshold in overrides.items():
        if name not in rules:
            raise ValueError(f"no alert rule {name!r}; rules are {', '.join(RULES)}")
        if threshold < 0:
            raise ValueError(f"the threshold of {name!r} must be at least 0, not {threshold}")
        rules[name] = replace(rules[name], threshold=threshold)
    return rules


@dataclass(frozen=True, slots=True)
class Measurement:
    """One rule's measured value for one key, at a time."""

    rule: str
    key: str
    value: float
    at: datetime


@dataclass(frozen=True, slots=True)
class Watch:
    """What an evaluator knows of one (rule, key): since when the condition holds (``None``:
    it does not), the alert firing now (``None``: none) and how many fired before."""

    above_since: datetime | None = None
    firing: str | None = None
    fired_before: int = 0


AlertBook = Mapping[tuple[str, str], Watch]
"""Every (rule, key) ever measured above its threshold, and what it is doing."""


@dataclass(frozen=True, slots=True)
class Fired:
    """An alert starts firing."""

    alert_id: str
    rule: AlertRule
    key: str
    value: float
    since: datetime
    """When its condition started to hold."""
    at: datetime


@dataclass(frozen=True, slots=True)
class Resolved:
    """A firing alert's condition cleared."""

    alert_id: str
    rule: AlertRule
    key: str
    value: float
    at: datetime


Transition = Fired | Resolved

_ALERTS = uuid.UUID("6f1d2a9e-3b57-4c0e-9a43-5c7f8e2b1d60")


def alert_id(rule: str, key: str, fired_before: int) -> str:
    """The id of the next alert of (``rule``, ``key``): fixed by what caused it."""
    return str(uuid.uuid5(_ALERTS, f"{rule}\x1f{key}\x1f{fired_before}"))


def evaluate(
    book: AlertBook, measurements: Iterable[Measurement], rules: Mapping[str, AlertRule] = RULES
) -> tuple[dict[tuple[str, str], Watch], list[Transition]]:
    """Apply ``measurements`` (oldest first) to ``book``: the new book and the alerts that
    fired or resolved, in the order they did.

    Raises:
        KeyError: a measurement of a rule not in ``rules``.
    """
    watched = dict(book)
    transitions: list[Transition] = []
    for m in measurements:
        rule = rules[m.rule]
        watch = watched.get((m.rule, m.key), Watch())
        if m.value > rule.threshold:
            since = watch.above_since or m.at
            watch = replace(watch, above_since=since)
            if watch.firing is None and m.at - since >= timedelta(seconds=rule.for_s):
                fired = alert_id(m.rule, m.key, watch.fired_before)
                transitions.append(Fired(fired, rule, m.key, m.value, since, m.at))
                watch = Watch(since, fired, watch.fired_before + 1)
        else:
            if watch.firing is not None:
                transitions.append(Resolved(watch.firing, rule, m.key, m.value, m.at))
            watch = Watch(fired_before=watch.fired_before)
        if watch == Watch():
            watched.pop((m.rule, m.key), None)
        else:
            watched[(m.rule, m.key)] = watch
    return watched, transitions
