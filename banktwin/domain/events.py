"""The event envelope and the vocabulary of event types (wire names are a contract).

Every change to the twin is an :class:`Event`. Its ``type`` names a registered
:class:`EventSpec`, which fixes the payload schema, the schema version and which kind of
subject (customer, branch or loan process) the event belongs to. Extend the vocabulary,
never rename a wire name.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from banktwin.domain.ids import new_event_id
from banktwin.domain.payloads.account import (
    AccountBalanceChanged,
    AccountOpened,
    AccountStatusChanged,
    TransactionPosted,
)
from banktwin.domain.payloads.branch import (
    BranchClosed,
    BranchOpened,
    QueueAbandoned,
    QueueJoined,
    QueueServed,
    ServiceAvailabilityChanged,
    StaffCheckedIn,
    StaffCheckedOut,
)
from banktwin.domain.payloads.common import Payload
from banktwin.domain.payloads.credit import (
    CreditChargedOff,
    CreditDefaulted,
    CreditPaymentMade,
    CreditPaymentMissed,
)
from banktwin.domain.payloads.customer import (
    CreditScoreReceived,
    CustomerConsentChanged,
    CustomerDeviceSeen,
    CustomerLogin,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.domain.payloads.fraud_routing import EntityHop, EntityLabel
from banktwin.domain.payloads.insight import (
    FraudAlertRaised,
    FraudAlertStatusChanged,
    RiskScoreUpdated,
)
from banktwin.domain.payloads.loan import (
    LoanDecided,
    LoanSlaBreached,
    LoanStageChanged,
    LoanSubmitted,
)
from banktwin.domain.payloads.operations import (
    ModelDriftMeasured,
    OperationalAlertFired,
    OperationalAlertResolved,
)


class SubjectKind(StrEnum):
    """What an event's ``subjectId`` names. All events of one subject share a partition."""

    CUSTOMER = "customer"
    BRANCH = "branch"
    LOAN = "loan"
    OPERATIONS = "operations"
    """An operational alert (the bank's systems, not a customer's): no twin; its events are
    the log's record of the alert, read by ``GET /v1/alerts``."""
    ENTITY = "entity"
    """A terminal, merchant or merchant category (``<kind>:<key>``): no twin; its events are
    the staged fraud engine's re-keyed record of its transactions and labels."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One entry of the vocabulary."""

    type: str
    payload: builtins.type[Payload]
    subject: SubjectKind
    version: int = 1
    """The payload's current schema version. Raise it when the schema changes in a way a
    reader must know about, and register the upcaster from the version before
    (``banktwin.domain.upcasting``): stored events keep the version they were written in."""
    projector_only: bool = False
    """Only the projector derives it; clients may not post it."""


