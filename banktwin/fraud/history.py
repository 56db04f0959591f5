"""The log's events in (about) the order they occurred, across partitions.

Training, the rules backtest and the engine's rebuild fold history through the same state as
the live engine. Customer state does not care about order, but the entity book keeps only
``max_lateness`` behind the newest event it has seen, so partitions must be interleaved by
time rather than read one after the other. Each partition's events are merged by
``occurredAt`` (a partition is in arrival order, nearly time order: what arrived late stays a
little late, which the lateness bound absorbs).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping

from banktwin.log.port import EventLog, LoggedEvent

CHUNK = 5000


def _partition(log: EventLog, partition: int, start: int, end: int) -> Iterator[LoggedEvent]:
    offset = start
    while offset < end:
        events = log.read(partition, offset, min(CHUNK, end - offset))
        if not events:
            return
        for logged in events:
            if logged.offset >= end:
                return
            yield logged
        offset = events[-1].offset + 1


def in_time_order(
    log: EventLog,
    start: Mapping[int, int] | None = None,
    end: Mapping[int, int] | None = None,
) -> Iterator[LoggedEvent]:
    """Every event from ``start`` (default: the beginning) to ``end`` (default: the log's end
    now), merged across partitions by ``occurredAt``."""
    ends = log.end_offsets() if end is None else end
    streams = [
        _partition(log, p, (start or {}).get(p, 0), ends.get(p, 0)) for p in range(log.partitions)
    ]
    return heapq.merge(*streams, key=lambda logged: logged.event.occurred_at)
