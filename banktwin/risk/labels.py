"""The risk model's labels: which events are losses, and whether one follows an as-of date.

A customer's risk score is the probability of a **loss event** within a horizon after the
score's time. The loss events, from the log:

- ``credit.defaulted``: a facility in default (90 days past due);
- ``credit.charged_off``: a balance written off;
- a confirmed fraud loss: ``fraud.reported`` (a dispute, a chargeback, the bank's own
  finding) or ``fraud.alert_status_changed`` to ``confirmed_fraud`` of the customer.

Each counts at its ``occurredAt``: when the bank learned it. :func:`label` looks only after the
as-of time, in ``(as_of, as_of + horizon]`` (the features look only at or before it), and
:func:`at_risk` leaves out customers already in default at the as-of time: they cannot
default again, and a model trained on them would learn that arrears predict arrears already
booked. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.payloads.insight import AlertStatus, FraudAlertStatusChanged
from banktwin.risk.customer_facts import Timeline, to_micros


class LossKind(StrEnum):
    """What kind of loss an event is."""

    DEFAULT = "default"
    CHARGE_OFF = "charge_off"
    FRAUD = "fraud"


ALL_LOSSES: Final = frozenset(LossKind)
CREDIT_LOSSES: Final = frozenset({LossKind.DEFAULT, LossKind.CHARGE_OFF})
DEFAULT_HORIZON: Final = timedelta(days=14)
"""The horizon that suits the demo's 30 days of history: two weekly as-of dates fit before
its end. A bank scoring for credit decisions uses 12 months (:data:`BANK_HORIZON`), the Basel
probability of default's horizon."""
BANK_HORIZON: Final = timedelta(days=365)


def loss_of(event: Event) -> LossKind | None:
    """The kind of loss ``event`` is, or ``None`` when it is none."""
    if event.subject_kind is not SubjectKind.CUSTOMER:
        return None
    if event.type == "credit.defaulted":
        return LossKind.DEFAULT
    if event.type == "credit.charged_off":
        return LossKind.CHARGE_OFF
    if event.type == "fraud.reported":
        return LossKind.FRAUD
    if event.type == "fraud.alert_status_changed":
        payload = event.payload
        assert isinstance(payload, FraudAlertStatusChanged)
        if payload.status is AlertStatus.CONFIRMED_FRAUD:
            return LossKind.FRAUD
    return None


class LossBook:
    """Every customer's loss events with their times, folded in any order."""

    def __init__(self) -> None:
        self.losses: dict[str, Timeline[str]] = {}

    def fold(self, event: Event) -> None:
        """Keep ``event`` if it is a loss."""
        kind = loss_of(event)
        if kind is None:
            return
        losses = self.losses.get(event.subject_id)
        if losses is None:
            losses = self.losses[event.subject_id] = Timeline()
        losses.add(to_micros(event.occurred_at), kind.value)

    def of(self, customer_id: str) -> Timeline[str]:
        """The customer's losses (empty when none)."""
        return self.losses.get(customer_id) or Timeline()


def _micros(moment: datetime | int) -> int:
    return moment if isinstance(moment, int) else to_micros(moment)


def label(
    losses: Timeline[str],
    as_of: datetime | int,
    horizon: timedelta,
    kinds: Collection[str] = ALL_LOSSES,
) -> bool:
    """Whether a loss of ``kinds`` occurred in ``(as_of, as_of + horizon]``: never at or
    before ``as_of``."""
    start = _micros(as_of)
    low, high = losses.span(start, start + horizon // timedelta(microseconds=1))
    return any(kind in kinds for kind in losses.items[low:high])


def at_risk(losses: Timeline[str], as_of: datetime | int) -> bool:
    """Whether the customer can still default at ``as_of``: no default or charge-off of theirs
    occurred at or before it."""
    seen = losses.until(_micros(as_of))
    return not any(kind in CREDIT_LOSSES for kind in losses.items[:seen])
