"""Rendered customer views, reused while the twin has not changed.

A profile read decodes the twin, computes its windows and renders about 7 KB of JSON; most
reads of a busy API ask for a customer that has not changed since the last read. Each entry
is keyed by the customer's version token (which moves with every event applied to the
customer or one of their loan applications) and the minute it was rendered for: spending
windows are exact to the minute, and every time-dependent figure of the view is evaluated at
that minute. The version is checked against the store on every read, so a cached view is
never stale by a single event.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from banktwin.domain.customer import CustomerTwin
from banktwin.domain.loan import LoanTwin


def version_of(customer: CustomerTwin, loans: list[LoanTwin]) -> str:
    """The version token of what a view was rendered from (the store's
    ``customer_version`` of the same state)."""
    return f"{customer.events_applied}.{len(loans)}.{sum(x.events_applied for x in loans)}"


class RenderedViews:
    """A bounded LRU of ``customer id -> (version, minute, body)``."""

    def __init__(self, capacity: int = 10_000) -> None:
        """``capacity`` 0 turns reuse off (every read renders)."""
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, int, bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def minute_of(moment: datetime) -> int:
        return int(moment.timestamp()) // 60

    def get(self, key: str, version: str, minute: int) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version or entry[1] != minute:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[2]

    def put(self, key: str, version: str, minute: int, body: bytes) -> None:
        if not self._capacity:
            return
        self._entries[key] = (version, minute, body)
        self._entries.move_to_end(key)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
