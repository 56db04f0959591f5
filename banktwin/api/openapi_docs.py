"""What the OpenAPI page needs beyond FastAPI's defaults: the event bodies (one schema per
event type, read by hand in the handlers for exact money and field-named errors) and the
problem+json error responses."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from banktwin.api.alert_schemas import AlertStatusChangeIn, IllegalTransitionProblemPublic
from banktwin.api.deps import SCOPE_OF, SECURITY_SCHEME
from banktwin.api.problems import PROBLEM_JSON, TITLES
from banktwin.api.schemas import (
    BatchReceiptPublic,
    ProblemPublic,
    ReceiptPublic,
    VersionConflictProblemPublic,
)
from banktwin.domain.events import EVENT_TYPES
from banktwin.intake import EventIn

REF = "#/components/schemas/{model}"

EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="EventIn")}}},
    }
}
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A JSON array of events, or NDJSON (one event per line). Every event "
        "needs its subjectId. All or nothing: one invalid event rejects the request.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": REF.format(model="EventIn")}}
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def PROBLEMS(*codes: int) -> dict[int | str, dict[str, Any]]:  # noqa: N802 - reads as a constant
    """Problem+json responses for the given status codes."""
    return {
        code: {
            "description": TITLES.get(code, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="ProblemPublic")}}},
        }
        for code in codes
    }


def conflict_doc() -> dict[int | str, dict[str, Any]]:
    """409 version-conflict, for the operations that take ``expectedVersion``."""
    return {
        409: {
            "description": "Version conflict: an event's subject is no longer at its "
            "expectedVersion; nothing was logged.",
            "content": {
                PROBLEM_JSON: {"schema": {"$ref": REF.format(model="VersionConflictProblemPublic")}}
            },
        }
    }


def event_receipt_doc() -> dict[str, Any]:
    return {"model": ReceiptPublic, "description": "Accepted: the event is durably logged."}


def batch_receipt_doc() -> dict[str, Any]:
    return {"model": BatchReceiptPublic, "description": "Accepted: every event is logged."}


def _event_schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (spec.payload, "validation") for spec in EVENT_TYPES.values()
    ]
    models += [
        (EventIn, "validation"),
        (ProblemPublic, "validation"),
        (VersionConflictProblemPublic, "validation"),
        (AlertStatusChangeIn, "validation"),
        (IllegalTransitionProblemPublic, "validation"),
    ]
    _, top = models_json_schema(models, ref_template=REF)
    defs: dict[str, Any] = top["$defs"]
    envelope = defs["EventIn"]
    envelope["properties"]["payload"] = {
        "description": "The event's payload; its schema depends on `type` (see x-event-types).",
        "oneOf": [
            {"$ref": REF.format(model=spec.payload.__name__)}
            for spec in EVENT_TYPES.values()
            if not spec.projector_only
        ],
    }
    envelope["x-event-types"] = {
        spec.type: spec.payload.__name__ for spec in EVENT_TYPES.values() if not spec.projector_only
    }
    return defs


def _scope_of(dependant: Dependant) -> str | None:
    for dependency in dependant.dependencies:
        scope = SCOPE_OF.get(dependency.call) or _scope_of(dependency)
        if scope:
            return scope
    return None


def _document_security(mounted: list[tuple[str, APIRouter]], schema: dict[str, Any]) -> None:
    """Each operation's required scope, from the scope dependency its route declares."""
    schema["components"].setdefault("securitySchemes", {})["OAuth2"] = SECURITY_SCHEME
    for prefix, router in mounted:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            scope = _scope_of(route.dependant)
            if scope is None:
                continue
            for method in route.methods or ():
                operation = schema["paths"][prefix + route.path_format].get(method.lower())
                if operation is not None:
                    operation["security"] = [{"OAuth2": [scope]}]


def install_openapi(app: FastAPI, mounted: list[tuple[str, APIRouter]]) -> None:
    """Generate the OpenAPI document once, with the event and problem schemas and each
    operation's scope added (``mounted``: the routers and the prefixes they are mounted at)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(_event_schemas())
            # Invalid input is answered 400 problem+json, never FastAPI's default 422.
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            _document_security(mounted, schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
