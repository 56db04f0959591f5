"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: log and store reachable,
and a twin of this build's format to read).

Both answer without a token, so neither says more than a load balancer needs: what failed is
in the server's log, not in the body."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from banktwin.api.deps import ServicesDep
from banktwin.api.rendering import JsonResponse
from banktwin.api.schemas import HealthPublic, ReadinessPublic
from banktwin.errors import UnavailableError

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz", response_model=HealthPublic)
async def healthz() -> JsonResponse:
    """Liveness: answers while the process runs."""
    return JsonResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=ReadinessPublic,
    responses={
        503: {
            "model": ReadinessPublic,
            "description": "The log or the store is down, or this build's twin is being built.",
        }
    },
)
def readyz(services: ServicesDep) -> JsonResponse:
    """Readiness: the event log and state store answer and this build has a twin to serve
    (not while it is being built beside an older build's); reports every consumer's lag."""
    checks: dict[str, str] = {}
    for name, component in (("log", services.log), ("store", services.store)):
        try:
            component.ping()
            checks[name] = "ok"
        except UnavailableError as exc:
            log.warning("readiness: %s", exc)
            checks[name] = "unavailable"
    reachable = all(v == "ok" for v in checks.values())
    if reachable:
        # While this build's twin generation is built beside the served one, a load balancer
        # should route reads to the replicas of the build that serves it.
        try:
            services.store.served_generation()
            checks["twin"] = "ok"
        except UnavailableError as exc:
            log.info("readiness: %s", exc)
            checks["twin"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if reachable:
        runtime = services.runtime
        now = services.clock()
        body["consumers"] = [
            {
                "name": name,
                "lag": lag.events,
                "lagSeconds": lag.seconds,
                "runsIn": runtime.runs_consumers_in if name in runtime.selected else "elsewhere",
                "running": consumer.status.running,
                "eventsApplied": consumer.status.events_applied,
                "lastError": consumer.status.last_error_kind,
            }
            for name, consumer in runtime.consumers.items()
            for lag in (consumer.lag_now(now),)
        ]
    return JsonResponse(body, status_code=200 if ready else 503)
