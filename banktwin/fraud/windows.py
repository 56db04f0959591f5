"""Time windows over sorted integer times: the arithmetic every streaming feature shares.

Times are integer microseconds since the Unix epoch (UTC), so a window's bounds are exact and
comparisons cheap. A series is a sorted ``list[int]`` of times with parallel lists of values;
events arrive out of order, so an insert goes to its sorted place (``bisect``), and a window
``[start, end)`` is two binary searches. Every window ends *before* the time it is asked
about, so nothing that happened at or after that time is ever counted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

MAX_WINDOW: Final = 30 * DAY
"""The longest window a feature looks back over."""


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How far features look and how late labels and events may be, in microseconds."""

    label_delay: int = 7 * DAY
    """A fraud report counts as of ``t`` once it occurred at or before ``t - label_delay``."""
    max_lateness: int = DAY
    """How much older than the newest folded event a transaction may be and still be scored
    exactly: state older than ``newest - window - max_lateness`` is dropped."""


DEFAULT_CONFIG: Final = FeatureConfig()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Time zero of the integer microseconds."""
MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a time with an offset."""
    return (moment - EPOCH) // MICROSECOND


def insertion_index(times: list[int], at: int) -> int:
    """Where ``at`` goes in sorted ``times``: after the equal ones, so arrival order breaks ties
    and an in-order stream only ever appends."""
    if not times or times[-1] <= at:
        return len(times)
    return bisect_right(times, at)


def count_between(times: list[int], start: int, end: int) -> int:
    """How many times fall in ``[start, end)``."""
    return bisect_left(times, end) - bisect_left(times, start)


def expired(times: list[int], horizon: int) -> int:
    """How many leading times are older than ``horizon`` (the prefix to drop)."""
    if not times or times[0] >= horizon:
        return 0
    return bisect_left(times, horizon)
