"""Putting a trained fraud model in the registry, and choosing which version serves."""

from __future__ import annotations

from datetime import UTC, datetime

from banktwin.fraud.training import TrainingResult
from banktwin.fraud.windows import SECOND
from banktwin.registry.port import (
    CHAMPION,
    FRAUD_MODEL,
    ModelCard,
    ModelRegistry,
    RegisteredVersion,
)


def _moment(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / SECOND, UTC)


def register_model(
    registry: ModelRegistry,
    result: TrainingResult,
    *,
    aliases: tuple[str, ...] = (),
    description: str = "",
) -> RegisteredVersion:
    """Register ``result`` as a new version of ``FraudScore`` with its card, and point
    ``aliases`` at it. With no champion yet, the new version becomes the champion too: an
    engine with no model would score with its rules alone."""
    model = result.model
    start, end = result.window
    card = ModelCard(
        name=FRAUD_MODEL,
        flavor=model.kind,
        params=result.params,
        metrics=result.metrics,
        feature_names=model.feature_names,
        training_window=(_moment(start), _moment(end)),
        data_hash=result.data_hash,
        description=description,
    )
    registered = registry.register(card, model.to_bytes())
    wanted = set(aliases)
    if registry.version_for(FRAUD_MODEL, CHAMPION) is None:
        wanted.add(CHAMPION)
    for alias in sorted(wanted):
        registry.set_alias(FRAUD_MODEL, alias, registered.version)
    return registered
