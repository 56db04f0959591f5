"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: log and store reachable)."""

from __future__ import annotations

from fastapi import APIRouter

from banktwin.api.deps import ServicesDep
from banktwin.api.rendering import JsonResponse
from banktwin.errors import UnavailableError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> JsonResponse:
    """Liveness: answers while the process runs."""
    return JsonResponse({"status": "ok"})


@router.get("/readyz")
def readyz(services: ServicesDep) -> JsonResponse:
    """Readiness: the event log and state store answer; reports the projector's lag."""
    checks: dict[str, str] = {}
    for name, component in (("log", services.log), ("store", services.store)):
        try:
            component.ping()
            checks[name] = "ok"
        except UnavailableError as exc:
            checks[name] = str(exc)
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if ready:
        status = services.projector.status
        body["projector"] = {
            "lag": services.projector.lag(),
            "running": status.running,
            "eventsApplied": status.events_applied,
            "lastError": status.last_error,
        }
    return JsonResponse(body, status_code=200 if ready else 503)
