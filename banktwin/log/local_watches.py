"""The watches of one log object, called back by that object's own appends.

Every adapter calls back its own appends directly, in the appending thread once the append is
durable: no socket or server round trip stands between an append and a consumer in the same
process. Adapters that learn of other processes' appends add that on top.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_log = logging.getLogger(__name__)


def call_back(on_append: Callable[[], None]) -> None:
    """Call a watcher; a watcher that raises is logged, never allowed to fail an append that
    is already durable (or to stop a receiver thread)."""
    try:
        on_append()
    except Exception:
        _log.exception("an event-log watcher failed; it is called again on the next append")


class LocalWatch:
    """One subscription; :meth:`close` is idempotent."""

    def __init__(self, owner: LocalWatches, on_append: Callable[[], None]) -> None:
        self._owner = owner
        self.on_append = on_append

    def close(self) -> None:
        self._owner.remove(self)


class LocalWatches:
    """A log object's watches (thread-safe; calling back copies the list first, so a watcher
    may close itself or others while being called)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: tuple[LocalWatch, ...] = ()

    def add(self, on_append: Callable[[], None]) -> LocalWatch:
        watch = LocalWatch(self, on_append)
        with self._lock:
            self._watches = (*self._watches, watch)
        return watch

    def remove(self, watch: LocalWatch) -> None:
        with self._lock:
            self._watches = tuple(w for w in self._watches if w is not watch)

    def notify(self) -> None:
        """Call every watcher (a tuple read needs no lock: it is replaced, never changed)."""
        for watch in self._watches:
            call_back(watch.on_append)
