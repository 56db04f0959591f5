"""How the rules pick between facts that arrive in any order.

Sources deliver late and out of order, so a rule never trusts arrival: an absolute value is
the one of the event that occurred last (last writer wins by ``occurred_at``), and events that
occurred at the same instant are ranked by their values, so every order of arrival keeps the
same one. Ranking by value rather than by event id keeps the twin small: a value's time is all
it stores beside the value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def rank(value: Any) -> tuple[Any, ...]:
    """A sort key for a value or a tuple of values where ``None`` ranks lowest (values at one
    position are of one type, so they compare)."""
    if isinstance(value, tuple):
        return tuple(rank(v) for v in value)
    return (0,) if value is None else (1, value)


def newer(at: datetime, value: Any, current_at: datetime | None, current: Any) -> bool:
    """Whether a value set at ``at`` replaces ``current``, set at ``current_at`` (``None``:
    never set): the later time wins, and at the same instant the greater value."""
    if current_at is None or at > current_at:
        return True
    return at == current_at and rank(value) > rank(current)
