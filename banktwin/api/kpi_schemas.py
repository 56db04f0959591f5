"""Response schema of ``GET /v1/kpis`` (for the OpenAPI page; the handler renders views)."""

from __future__ import annotations

from pydantic import Field

from banktwin.api.schemas import Money, Public


class CompletenessPublic(Public):
    percent: float = Field(
        description="Profile facts known, as a percent of the facts complete profiles have, "
        "over all customers (name, date of birth, email, address, phone, consent, an "
        "account, a credit score)."
    )
    target: float = Field(description="The seed's KPI: 95 %.")
    meets_target: bool
    customers: int
    complete_customers: int = Field(description="Customers whose profile has every fact.")


class EventCountPublic(Public):
    minute: str = Field(
        description="UTC minute the events were recorded in.", examples=["2026-11-30T09:41"]
    )
    type: str
    source: str
    count: int


class TransactionSumPublic(Public):
    hour: str = Field(
        description="UTC hour the transactions occurred in.", examples=["2026-11-30T09"]
    )
    channel: str
    direction: str
    currency: str
    count: int
    amount: Money


class HourSamplePublic(Public):
    hour: str = Field(description="UTC hour (by the time events occurred).")
    completeness_percent: float
    customers: int
    complete_customers: int
    open_alerts: dict[str, int]


class AlertsInHourPublic(Public):
    hour: str = Field(
        description="UTC hour the alerts were raised in (their `occurredAt`).",
        examples=["2026-11-30T09"],
    )
    alerts: int = Field(description="Fraud alerts raised in the hour, each alert once.")
    by_severity: dict[str, int] = Field(description="The same, by severity.")


class FraudAlertRatePublic(Public):
    last_hour: AlertsInHourPublic = Field(description="The last full hour: the rate.")
    current_hour: AlertsInHourPublic = Field(description="The hour in progress, so far.")
    baseline: float = Field(
        description="Mean alerts raised per hour over the 168 full hours (7 days) before the "
        "last full hour, hours without alerts counting as 0; over fewer hours when the KPIs "
        "have less history (`baselineHours`); 0 when they have none."
    )
    baseline_hours: int = Field(description="How many hours the baseline averages over.")
    baseline_since: str | None = Field(
        description="The first hour the baseline covers; null when it covers none."
    )
    ratio: float | None = Field(
        description="`lastHour.alerts / baseline`; null when the baseline is 0."
    )
    threshold: float = Field(description="The seed's alert threshold: rate > 2x baseline.")
    exceeds: bool = Field(description="`ratio > threshold` (the alerting engine fires on it).")
    per_hour: list[AlertsInHourPublic] = Field(
        description="Alerts raised in each hour of the last `hours`, oldest first, hours "
        "without alerts included."
    )


class FraudOutcomesPublic(Public):
    """What the fraud alerts came to."""

    raised: int = Field(description="Alerts raised, each once.")
    open: int = Field(description="Still open (open or investigating).")
    confirmed_fraud: int = Field(description="Settled with the verdict confirmed fraud.")
    false_positives: int = Field(description="Settled with the verdict false positive.")
    closed_without_verdict: int = Field(description="Closed with neither verdict.")
    precision: float | None = Field(
        description="Precision so far: confirmed fraud over the alerts with a verdict "
        "(confirmed fraud and false positives); null before the first verdict."
    )
    counted_since: str | None = Field(
        description="The first UTC hour counted in full, for KPIs kept before these counts "
        "were (`banktwin replay --consumers kpis` counts the whole log); null when counted "
        "from the first event."
    )


class RiskBucketPublic(Public):
    from_: float = Field(alias="from", description="The bucket's lowest score (inclusive).")
    to: float = Field(
        description="Its highest score (exclusive, but for the last bucket, which holds 1)."
    )
    customers: int


class RiskScoresPublic(Public):
    """Customers by their latest risk score."""

    customers: int = Field(description="Customers with a risk score.")
    buckets: list[RiskBucketPublic] = Field(description="Ten buckets of 0.1, lowest first.")
    counted_since: str | None = Field(
        description="As for the outcomes: the first UTC hour counted in full, or null."
    )


class KpisPublic(Public):
    as_of: str = Field(description="When the figures were read (UTC).")
    data_completeness: CompletenessPublic
    open_alerts: dict[str, int] = Field(description="Open fraud alerts by severity.")
    events: int = Field(description="Events counted (all types, all sources).")
    transactions: int = Field(description="Transactions counted.")
    events_per_minute: list[EventCountPublic] = Field(
        description="Events per type and source per minute, over the last `minutes`."
    )
    transactions_per_hour: list[TransactionSumPublic] = Field(
        description="Transactions and amounts per channel, direction and currency per hour, "
        "over the last `hours`."
    )
    history: list[HourSamplePublic] = Field(
        description="Completeness and open alerts as they stood at the end of each hour, over "
        "the last `hours`."
    )
    fraud_alert_rate: FraudAlertRatePublic = Field(
        description="Fraud alerts raised in the last full hour against their trailing 7-day "
        "hourly baseline."
    )
    fraud_outcomes: FraudOutcomesPublic = Field(
        description="Fraud alerts raised, still open, confirmed, false positives, and the "
        "precision so far."
    )
    risk_scores: RiskScoresPublic = Field(
        description="The distribution of the customers' latest risk scores."
    )
    lag: int = Field(description="Events logged that the KPIs do not count yet.")
