"""``banktwin_consumer_last_commit_timestamp_seconds``: when each consumer last committed, for
"stalled consumer" alerts (lag above 0 and no commit for a while).

Recorded where the commit happens, by a listener on the consumer (the runtime's post-commit
hook), into a gauge whose processes' values are merged by their maximum
(``multiprocess_mode="max"``). We chose this over storing the time beside the positions: it
needs no schema migration of the stores, costs nothing on the commit's transaction, and a
process that died keeps its last value in the directory, so a consumer that crashes in a loop
still shows its last real commit. The limit: a consumer on another machine, or one started
without the multiprocess directory, is not seen by this API's scrape.

A consumer that has not committed since ``serve`` started it counts from that start
(:func:`mark_started`), so one stuck from the start (a failing first batch) is reported as
stalled too, not absent; the start is recorded by the process that starts the consumers, once,
so restarting a failing consumer process does not move it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Committed, Listener
from banktwin.observability.instruments import instruments


def record_commit_times(consumers: Iterable[Consumer[Any]]) -> None:
    """Set each consumer's last-commit time after each of its commits (in this process)."""
    for consumer in consumers:
        consumer.add_listener(_commit_recorder(consumer.name))


def _commit_recorder(name: str) -> Listener[Any]:
    def record(committed: Committed[Any]) -> None:
        instruments().consumer_last_commit.labels(name).set(time.time())

    return record


def mark_started(names: Iterable[str]) -> None:
    """The consumers ``names`` start now: their last-commit time is at least this."""
    now = time.time()
    for name in names:
        instruments().consumer_last_commit.labels(name).set(now)
