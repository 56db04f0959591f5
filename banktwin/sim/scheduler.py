"""A discrete-event scheduler in simulated time: a heap of pending actions.

Every process of the bank (a customer's next purchase, a loan's next stage, a branch's
closing) is an action due at an instant. Actions run in time order (ties in the order they
were scheduled), and an action emits events at its own instant only, so the events of every
subject come out in non-decreasing ``occurredAt`` order however processes interleave.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

Action = Callable[..., None]


class Scheduler:
    """Pending actions ordered by due time (integer microseconds)."""

    def __init__(self, now: int = 0) -> None:
        self._heap: list[tuple[int, int, Action, tuple[Any, ...]]] = []
        self._sequence = 0
        self.now = now
        """The instant of the action running (or last run)."""

    def at(self, due: int, action: Action, *args: Any) -> None:
        """Run ``action(due, *args)`` at ``due``.

        Raises:
            ValueError: ``due`` is before the current instant (it would break event order).
        """
        if due < self.now:
            raise ValueError(f"cannot schedule at {due}, before the current instant {self.now}")
        self._sequence += 1
        heapq.heappush(self._heap, (due, self._sequence, action, args))

    def run_next(self, until: int) -> bool:
        """Run the next action if it is due at or before ``until``; ``False`` when none is."""
        if not self._heap or self._heap[0][0] > until:
            return False
        due, _, action, args = heapq.heappop(self._heap)
        self.now = due
        action(due, *args)
        return True

    def run_until(self, until: int) -> int:
        """Run every action due at or before ``until``, then move the clock there; returns
        how many ran."""
        ran = 0
        while self.run_next(until):
            ran += 1
        self.advance(until)
        return ran

    def advance(self, until: int) -> None:
        """Move the current instant forward to ``until`` (after the due actions ran)."""
        self.now = max(self.now, until)
