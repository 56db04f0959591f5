"""Group commit: many concurrent appends, one durable transaction.

Each request waits for its own events to be durable before it is answered 202, but requests
that arrive while a commit is in flight are written together in the next one, so the cost
of an fsync is shared instead of paid per event.

A request that names expected versions is written on its own: the log checks expectations
for a whole append, and one subject that moved must fail that request alone, not the others
it would have shared a write with.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from banktwin.domain.events import Event
from banktwin.log.port import AppendResult, EventLog

MAX_GROUP_EVENTS = 20_000


class _Request(NamedTuple):
    events: Sequence[Event]
    expected: Mapping[str, int] | None
    answer: asyncio.Future[list[AppendResult]]


class GroupCommitter:
    """Queues appends from coroutines and writes them in groups from one worker task."""

    def __init__(
        self,
        log: EventLog,
        *,
        on_appended: Callable[[], None] | None = None,
        max_group_events: int = MAX_GROUP_EVENTS,
    ) -> None:
        self._log = log
        self._on_appended = on_appended
        self._max = max_group_events
        self._pending: deque[_Request] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self.groups_written = 0

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._worker = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._worker is None or self._wakeup is None:
            return
        worker, self._worker = self._worker, None
        self._wakeup.set()
        await worker

    async def append(
        self, events: Sequence[Event], *, expected: Mapping[str, int] | None = None
    ) -> list[AppendResult]:
        """Append durably, together with whatever else is waiting (or, with ``expected``, in a
        write of its own); same contract as :meth:`EventLog.append`.

        Raises:
            VersionConflictError: a subject of ``expected`` has moved; nothing was appended.
            UnavailableError: the log cannot be written; nothing was appended.
        """
        if self._worker is None or self._wakeup is None:
            raise RuntimeError("GroupCommitter.start() was not awaited")
        answer: asyncio.Future[list[AppendResult]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(events, expected or None, answer))
        self._wakeup.set()
        return await answer

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._write_group(self._take_group())
            if self._worker is None:
                return

    def _take_group(self) -> list[_Request]:
        """The next requests to write together, in arrival order: one that expects versions
        alone, else unexpecting ones up to the size bound."""
        first = self._pending.popleft()
        if first.expected is not None:
            return [first]
        group = [first]
        size = len(first.events)
        while self._pending:
            following = self._pending[0]
            if following.expected is not None or size + len(following.events) > self._max:
                break
            group.append(self._pending.popleft())
            size += len(following.events)
        return group

    async def _write_group(self, group: list[_Request]) -> None:
        events = [e for request in group for e in request.events]
        expected = group[0].expected  # only ever set on a group of one
        try:
            if expected is None:
                results = await asyncio.to_thread(self._log.append, events)
            else:
                results = await asyncio.to_thread(self._append_expecting, events, expected)
        except Exception as exc:  # each waiting request gets the error (answered 409 or 503)
            for request in group:
                if not request.answer.done():
                    request.answer.set_exception(exc)
            return
        self.groups_written += 1
        start = 0
        for request in group:
            if not request.answer.done():
                request.answer.set_result(results[start : start + len(request.events)])
            start += len(request.events)
        if self._on_appended is not None:
            self._on_appended()

    def _append_expecting(
        self, events: list[Event], expected: Mapping[str, int]
    ) -> list[AppendResult]:
        return self._log.append(events, expected=expected)
