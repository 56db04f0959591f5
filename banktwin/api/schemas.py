"""Response schemas for the OpenAPI page. Handlers render views directly (faster, exact
money); the HTTP tests validate every response against these models, so the page stays true.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

Money = Annotated[
    Decimal,
    WithJsonSchema(
        {
            "type": "number",
            "description": "Money: an exact decimal with two places (DECIMAL(18,2)), written as "
            "a JSON number from its decimal digits, never through a float.",
        }
    ),
]


class Public(BaseModel):
    """camelCase on the wire, unknown fields refused (so tests catch an undocumented field)."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class AccountPublic(Public):
    account_id: str
    balance: Money = Field(examples=[14523.50])
    type: str | None = Field(examples=["checking"])
    currency: str
    status: str
    opened_at: datetime | None
    updated_at: datetime


class ConsentPublic(Public):
    processing: bool
    marketing: bool
    profiling: bool
    data_sharing: bool


class CreditScorePublic(Public):
    score: int
    bureau: str
    delinquencies: int
    received_at: datetime


class FacilityPublic(Public):
    facility_id: str = Field(description="The loan or credit line (its account id).")
    currency: str
    status: str = Field(
        examples=["delinquent"],
        description="`current`, `delinquent` (days past due), `defaulted` or `charged_off`.",
    )
    days_past_due: int = Field(
        description="Days past due at the time of the read: the newest servicing event's, "
        "aged by the days since while in arrears."
    )
    missed_payments: int
    late_payments: int
    updated_at: datetime = Field(description="When the newest servicing event occurred.")
    defaulted_at: datetime | None
    defaulted_amount: Money | None = Field(description="The outstanding balance at default.")
    charged_off_at: datetime | None
    charged_off_amount: Money | None


class CreditPublic(Public):
    """Credit servicing: the customer's facilities as `credit.*` events leave them."""

    max_days_past_due: int = Field(
        description="The most days past due of a facility not charged off (0: all current)."
    )
    missed_payment_count: int
    defaulted_count: int
    charged_off_count: int
    facilities: list[FacilityPublic]


class ScoreReasonPublic(Public):
    feature: str
    contribution: float
    value: str | float | int | None


class RiskScorePublic(Public):
    customer_id: str
    score_id: str
    score: float = Field(examples=[0.78])
    model_version: str
    timestamp: datetime
    reasons: list[ScoreReasonPublic]


class WindowTotalPublic(Public):
    count: int
    amount: Money


class RecentTransactionPublic(Public):
    transaction_id: str
    account_id: str
    amount: Money
    currency: str
    direction: str
    channel: str
    merchant: str | None
    merchant_category: str | None
    country: str | None
    occurred_at: datetime


class DevicePublic(Public):
    device_id: str
    platform: str | None
    first_seen: datetime
    last_seen: datetime


class BehaviourPublic(Public):
    login_count: int
    failed_login_count: int
    locked_out_at: datetime | None = Field(
        description="When a login last ended with the account locked after failed attempts."
    )
    last_login_at: datetime | None
    last_login_channel: str | None
    last_login_country: str | None
    known_devices: list[DevicePublic]
    last_new_device_at: datetime | None
    channels: dict[str, int]
    countries: dict[str, int]
    last_transaction_at: datetime | None


class FraudAlertPublic(Public):
    alert_id: str
    customer_id: str
    transaction_id: str
    severity: str = Field(examples=["high"])
    status: str = Field(examples=["open"])
    score: float | None
    reasons: list[str]
    rule_ids: list[str]
    raised_at: datetime
    updated_at: datetime


class StageVisitPublic(Public):
    stage: str
    entered_at: datetime
    left_at: datetime | None
    sla_breached: bool


class LoanPublic(Public):
    application_id: str
    customer_id: str | None
    product: str | None
    amount: Money | None
    currency: str | None
    term_months: int | None
    channel: str | None
    branch_id: str | None
    stage: str
    stage_entered_at: datetime | None
    time_in_stage_hours: float
    stage_sla_hours: float | None
    sla_breached: bool
    sla_breaches: int
    submitted_at: datetime | None
    decision: str | None
    decision_reason: str | None
    decided_at: datetime | None
    approved_amount: Money | None
    interest_rate: float | None
    history: list[StageVisitPublic]
    last_updated: datetime
    version: int = Field(
        description="Events of this subject the twin has applied: the subject's version. Send "
        "it as `expectedVersion` with an event decided on this state; if the subject moved "
        "since, the event is refused (409) and nothing is logged."
    )


class CustomerPublic(Public):
    """The seed's profile (first six fields) and the rest of the 360° view."""

    customer_id: str = Field(examples=["3f9d2b4c-9c1a-4e2b-9f4a-2c1d5e9b5f2a"])
    name: str | None = Field(examples=["Jane Doe"])
    dob: date | None = Field(examples=["1986-07-12"])
    accounts: list[AccountPublic]
    risk_score: float | None = Field(examples=[0.78])
    last_updated: datetime = Field(examples=["2025-09-15T14:23:00Z"])
    version: int = Field(
        description="Events of this subject the twin has applied: the subject's version. Send "
        "it as `expectedVersion` with an event decided on this state; if the subject moved "
        "since, the event is refused (409) and nothing is logged."
    )
    email: str | None
    address: str | None
    phone: str | None
    country: str | None
    segment: str | None
    registered: bool
    consent: ConsentPublic
    data_completeness: float = Field(description="Percent of the profile facts known.")
    missing_data: list[str]
    credit_score: CreditScorePublic | None
    credit: CreditPublic
    risk: RiskScorePublic | None
    spending: dict[str, dict[str, WindowTotalPublic]] = Field(
        description="Debits per window (1h, 1d, 7d, 30d) and currency."
    )
    transaction_count: int
    recent_transactions: list[RecentTransactionPublic]
    behaviour: BehaviourPublic
    open_alerts: list[FraudAlertPublic]
    alert_count: int
    fraud_report_count: int = Field(
        description="Transactions reported as fraud (disputes, chargebacks, the bank's own "
        "findings: `fraud.reported`), each transaction and kind counted once."
    )
    last_fraud_report_at: datetime | None = Field(
        description="When the newest fraud report became known (its `occurredAt`)."
    )
    loans: list[LoanPublic]
    created_at: datetime


