"""Group commit: many concurrent appends, one durable transaction.

Each request waits for its own events to be durable before it is answered 202, but requests
that arrive while a commit is in flight are written together in the next one, so the cost
of an fsync is shared instead of paid per event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from banktwin.domain.events import Event
from banktwin.log.port import AppendResult, EventLog

MAX_GROUP_EVENTS = 20_000


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
        self._pending: deque[tuple[Sequence[Event], asyncio.Future[list[AppendResult]]]] = deque()
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

    async def append(self, events: Sequence[Event]) -> list[AppendResult]:
        """Append durably (together with whatever else is waiting); same contract as
        :meth:`EventLog.append`."""
        if self._worker is None or self._wakeup is None:
            raise RuntimeError("GroupCommitter.start() was not awaited")
        future: asyncio.Future[list[AppendResult]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._write_group(self._take_group())
            if self._worker is None:
                return

    def _take_group(self) -> list[tuple[Sequence[Event], asyncio.Future[list[AppendResult]]]]:
        group = [self._pending.popleft()]
        size = len(group[0][0])
        while self._pending and size + len(self._pending[0][0]) <= self._max:
            item = self._pending.popleft()
            size += len(item[0])
            group.append(item)
        return group

    async def _write_group(
        self, group: list[tuple[Sequence[Event], asyncio.Future[list[AppendResult]]]]
    ) -> None:
        events = [e for batch, _ in group for e in batch]
        try:
            results = await asyncio.to_thread(self._log.append, events)
        except Exception as exc:  # each waiting request gets the error (answered 503)
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        self.groups_written += 1
        start = 0
        for batch, future in group:
            if not future.done():
                future.set_result(results[start : start + len(batch)])
            start += len(batch)
        if self._on_appended is not None:
            self._on_appended()
