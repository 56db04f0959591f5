"""The app factory: the one place the HTTP API is wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from banktwin import __version__
from banktwin.api.auth import Authority
from banktwin.api.collector import serving_collector
from banktwin.api.deps import Services
from banktwin.api.ingest import http_intake
from banktwin.api.openapi_docs import install_openapi
from banktwin.api.problems import install_problem_handlers
from banktwin.api.request_ids import RequestIdMiddleware
from banktwin.api.routers import (
    admin,
    branches,
    customers,
    dead_letters,
    events,
    fraud_alerts,
    health,
    insights,
    kpis,
    metrics,
    models,
    operational_alerts,
    risk,
    streams,
    token,
)
from banktwin.api.view_cache import RenderedViews
from banktwin.config import Settings
from banktwin.jobs.runner import JobRunner
from banktwin.jobs.store import JobStore
from banktwin.jobs.trainer import Trainer
from banktwin.jobs.trainers import model_trainers
from banktwin.log.group_commit import GroupCommitter
from banktwin.observability.http_metrics import install_http_metrics
from banktwin.runtime import Runtime
from banktwin.web.dashboard import install_dashboard

DESCRIPTION = """\
The real-time, 360° digital twin of the bank: customers, branches and processes, kept from
an append-only event log. Endpoints and shapes follow the DTS document, section 3.

Authenticate with OAuth 2.0 client credentials at `POST /oauth/token`; scopes
`digitaltwin.read`, `digitaltwin.write`, `digitaltwin.admin`. Errors are RFC 9457
problem+json.
"""
TAGS = [
    {"name": "customers", "description": "Customer twins, their transactions and events."},
    {"name": "branches", "description": "Branch state: staff, queues, wait times, occupancy."},
    {"name": "insights", "description": "Risk scores, fraud alerts and bank-wide KPIs."},
    {"name": "events", "description": "Bulk event loads and the event vocabulary."},
    {"name": "operations", "description": "Operational alerts: lag, stalls, alert rate, drift."},
    {"name": "admin", "description": "Models: the registered versions, retraining and its jobs."},
    {"name": "auth", "description": "OAuth 2.0 token endpoint."},
    {"name": "health", "description": "Liveness and readiness."},
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    clock: Callable[[], datetime] = utc_now,
    authority: Authority | None = None,
    trainers: Mapping[str, Trainer] | None = None,
) -> FastAPI:
    """The API for ``settings``. With ``runtime``, the app uses (and does not close) that
    runtime's log, store and projector; otherwise it opens its own at start-up. With
    ``authority``, tokens it issues are accepted (the demo prints one). ``trainers`` replace
    the models' trainers of :func:`model_trainers` (tests).

    Raises:
        ConfigurationError: the settings cannot run securely (no token key or clients).
    """
    authority = authority or Authority.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with serving_collector():
            async with _services() as services:
                app.state.services = services
                yield

    @asynccontextmanager
    async def _services() -> AsyncIterator[Services]:
        rt = runtime or Runtime(settings)
        rt.keep_cycle_collector_on()  # nothing here may pause it while requests are served
        committer = GroupCommitter(rt.log, on_appended=rt.notify_consumers)
        await committer.start()
        if settings.run_consumers:
            rt.start_in_background()
        jobs = JobRunner(
            JobStore(rt.kv, clock),
            model_trainers(settings, rt.log) if trainers is None else trainers,
            schedule=settings.retrain_time,
        )
        app.state.job_runner = jobs
        jobs.start()
        try:
            yield Services(
                settings=settings,
                log=rt.log,
                store=rt.store,
                committer=committer,
                runtime=rt,
                authority=authority,
                events=http_intake(settings, clock),
                views=RenderedViews(settings.view_cache_size),
                clock=clock,
            )
        finally:
            await run_in_threadpool(jobs.stop)
            await committer.stop()
            if runtime is None:
                rt.close()
            elif settings.run_consumers:
                rt.stop_in_background()

    app = FastAPI(
        title="banktwin",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    mounted = [
        ("/v1", r)
        for r in (
            customers.router,
            branches.router,
            insights.router,
            risk.router,
            fraud_alerts.router,
            kpis.router,
            operational_alerts.router,
            admin.router,
            dead_letters.router,
            models.router,
            events.router,
        )
    ]
    mounted += [("", token.router), ("", health.router), ("", metrics.router)]
    install_http_metrics(app, mounted)
    for prefix, router in mounted:
        app.include_router(router, prefix=prefix)
    install_openapi(app, mounted)
    # Out of the OpenAPI document (an endless text/event-stream), hence not in `mounted`.
    app.include_router(streams.router, prefix="/v1")
    install_dashboard(app)
    return app
