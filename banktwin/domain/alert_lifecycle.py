"""The fraud alert lifecycle: the status changes an analyst may make, decided on the log.

::

    open ──▶ investigating ──▶ confirmed_fraud ──▶ closed
                          └──▶ false_positive  ──▶ closed

A change is decided on the alert's own events in the log (its raise and its status changes),
never on the twin, which may lag behind: :func:`alert_history` folds them, and
:func:`decide_change` turns a request into the events to append, or refuses it with
:class:`IllegalTransition`. The alert's *version* is the number of its lifecycle events in
the log: it moves with every change of the alert and with nothing else, so (with the alert
id) it is what an HTTP ``ETag`` names.

The rules:

- **Forward, one step at a time**, along the arrows. A verdict (``confirmed_fraud`` or
  ``false_positive``) is reached only from ``investigating``, never from ``open`` directly: the
  lifecycle is a chain (issue 11), and a verdict with no investigation on record (who took the
  alert up, and when) would leave a gap in the audit trail. Dismissing an obvious false
  positive is two changes.
- **Nothing goes back.** The twin could not show it anyway: there, settling is final (a
  settled status wins over an open one whatever the times, :mod:`banktwin.domain.alert_rules`).
- **``closed`` is the end**, and a change to the status an alert already has is refused like
  any other illegal one. A *retried* request is told apart by its event id, which is fixed by
  what was decided on (:func:`change_event_id`, :func:`replayed`), so it changes nothing twice.
- **Outcomes become labels.** ``confirmed_fraud`` also appends a ``fraud.reported``
  (``confirmed_by_bank``) of the alert's transaction, in the same append, when the log holds
  that transaction (a report needs its account). ``false_positive`` appends no report: a
  transaction never reported is a negative already, and the status change records the verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple, cast

from banktwin.domain.alert_rules import raised_alert, status_precedence
from banktwin.domain.customer import FraudAlert
from banktwin.domain.events import Event, derived_event_id, new_event
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.fraud_report import FraudReported, FraudReportKind
from banktwin.domain.payloads.insight import AlertStatus, FraudAlertStatusChanged

Status = AlertStatus

TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    Status.OPEN: frozenset({Status.INVESTIGATING}),
    Status.INVESTIGATING: frozenset({Status.CONFIRMED_FRAUD, Status.FALSE_POSITIVE}),
    Status.CONFIRMED_FRAUD: frozenset({Status.CLOSED}),
    Status.FALSE_POSITIVE: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
"""The statuses an alert in each status may move to (the module's rules)."""

TARGETS = frozenset(s for allowed in TRANSITIONS.values() for s in allowed)
"""Every status a change may ask for (all but ``open``: nothing moves an alert back to it)."""

_LIFECYCLE_TYPES = frozenset({"fraud.alert_raised", "fraud.alert_status_changed"})


class IllegalTransition(ValueError):  # noqa: N818 - named for the rule it breaks
    """The alert's status does not allow the change asked for (nothing is appended)."""

    def __init__(self, alert_id: str, current: AlertStatus, requested: AlertStatus) -> None:
        self.alert_id = alert_id
        self.current = current
        self.requested = requested
        self.allowed = sorted(TRANSITIONS[current], key=list(AlertStatus).index)
        if self.allowed:
            onward = f"it can go to {' or '.join(s.value for s in self.allowed)}"
        else:
            onward = "it is closed, which is final"
        super().__init__(f"alert {alert_id} is {current.value}: {onward}, not {requested.value}")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One status change of an alert, as the log holds it."""

    event_id: str
    status: str
    at: datetime
    analyst: str | None
    note: str | None
    source: str


class LabelFacts(NamedTuple):
    """What a fraud report of the alert's transaction needs, from its ``transaction.posted``."""

    account_id: str
    card_token: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class AlertHistory:
    """An alert as its events in the log make it."""

    alert: FraudAlert
    """As raised, with the status it has now (the twin's rule) and since when."""
    version: int
    """Its lifecycle events in the log: the raise and every status change of it."""
    changes: tuple[StatusChange, ...]
    """Its status changes in log order."""
    last_event_id: str
    """The newest of its lifecycle events in log order."""
    latest_at: datetime
    """The latest ``occurredAt`` among its lifecycle events."""
    label_facts: LabelFacts | None
    """Its transaction as the log holds it (``None``: not posted for this customer)."""


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """An analyst's change: the status asked for, who asks and why."""

    status: AlertStatus
    analyst: str
    note: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """What a granted change appends, and the alert once it is appended."""

    events: tuple[Event, ...]
    """The status change, then the label it makes (if any)."""
    after: AlertHistory


def _newer(history: AlertHistory, status: str, at: datetime) -> AlertHistory:
    """``history`` with one more status event at ``at`` taken into its current status: the
    twin's rule, the status of highest precedence."""
    alert = history.alert
    if status_precedence(status, at) > status_precedence(alert.status, alert.updated_at):
        alert = replace(alert, status=status, updated_at=at)
    return replace(history, alert=alert, latest_at=max(history.latest_at, at))


def alert_history(alert_id: str, events: Iterable[Event]) -> AlertHistory | None:
    """Fold an alert's lifecycle from its customer's events, in log order.

    Args:
        alert_id: the alert.
        events: every event of the customer the alert was raised about (others are skipped).

    Returns:
        The alert with its current status, version and changes; ``None`` if it was never
        raised (status changes alone do not make an alert). A repeated raise counts in the
        version, and the first one logged describes the alert, as in the twin.
    """
    raise_event: Event | None = None
    changes: list[tuple[Event, FraudAlertStatusChanged]] = []
    posted: dict[str, LabelFacts] = {}
    version = 0
    last_event_id = ""
    for e in events:
        if e.type == "transaction.posted":
            txn = cast(TransactionPosted, e.payload)
            posted.setdefault(
                txn.transaction_id, LabelFacts(txn.account_id, txn.card_token, e.occurred_at)
            )
            continue
        if e.type not in _LIFECYCLE_TYPES or getattr(e.payload, "alert_id", None) != alert_id:
            continue
        version += 1
        last_event_id = e.event_id
        if e.type == "fraud.alert_raised":
            raise_event = raise_event or e
        else:
            changes.append((e, cast(FraudAlertStatusChanged, e.payload)))
    if raise_event is None:
        return None
    alert = raised_alert(raise_event)
    history = AlertHistory(
        alert=alert,
        version=version,
        changes=tuple(
            StatusChange(e.event_id, c.status.value, e.occurred_at, c.analyst, c.note, e.source)
            for e, c in changes
        ),
        last_event_id=last_event_id,
        latest_at=alert.raised_at,
        label_facts=posted.get(alert.transaction_id),
    )
    for e, c in changes:
        history = _newer(history, c.status.value, e.occurred_at)
    return history


def change_event_id(alert_id: str, version: int, status: AlertStatus, analyst: str) -> str:
    """The id of the status change ``analyst`` decides on the alert at ``version``: the same
    request decided on the same version always makes the same event, so a retried request
    appends nothing twice (the log is idempotent by event id). Another analyst's identical
    change is another event, refused as a change to the status the alert has."""
    return derived_event_id(_cause(alert_id, version, status, analyst), 0)


def _cause(alert_id: str, version: int, status: AlertStatus, analyst: str) -> str:
    return f"fraud-alert/{alert_id}/{version}/{status.value}/{analyst}"


def replayed(history: AlertHistory, request: ChangeRequest) -> bool:
    """True if the alert's newest lifecycle event is the change ``request`` makes, decided on
    the version before it: the request is a retry of one already appended (and nothing has
    happened to the alert since)."""
    decided_on = history.version - 1
    return history.last_event_id == change_event_id(
        history.alert.alert_id, decided_on, request.status, request.analyst
    )


def decide_change(
    history: AlertHistory, request: ChangeRequest, *, now: datetime, source: str
) -> Decision:
    """The events a change appends, if the alert's status allows it.

    The change occurs at ``now``, or at the alert's latest event time if that is later (a
    status change posted with a time ahead of the clock): the twin orders an alert's statuses
    by time, and a change must not sort before the status it follows.

    Args:
        history: the alert as its events in the log make it (:func:`alert_history`).
        request: the status asked for, who asks and why.
        now: the time of the decision.
        source: the producing system recorded on the events (the API client's id).

    Raises:
        IllegalTransition: the alert's current status does not lead to the one asked for.
    """
    alert = history.alert
    current = AlertStatus(alert.status)
    if request.status not in TRANSITIONS[current]:
        raise IllegalTransition(alert.alert_id, current, request.status)
    at = max(now, history.latest_at)
    cause = _cause(alert.alert_id, history.version, request.status, request.analyst)
    change = new_event(
        FraudAlertStatusChanged(
            alert_id=alert.alert_id,
            status=request.status,
            note=request.note,
            analyst=request.analyst,
        ),
        subject_id=alert.customer_id,
        occurred_at=at,
        source=source,
        event_id=derived_event_id(cause, 0),
    )
    events = [change]
    facts = history.label_facts
    if request.status is Status.CONFIRMED_FRAUD and facts is not None:
        report = FraudReported(
            transaction_id=alert.transaction_id,
            account_id=facts.account_id,
            kind=FraudReportKind.CONFIRMED_BY_BANK,
            card_token=facts.card_token,
            transaction_occurred_at=facts.occurred_at,
        )
        events.append(
            new_event(
                report,
                subject_id=alert.customer_id,
                occurred_at=at,
                source=source,
                event_id=derived_event_id(cause, 1),
            )
        )
    step = StatusChange(
        change.event_id, request.status.value, at, request.analyst, request.note, source
    )
    after = replace(
        history,
        version=history.version + 1,
        changes=(*history.changes, step),
        last_event_id=change.event_id,
    )
    return Decision(tuple(events), _newer(after, request.status.value, at))
