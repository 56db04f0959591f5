"""``/v1/admin/models``: every registered model (``FraudScore``, ``RiskScore``) with its
versions, their aliases, metrics and training windows, and which one is the champion.

The registry is the one the settings name (:mod:`banktwin.registry.factory`), opened for the
request and closed after it. An embedded registry that does not exist yet (no model was ever
trained here) is answered without opening it, so MLflow, which takes seconds to import, is
never imported for nothing.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter

from banktwin.api.deps import AdminDep
from banktwin.api.model_schemas import ModelsPublic
from banktwin.api.openapi_docs import PROBLEMS
from banktwin.api.paging import Limit
from banktwin.api.problems import Problem
from banktwin.api.rendering import JsonResponse
from banktwin.config import Settings
from banktwin.errors import NotFoundError
from banktwin.registry import open_model_registry, registry_exists
from banktwin.registry.port import CHAMPION, FRAUD_MODEL, RISK_MODEL, RegisteredVersion

router = APIRouter(prefix="/admin/models", tags=["admin"])

MODELS = (FRAUD_MODEL, RISK_MODEL)
"""The models banktwin registers, in the order they are listed."""


@router.get("", response_model=ModelsPublic, responses=PROBLEMS(400, 401, 403, 503))
def list_models(caller: AdminDep, limit: Limit = 20) -> JsonResponse:
    """Every registered model: its champion, and its newest `limit` versions (newest first)
    with aliases, flavor, metrics, parameters, training window and registration time."""
    return JsonResponse(models_view(caller.services.settings, limit))


def models_view(settings: Settings, limit: int) -> dict[str, Any]:
    if not registry_exists(settings):
        return {"registry": False, "models": [_model_view(name, [], limit) for name in MODELS]}
    registry = open_model_registry(settings)
    try:
        listed = [(name, registry.versions(name)) for name in MODELS]
    except NotFoundError as exc:  # a version banktwin did not register: no card to show
        raise Problem(503, f"the model registry holds a version without a card: {exc}") from None
    finally:
        registry.close()
    return {"registry": True, "models": [_model_view(name, v, limit) for name, v in listed]}


def _model_view(name: str, versions: list[RegisteredVersion], limit: int) -> dict[str, Any]:
    champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
    newest = sorted(versions, key=lambda v: v.version, reverse=True)[:limit]
    return {
        "name": name,
        "champion": champion,
        "versionCount": len(versions),
        "versions": [_version_view(v) for v in newest],
    }


def _finite(value: float) -> float | None:
    """A metric as JSON can hold it (``None`` for NaN or an infinity)."""
    return value if math.isfinite(value) else None


def _version_view(v: RegisteredVersion) -> dict[str, Any]:
    card = v.card
    start, end = card.training_window
    return {
        "version": v.version,
        "aliases": sorted(v.aliases),
        "champion": CHAMPION in v.aliases,
        "flavor": card.flavor,
        "metrics": {name: _finite(value) for name, value in card.metrics.items()},
        "params": dict(card.params),
        "featureCount": len(card.feature_names),
        "trainingWindow": {"start": start, "end": end},
        "dataHash": card.data_hash,
        "description": card.description,
        "createdAt": v.created_at,
    }
