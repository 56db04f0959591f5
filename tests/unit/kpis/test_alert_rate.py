"""The fraud-alert rate and its trailing baseline, on hand-computed examples: a week of
history, less than a week, a zero baseline, no history, and the seed's 2x threshold itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from banktwin.kpis.alert_rate import ALERT_RATE_FACTOR, AlertsInHour, fraud_alert_rate

NOW = datetime(2026, 11, 30, 15, 20, tzinfo=UTC)
"""The current hour is 15:00; the last full hour 14:00; a full baseline 23 Nov 14:00 to
30 Nov 13:00 (168 hours)."""

RAISED = {
    "2026-11-23T13": {"high": 50},  # the hour before the baseline's first: left out
    "2026-11-23T14": {"low": 3},  # the baseline's first hour
    "2026-11-27T02": {"high": 2, "low": 1},
    "2026-11-30T08": {"medium": 40},
    "2026-11-30T13": {"medium": 6},
    "2026-11-30T14": {"high": 4, "critical": 1},  # the last full hour
    "2026-11-30T15": {"low": 2},  # the current hour, so far
    "2026-11-30T16": {"low": 9},  # later than now (a clock ahead): in no figure
}


def test_a_week_of_history_gives_the_mean_over_168_hours() -> None:
    rate = fraud_alert_rate(RAISED, "2026-11-01T00", NOW, hours=3)
    assert rate.last_hour == AlertsInHour(
        "2026-11-30T14", 5, {"low": 0, "medium": 0, "high": 4, "critical": 1}
    )
    assert (rate.current_hour.hour, rate.current_hour.alerts) == ("2026-11-30T15", 2)
    # 3 + 3 + 40 + 6 = 52 alerts in 168 hours; 5 in the last hour
    assert (rate.baseline_hours, rate.baseline_since) == (168, "2026-11-23T14")
    assert rate.baseline == pytest.approx(52 / 168)
    assert rate.ratio == pytest.approx(5 / (52 / 168))  # 16.15...
    assert rate.exceeds
    assert [(h.hour, h.alerts) for h in rate.per_hour] == [
        ("2026-11-30T13", 6),
        ("2026-11-30T14", 5),
        ("2026-11-30T15", 2),
    ]


def test_less_than_a_week_averages_over_the_hours_since_the_first_with_data() -> None:
    """From 09:00: the five hours 09:00 to 13:00, 08:00 (before the data) left out."""
    rate = fraud_alert_rate(RAISED, "2026-11-30T09", NOW, hours=2)
    assert (rate.baseline_hours, rate.baseline_since) == (5, "2026-11-30T09")
    assert rate.baseline == pytest.approx(6 / 5)
    assert rate.ratio == pytest.approx(5 / 1.2)
    assert rate.exceeds


def test_at_twice_the_baseline_the_rate_does_not_exceed_it_and_above_it_does() -> None:
    """Three hours with 0, 1 and 2 alerts: a baseline of exactly 1 per hour."""
    raised = {"2026-11-30T12": {"low": 1}, "2026-11-30T13": {"high": 2}}
    at_twice = fraud_alert_rate(raised | {"2026-11-30T14": {"low": 2}}, "2026-11-30T11", NOW, 1)
    assert (at_twice.baseline_hours, at_twice.baseline) == (3, 1.0)
    assert at_twice.ratio == ALERT_RATE_FACTOR == 2
    assert not at_twice.exceeds
    above = fraud_alert_rate(raised | {"2026-11-30T14": {"low": 3}}, "2026-11-30T11", NOW, 1)
    assert above.ratio == 3.0 and above.exceeds


def test_a_baseline_of_zero_has_no_ratio_and_is_not_exceeded() -> None:
    quiet = {"2026-11-30T14": {"critical": 4}}
    rate = fraud_alert_rate(quiet, "2026-10-01T00", NOW, hours=1)
    assert (rate.baseline_hours, rate.baseline, rate.ratio, rate.exceeds) == (168, 0.0, None, False)
    assert rate.last_hour.alerts == 4


@pytest.mark.parametrize("first_hour", [None, "2026-11-30T14", "2026-11-30T15"])
def test_no_full_hour_before_the_last_covers_no_baseline(first_hour: str | None) -> None:
    """No data at all, or data only since the last full or the current hour."""
    rate = fraud_alert_rate(RAISED, first_hour, NOW, hours=1)
    assert (rate.baseline_hours, rate.baseline_since, rate.baseline) == (0, None, 0.0)
    assert (rate.ratio, rate.exceeds) == (None, False)
    assert rate.last_hour.alerts == 5


def test_the_series_lists_every_hour_of_the_window_with_every_severity() -> None:
    rate = fraud_alert_rate({}, None, NOW, hours=48)
    assert len(rate.per_hour) == 48
    assert (rate.per_hour[0].hour, rate.per_hour[-1].hour) == ("2026-11-28T16", "2026-11-30T15")
    assert all(h.alerts == 0 for h in rate.per_hour)
    assert rate.per_hour[0].by_severity == {"low": 0, "medium": 0, "high": 0, "critical": 0}
