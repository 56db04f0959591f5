"""The nightly retraining schedule, as a pure rule: once a day at a UTC time of day.

The store remembers the last date the schedule ran for, so a restart the same day does not run
it again, and a process that was down at the hour runs it once when it comes back (not once per
missed day). A schedule seen for the first time (a new deployment, or the setting just turned
on) is armed, not run: its first run is at the next hour, rather than at once on start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

OFF = "off"
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_schedule(text: str) -> time | None:
    """``HH:MM`` (UTC, daily) as a time of day; ``off`` as ``None``.

    Raises:
        ValueError: neither.
    """
    if text == OFF:
        return None
    matched = _TIME.fullmatch(text)
    if matched is None:
        raise ValueError(f"{text!r}: give a UTC time of day as HH:MM (e.g. 02:00) or {OFF}")
    return time(int(matched[1]), int(matched[2]))


@dataclass(frozen=True)
class ScheduleDecision:
    last: date
    """The date to remember as the last one the schedule ran (or was armed) for."""
    run: bool
    """Whether to run now."""


def scheduled_run(now: datetime, at: time, last: date | None) -> ScheduleDecision:
    """Whether the daily run at ``at`` (UTC) is due at ``now`` (UTC), given the ``last`` date
    it ran for (``None``: never seen)."""
    now = now.astimezone(UTC)
    today = now.date()
    reached = now.time() >= at
    if last is None:
        return ScheduleDecision(today if reached else today - timedelta(days=1), run=False)
    if reached and last < today:
        return ScheduleDecision(today, run=True)
    return ScheduleDecision(last, run=False)
