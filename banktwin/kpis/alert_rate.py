"""The fraud-alert rate against its trailing baseline, for the seed's alert threshold "fraud
alert rate > 2x baseline" (§4.6; the alerting engine fires it, this only measures).

The rate is the alerts raised in the last full hour (by the hour they were raised). The
baseline is the mean alerts raised per hour over the 168 full hours (7 days) before it, an
hour without alerts counting as 0; a bank with less history than that averages over the hours
it has, from the first hour with any KPI data. No I/O: the reader gathers the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from banktwin.kpis.aggregates import SEVERITIES, hour_of

ALERT_RATE_FACTOR = 2
"""The seed's threshold: the rate is alarming above this many times its baseline."""
BASELINE_HOURS = 7 * 24
"""Full hours the baseline averages over, at most."""

_HOUR = timedelta(hours=1)


def hour_start(key: str) -> datetime:
    """The start of an hour given by its key (``2026-11-30T09``, UTC)."""
    return datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AlertsInHour:
    """Fraud alerts raised in one hour, by severity (every severity listed)."""

    hour: str
    alerts: int
    by_severity: dict[str, int]


@dataclass(frozen=True, slots=True)
class FraudAlertRate:
    """Alerts raised in the last full hour against the trailing baseline."""

    last_hour: AlertsInHour
    current_hour: AlertsInHour
    """The hour in progress, so far."""
    baseline: float
    """Mean alerts raised per hour over the baseline's hours (0 when it covers none)."""
    baseline_hours: int
    """How many hours the baseline averages over: 168, or fewer for a younger bank."""
    baseline_since: str | None
    """The first of those hours (``None`` when it covers none)."""
    ratio: float | None
    """``last_hour.alerts / baseline``; ``None`` when the baseline is 0."""
    exceeds: bool
    """``ratio > ALERT_RATE_FACTOR``."""
    per_hour: list[AlertsInHour]
    """Every hour of the requested window, oldest first, hours without alerts included."""


def fraud_alert_rate(
    raised: Mapping[str, Mapping[str, int]],
    first_hour: str | None,
    now: datetime,
    hours: int,
) -> FraudAlertRate:
    """The rate at ``now`` from the alerts raised per hour.

    Args:
        raised: Alerts raised by hour key and severity, bank-wide; hours missing had none.
        first_hour: The first hour the counts are known for (the first hour with any KPI
            data, or later where a partition started counting raises late); ``None`` when
            there is no data yet.
        now: The moment of the reading; its hour is the current one.
        hours: How many hours, up to the current one, ``per_hour`` lists.

    Returns:
        The last full and the current hour, the baseline, its ratio and whether it exceeds
        ``ALERT_RATE_FACTOR``, and the hourly series.
    """
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = current - _HOUR
    since = last - BASELINE_HOURS * _HOUR
    # Without data there is no hour to average over; data since ``last`` or later gives none.
    since = last if first_hour is None else min(last, max(since, hour_start(first_hour)))
    baseline_hours = round((last - since) / _HOUR)
    since_key, last_key = hour_of(since), hour_of(last)
    in_baseline = sum(
        sum(counts.values()) for hour, counts in raised.items() if since_key <= hour < last_key
    )
    last_hour = _in_hour(raised, last_key)
    baseline = in_baseline / baseline_hours if baseline_hours else 0.0
    ratio = last_hour.alerts / baseline if in_baseline else None
    # Compared in integers: last / (in_baseline / hours) > factor, without rounding.
    exceeds = in_baseline > 0 and (
        last_hour.alerts * baseline_hours > ALERT_RATE_FACTOR * in_baseline
    )
    return FraudAlertRate(
        last_hour=last_hour,
        current_hour=_in_hour(raised, hour_of(current)),
        baseline=baseline,
        baseline_hours=baseline_hours,
        baseline_since=since_key if baseline_hours else None,
        ratio=ratio,
        exceeds=exceeds,
        per_hour=[_in_hour(raised, hour_of(current - i * _HOUR)) for i in reversed(range(hours))],
    )


def _in_hour(raised: Mapping[str, Mapping[str, int]], hour: str) -> AlertsInHour:
    counts = raised.get(hour, {})
    by_severity = {s: counts.get(s, 0) for s in SEVERITIES} | {
        s: n for s, n in counts.items() if s not in SEVERITIES
    }
    return AlertsInHour(hour, sum(by_severity.values()), by_severity)
