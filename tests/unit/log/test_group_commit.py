"""Group commit: concurrent appends share log writes; each caller gets its own results; a
request that expects versions is written on its own, so its conflict fails it alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence

import pytest

from banktwin.domain.events import Event
from banktwin.errors import UnavailableError, VersionConflictError
from banktwin.log.group_commit import GroupCommitter
from banktwin.log.memory import InMemoryEventLog
from banktwin.log.port import AppendResult
from tests.factories import new_id, registered


class CountingLog(InMemoryEventLog):
    """Records each write (its size and expectations); can fail, or hold its first write until
    released (so that requests queue up behind it)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.expectations: list[Mapping[str, int] | None] = []
        self.fail = False
        self.hold_first = threading.Event()
        self.hold_first.set()
        self.first_started = threading.Event()

    def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        self.first_started.set()
        self.hold_first.wait(10)
        if self.fail:
            raise UnavailableError("disk full")
        results = super().append(events, expected=expected)
        self.writes.append(len(events))
        self.expectations.append(expected)
        return results


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


def test_a_conflicting_request_fails_alone_and_the_requests_queued_with_it_are_logged() -> None:
    log = CountingLog()
    moved = new_id()
    log.append([registered(moved)])  # the subject is at version 1
    log.writes.clear()
    log.expectations.clear()
    log.first_started.clear()

    async def scenario() -> list[list[AppendResult] | BaseException]:
        committer = GroupCommitter(log)
        await committer.start()
        log.hold_first.clear()  # the first write waits: what follows queues up behind it
        first = asyncio.ensure_future(committer.append([registered(new_id())]))
        while not log.first_started.is_set():
            await asyncio.sleep(0.001)
        queued = [
            committer.append([registered(new_id())]),
            committer.append([registered(moved)], expected={moved: 0}),  # it moved: conflict
            committer.append([registered(new_id())]),
            committer.append([registered(new_id())], expected={new_id(): 0}),
            committer.append([registered(new_id())]),
        ]
        answers = asyncio.gather(*queued, return_exceptions=True)
        await asyncio.sleep(0.01)
        log.hold_first.set()
        done = [await first, *(await answers)]
        await committer.stop()
        return done

    answers = asyncio.run(scenario())
    conflict = answers[2]
    assert isinstance(conflict, VersionConflictError)
    assert (conflict.subject_id, conflict.expected, conflict.actual) == (moved, 0, 1)
    assert all(isinstance(a, list) and len(a) == 1 for i, a in enumerate(answers) if i != 2)
    # the first write alone; then the unconditional request; the conflicting one (not written);
    # the next unconditional one; the expecting one alone; the last one.
    assert log.writes == [1, 1, 1, 1, 1]
    assert [e is not None for e in log.expectations] == [False, False, False, True, False]
    assert log.subject_version(moved) == 1


def test_unconditional_requests_still_share_a_write_around_an_expecting_one() -> None:
    log = CountingLog()

    async def scenario() -> None:
        committer = GroupCommitter(log)
        await committer.start()
        log.hold_first.clear()
        first = asyncio.ensure_future(committer.append([registered(new_id())]))
        while not log.first_started.is_set():
            await asyncio.sleep(0.001)
        subject = new_id()
        queued = asyncio.gather(
            committer.append([registered(new_id())]),
            committer.append([registered(new_id())]),
            committer.append([registered(subject)], expected={subject: 0}),
            committer.append([registered(new_id())]),
            committer.append([registered(new_id())]),
        )
        await asyncio.sleep(0.01)
        log.hold_first.set()
        await first
        await queued
        await committer.stop()

    asyncio.run(scenario())
    assert log.writes == [1, 2, 1, 2]
    assert [e is not None for e in log.expectations] == [False, False, True, False]
