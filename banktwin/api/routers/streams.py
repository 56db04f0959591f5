"""``/v1/stream/kpis`` and ``/v1/stream/branches``: the bank-wide KPIs and the list of
branches as server-sent events, pushed when the consumers commit what they show.

A stream subscribes to the consumers' commit announcements
(:class:`~banktwin.consumers.announcements.CommitAnnouncer`: the runtime's post-commit
listener, heard in this process directly and from the consumer processes of ``serve`` or
``banktwin worker`` through a datagram socket on SQLite, LISTEN/NOTIFY on PostgreSQL) and,
after a commit, pushes a snapshot. The KPI stream sends ``event: kpis`` (the body of
``GET /v1/kpis``) then ``event: consumers`` (each consumer's lag, as ``/readyz`` reports it),
after a commit of the ``kpis`` consumer or of any other (each moves its own lag); the branch
stream sends ``event: branches`` (a page of ``GET /v1/branches`` with its total and the
twin's lag) after a commit of the ``twin``. The figures are committed when the announcement
arrives, so a push shows them. At most one push per ``PUSH_INTERVAL_S``, so busy consumers
cost one read a second per open stream. A comment line every ``HEARTBEAT_S`` keeps proxies
from closing an idle stream.

A fallback, not the mechanism: a stream that has pushed nothing for ``REREAD_S`` reads and
pushes once more, so one that missed an announcement (a full socket queue, a dropped
connection) catches up, and a consumer that stopped committing shows its lag growing.

Left out of the OpenAPI document (``include_in_schema=False``): it never ends, which a client
generated from the document, or the fuzz test, cannot read. ``docs/api.md`` describes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Collection
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from banktwin.api.branch_views import branch_summary_view
from banktwin.api.deps import ReaderDep, Services
from banktwin.api.paging import Limit, Offset
from banktwin.api.rendering import render_json
from banktwin.api.routers.kpis import MAX_HOURS, kpis_view
from banktwin.consumers.announcements import CommitAnnouncement
from banktwin.kpis.engine import KPI_CONSUMER
from banktwin.store.port import TWIN_CONSUMER

router = APIRouter(prefix="/stream", tags=["insights"])

GRACEFUL_SHUTDOWN_S = 3
"""How long a stopping server waits for open responses (streams never end by themselves)."""
PUSH_INTERVAL_S = 1.0
HEARTBEAT_S = 15.0
REREAD_S = 30.0
"""How long a stream goes without a push before it reads again anyway (the fallback above)."""
EVENT_STREAM = "text/event-stream"


@router.get("/kpis", include_in_schema=False)
async def stream_kpis(
    caller: ReaderDep,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 60,
    hours: Annotated[int, Query(ge=1, le=MAX_HOURS)] = 48,
) -> StreamingResponse:
    """Bank-wide KPIs as server-sent events: a snapshot at once, then after the consumers
    commit (at most one a second), and a heartbeat comment every 15 s."""
    return _event_stream(kpi_events(caller.services, minutes=minutes, hours=hours))


@router.get("/branches", include_in_schema=False)
async def stream_branches(
    caller: ReaderDep, limit: Limit = 50, offset: Offset = 0
) -> StreamingResponse:
    """A page of the branches (as ``GET /v1/branches``) as server-sent events: at once, then
    after the twin commits (at most one a second), and a heartbeat comment every 15 s."""
    services = caller.services
    return _event_stream(
        pushes(
            services,
            lambda: branches_snapshot(services, limit=limit, offset=offset),
            (TWIN_CONSUMER,),
        )
    )


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type=EVENT_STREAM,
        # No proxy buffering (nginx), no caching: each push must reach the page as it is sent.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def branches_snapshot(services: Services, *, limit: int, offset: int) -> str:
    """One push of the branches (``event: branches``: the page, its total, the twin's lag)."""
    now = services.clock()
    page = services.store.branches(limit, offset)
    twin = services.runtime.consumers.get(TWIN_CONSUMER)
    lag = 0 if twin is None else twin.lag_now(now).events
    body = {
        "asOf": now,
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "lag": lag,
        "items": [branch_summary_view(b, now) for b in page.items],
    }
    return f"event: branches\ndata: {render_json(body).decode()}\n\n"


def snapshot(services: Services, minutes: int, hours: int) -> str:
    """One push of the KPIs (its ``kpis`` and ``consumers`` events)."""
    now = services.clock()
    runtime = services.runtime
    report = runtime.kpis.report(now, minutes=minutes, hours=hours)
    lags = {name: consumer.lag_now(now) for name, consumer in runtime.consumers.items()}
    consumers = [
        {"name": name, "lag": lag.events, "lagSeconds": lag.seconds} for name, lag in lags.items()
    ]
    kpi_lag = lags[KPI_CONSUMER].events if KPI_CONSUMER in lags else 0
    kpis = kpis_view(report, now.isoformat(), kpi_lag)
    return (
        f"event: kpis\ndata: {render_json(kpis).decode()}\n\n"
        f"event: consumers\ndata: {render_json(consumers).decode()}\n\n"
    )


def kpi_events(
    services: Services,
    *,
    minutes: int,
    hours: int,
    push_interval_s: float = PUSH_INTERVAL_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[str]:
    """The KPI stream's text (see :func:`pushes`): after a commit of the ``kpis`` consumer
    (its figures) or of any other (its lag, in ``event: consumers``)."""
    return pushes(
        services,
        lambda: snapshot(services, minutes, hours),
        tuple(services.runtime.consumers),
        push_interval_s=push_interval_s,
        heartbeat_s=heartbeat_s,
    )


async def pushes(
    services: Services,
    take: Callable[[], str],
    consumers: Collection[str],
    *,
    push_interval_s: float = PUSH_INTERVAL_S,
    heartbeat_s: float = HEARTBEAT_S,
    reread_s: float = REREAD_S,
) -> AsyncIterator[str]:
    """A stream's text: the snapshots ``take`` makes (run in a worker thread), at once and
    after each commit of one of ``consumers``, and heartbeats, until the client goes away
    (Starlette cancels the response) or the server stops (``serve`` and ``demo`` give open
    responses ``GRACEFUL_SHUTDOWN_S``, then uvicorn cancels them)."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def on_commit(_: CommitAnnouncement) -> None:  # the committing thread, or a receiver's
        with contextlib.suppress(RuntimeError):  # the loop is closed: the stream is gone
            loop.call_soon_threadsafe(changed.set)

    # Before the first snapshot, so a commit after it is announced to this subscription. (On
    # PostgreSQL a process's first subscriber connects to LISTEN, as a log watch did.)
    subscription = services.runtime.announcer.subscribe(consumers, on_commit)
    try:
        changed.set()  # the first snapshot at once
        last_push = last_sent = float("-inf")
        while True:
            now = time.monotonic()
            idle = max(min(heartbeat_s - (now - last_sent), reread_s - (now - last_push)), 0.0)
            if not await _set_within(changed, idle):
                if time.monotonic() - last_push < reread_s:
                    yield ": heartbeat\n\n"
                    last_sent = time.monotonic()
                    continue
                changed.set()  # the fallback: read again, an announcement may have been missed
            # Merge the commits of the next moment into this push (debounce).
            await asyncio.sleep(max(last_push + push_interval_s - time.monotonic(), 0.0))
            changed.clear()
            yield await run_in_threadpool(take)
            last_push = last_sent = time.monotonic()
    finally:
        subscription.close()


async def _set_within(event: asyncio.Event, timeout: float) -> bool:
    """Whether ``event`` is set within ``timeout`` seconds (at once when it is set already:
    ``wait_for`` with no time left gives up before the wait has run)."""
    if event.is_set():
        return True
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
