"""Simulated time: integer microseconds since the Unix epoch, and conversions to local time.

The scheduler works on integers (exact, fast to compare); events get aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from banktwin.sim.geography import City, utc_offset_seconds

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(micros: int) -> datetime:
    """The aware UTC datetime of a simulated instant."""
    return _EPOCH + timedelta(microseconds=micros)


def to_micros(moment: datetime) -> int:
    """A simulated instant from an aware datetime.

    Raises:
        ValueError: the datetime is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware UTC datetime")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def local_date(city: City, micros: int) -> date:
    """The calendar date in the city at that instant."""
    offset = utc_offset_seconds(city, micros / SECOND)
    return to_datetime(micros + offset * SECOND).date()


def local_hour(city: City, micros: int) -> int:
    """The hour of day (0-23) in the city at that instant."""
    offset = utc_offset_seconds(city, micros / SECOND)
    return ((micros // SECOND + offset) // 3600) % 24


def local_instant(city: City, day: date, minutes_after_midnight: float) -> int:
    """The simulated instant of a wall-clock time in the city on ``day``."""
    wall = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=minutes_after_midnight
    )
    wall_micros = to_micros(wall)
    guess = wall_micros - int(city.utc_offset_hours * 3600) * SECOND
    return wall_micros - utc_offset_seconds(city, guess / SECOND) * SECOND