_SPECS = (
    EventSpec("customer.registered", CustomerRegistered, SubjectKind.CUSTOMER),
    EventSpec("customer.profile_updated", CustomerProfileUpdated, SubjectKind.CUSTOMER),
    EventSpec("customer.consent_changed", CustomerConsentChanged, SubjectKind.CUSTOMER),
    EventSpec("customer.login", CustomerLogin, SubjectKind.CUSTOMER, version=2),
    EventSpec("customer.device_seen", CustomerDeviceSeen, SubjectKind.CUSTOMER),
    EventSpec("credit.score_received", CreditScoreReceived, SubjectKind.CUSTOMER),
    EventSpec("credit.payment_missed", CreditPaymentMissed, SubjectKind.CUSTOMER),
    EventSpec("credit.payment_made", CreditPaymentMade, SubjectKind.CUSTOMER),
    EventSpec("credit.defaulted", CreditDefaulted, SubjectKind.CUSTOMER),
    EventSpec("credit.charged_off", CreditChargedOff, SubjectKind.CUSTOMER),
    EventSpec("account.opened", AccountOpened, SubjectKind.CUSTOMER),
    EventSpec("account.balance_changed", AccountBalanceChanged, SubjectKind.CUSTOMER),
    EventSpec("account.status_changed", AccountStatusChanged, SubjectKind.CUSTOMER),
    EventSpec("transaction.posted", TransactionPosted, SubjectKind.CUSTOMER),
    EventSpec("risk.score_updated", RiskScoreUpdated, SubjectKind.CUSTOMER),
    EventSpec("fraud.alert_raised", FraudAlertRaised, SubjectKind.CUSTOMER),
    EventSpec("fraud.alert_status_changed", FraudAlertStatusChanged, SubjectKind.CUSTOMER),
    EventSpec("fraud.reported", FraudReported, SubjectKind.CUSTOMER),
    EventSpec("branch.opened", BranchOpened, SubjectKind.BRANCH),
    EventSpec("branch.closed", BranchClosed, SubjectKind.BRANCH),
    EventSpec("branch.staff_checked_in", StaffCheckedIn, SubjectKind.BRANCH),
    EventSpec("branch.staff_checked_out", StaffCheckedOut, SubjectKind.BRANCH),
    EventSpec(
        "branch.service_availability_changed", ServiceAvailabilityChanged, SubjectKind.BRANCH
    ),
    EventSpec("queue.joined", QueueJoined, SubjectKind.BRANCH),
    EventSpec("queue.served", QueueServed, SubjectKind.BRANCH),
    EventSpec("queue.abandoned", QueueAbandoned, SubjectKind.BRANCH),
    EventSpec("loan.submitted", LoanSubmitted, SubjectKind.LOAN),
    EventSpec("loan.stage_changed", LoanStageChanged, SubjectKind.LOAN),
    EventSpec("loan.decided", LoanDecided, SubjectKind.LOAN),
    EventSpec("loan.sla_breached", LoanSlaBreached, SubjectKind.LOAN, projector_only=True),
    EventSpec(
        "ops.alert_fired", OperationalAlertFired, SubjectKind.OPERATIONS, projector_only=True
    ),
    EventSpec(
        "ops.alert_resolved", OperationalAlertResolved, SubjectKind.OPERATIONS, projector_only=True
    ),
    EventSpec(
        "model.drift_measured", ModelDriftMeasured, SubjectKind.OPERATIONS, projector_only=True
    ),
    EventSpec("fraud.entity_hop", EntityHop, SubjectKind.ENTITY, projector_only=True),
    EventSpec("fraud.entity_label", EntityLabel, SubjectKind.ENTITY, projector_only=True),
)

TWIN_KINDS = frozenset({SubjectKind.CUSTOMER, SubjectKind.BRANCH, SubjectKind.LOAN})
"""The subjects the twin mirrors (the others have events and no twin)."""

EVENT_TYPES: dict[str, EventSpec] = {spec.type: spec for spec in _SPECS}
"""The vocabulary, by wire name."""

PAYLOAD_TYPES: dict[type[Payload], EventSpec] = {spec.payload: spec for spec in _SPECS}


class UnknownEventTypeError(ValueError):
    """The ``type`` is not in the vocabulary."""


def spec_for(event_type: str) -> EventSpec:
    """The spec of a wire name.

    Raises:
        UnknownEventTypeError: the name is not in the vocabulary.
    """
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None


@dataclass(frozen=True, slots=True)
class Event:
    """An immutable fact about one subject.

    ``recorded_at`` is set by the log when the event is appended; ``occurred_at`` is when it
    happened in the world (the time as-of queries and windows use). ``version`` is the
    payload's schema version (:func:`new_event` sets the type's current one); an event read
    from the log is always at the current version, its payload upcast if it was stored older.
    """

    event_id: str
    type: str
    subject_id: str
    occurred_at: datetime
    payload: Payload
    source: str = "api"
    version: int = 1
    recorded_at: datetime | None = None

    @property
    def subject_kind(self) -> SubjectKind:
        return EVENT_TYPES[self.type].subject


def new_event(
    payload: Payload,
    *,
    subject_id: str,
    occurred_at: datetime,
    source: str,
    event_id: str | None = None,
) -> Event:
    """Wrap a payload in an envelope, taking type and version from the vocabulary."""
    spec = PAYLOAD_TYPES[type(payload)]
    return Event(
        event_id=event_id or new_event_id(),
        type=spec.type,
        version=spec.version,
        subject_id=subject_id,
        occurred_at=occurred_at,
        payload=payload,
        source=source,
    )


DERIVED_NAMESPACE = uuid.UUID("5b0f6f0e-6a4e-4f57-9d1c-2d3f1e7a9b11")


def derived_event_id(cause_event_id: str, index: int) -> str:
    """A derived event's id: the same cause always yields the same id, so re-deriving after a
    crash appends nothing twice (the log is idempotent by event id)."""
    return str(uuid.uuid5(DERIVED_NAMESPACE, f"{cause_event_id}/{index}"))
