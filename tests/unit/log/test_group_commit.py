"""Group commit: concurrent appends share log writes; each caller gets its own results."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from banktwin.domain.events import Event
from banktwin.errors import UnavailableError
from banktwin.log.group_commit import GroupCommitter
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.port import AppendResult
from tests.factories import new_id, registered


class CountingLog(InMemoryEventLog):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.fail = False

    def append(self, events: Sequence[Event]) -> list[AppendResult]:
        if self.fail:
            raise UnavailableError("disk full")
        self.writes.append(len(events))
        return super().append(events)


async def _append_concurrently(committer: GroupCommitter, n: int) -> list[list[AppendResult]]:
    events = [[registered(new_id())] for _ in range(n)]
    return list(await asyncio.gather(*(committer.append(e) for e in events)))


def test_concurrent_appends_are_written_together_and_answered_separately() -> None:
    log = CountingLog()
    notified: list[int] = []

    async def scenario() -> list[list[AppendResult]]:
        committer = GroupCommitter(log, on_appended=lambda: notified.append(1))
        await committer.start()
        results = await _append_concurrently(committer, 50)
        await committer.stop()
        return results

    results = asyncio.run(scenario())
    assert sum(log.writes) == 50 and len(log.writes) < 50  # grouped
    assert all(len(r) == 1 for r in results)
    assert len({r[0].offset for r in results}) == 50
    assert len(notified) == len(log.writes)


def test_a_failed_write_fails_every_waiting_request_and_the_next_ones_work() -> None:
    log = CountingLog()

    async def scenario() -> None:
        committer = GroupCommitter(log)
        await committer.start()
        log.fail = True
        with pytest.raises(UnavailableError):
            await committer.append([registered(new_id())])
        log.fail = False
        assert len(await committer.append([registered(new_id())])) == 1
        await committer.stop()

    asyncio.run(scenario())
    assert sum(log.end_offsets().values()) == 1


def test_groups_respect_the_size_bound() -> None:
    log = CountingLog()

    async def scenario() -> None:
        committer = GroupCommitter(log, max_group_events=10)
        await committer.start()
        await _append_concurrently(committer, 35)
        await committer.stop()

    asyncio.run(scenario())
    assert max(log.writes) <= 10 and sum(log.writes) == 35