class LocationPublic(Public):
    country: str
    city: str | None


class TransactionPublic(Public):
    transaction_id: str
    account_id: str
    amount: Money
    currency: str
    direction: str
    channel: str
    merchant: str | None
    merchant_category: str | None
    terminal_id: str | None
    card_token: str | None
    device_id: str | None
    location: LocationPublic | None
    description: str | None
    occurred_at: datetime


class BranchLocationPublic(Public):
    country: str
    city: str | None
    latitude: float | None
    longitude: float | None


class StaffPublic(Public):
    staff_id: str
    services: list[str]
    since: datetime


class OccupancyPublic(Public):
    customers: int
    capacity: int | None
    ratio: float | None


class QueuePublic(Public):
    queue_id: str
    service: str
    available: bool
    length: int
    staff_available: int
    estimated_wait_minutes: float
    avg_wait_minutes: float | None


class ServicePublic(Public):
    service: str
    available: bool
    avg_handling_minutes: float
    served_count: int
    abandoned_count: int


class BranchStatePublic(Public):
    branch_id: str
    name: str | None
    address: str | None
    location: BranchLocationPublic | None
    is_open: bool
    status_changed_at: datetime | None
    open_hours: dict[str, str]
    staff_available: int
    staff: list[StaffPublic]
    occupancy: OccupancyPublic
    queues: list[QueuePublic]
    services: list[ServicePublic]
    longest_wait_minutes: float
    last_updated: datetime
    version: int = Field(
        description="Events of this subject the twin has applied: the subject's version. Send "
        "it as `expectedVersion` with an event decided on this state; if the subject moved "
        "since, the event is refused (409) and nothing is logged."
    )


class ReceiptPublic(Public):
    event_id: str
    status: str = Field(examples=["accepted"])
    duplicate: bool = Field(description="The id was logged before; nothing changed.")
    partition: int
    offset: int


class BatchReceiptPublic(Public):
    accepted: int
    duplicates: int
    events: list[ReceiptPublic]


class EventTypePublic(Public):
    type: str = Field(examples=["transaction.posted"])
    subject: Literal["customer", "branch", "loan", "operations", "entity"]
    version: int = Field(description="The payload's current schema version.")
    derived_only: bool = Field(
        description="Only banktwin derives it (the twin and its engines): not postable."
    )
    payload_schema: dict[str, Any] = Field(description="JSON schema of the payload.")


class HealthPublic(Public):
    status: Literal["ok"]


class TokenPublic(BaseModel):
    """RFC 6749 section 5.1 (snake_case, as OAuth clients expect)."""

    model_config = ConfigDict(extra="forbid")

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the token is valid.", examples=[3600])
    scope: str = Field(description="The scopes granted, space-separated.")


class OAuthErrorPublic(BaseModel):
    """RFC 6749 section 5.2."""

    model_config = ConfigDict(extra="forbid")

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


class ProblemPublic(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None
    requestId: str | None = Field(  # noqa: N815 - extension members are camelCase on the wire
        None,
        description="The request's id, as in the X-Request-ID header: quote it when you "
        "report an error, so the server's log lines for the request can be found.",
        examples=["5f0c6a1e9b8d4c2f8e7a6b5c4d3e2f1a"],
    )


class VersionConflictProblemPublic(ProblemPublic):
    """409 ``/problems/version-conflict``: the subject moved on since the decision (nothing
    was logged). Read it again, decide again, and post with its current version."""

    subjectId: str = Field(description="The subject whose version was expected.")  # noqa: N815
    expectedVersion: int = Field(description="The version the request expected.")  # noqa: N815
    actualVersion: int = Field(description="The subject's version in the log.")  # noqa: N815


class ConsumerReadinessPublic(Public):
    name: str = Field(description="The consumer: twin (the projector), kpis …", examples=["twin"])
    lag: int = Field(description="Events logged and not yet applied by this consumer.")
    lag_seconds: float = Field(
        description="Age of the oldest event not applied yet, by the log's recording time "
        "(0 when caught up). The seed alerts above 5 minutes."
    )
    runs_in: Literal["threads", "processes", "elsewhere"] = Field(
        description="Where it runs: threads of this process, processes this process "
        "supervises, or elsewhere (banktwin worker)."
    )
    running: bool = Field(description="It runs as a thread of this process.")
    events_applied: int = Field(description="Events its thread in this process applied.")
    last_error: str | None = Field(
        description="The kind of error its last batch met here, if it failed (details in the log)."
    )


class ReadinessPublic(Public):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]] = Field(
        description="Each component (log, store, and twin: whether this build has a twin "
        "to serve, unavailable while it builds its first generation beside an older build's): "
        "ok, or unavailable (details in the log)."
    )
    consumers: list[ConsumerReadinessPublic] | None = Field(
        None,
        description="Every consumer of the log, with its lag; present when the log and the "
        "store answer.",
    )
