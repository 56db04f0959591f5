"""The model-registry port: trained models, what they were trained on, and which one serves.

A registered model (``FraudScore``) has numbered versions, each an opaque artifact (the bytes
its trainer serialised) with a :class:`ModelCard`: parameters, metrics, the feature list, the
training window and a hash of the training data. Aliases name the versions in use: serving
loads the ``champion``; a ``challenger`` can be compared against it before it is promoted.
Promotion is moving an alias, so a serving process that polls :meth:`ModelRegistry.version_for`
picks it up without a restart.

Adapters: MLflow (:mod:`banktwin.registry.mlflow_registry`), on a local SQLite store by
default or on any MLflow tracking server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

FRAUD_MODEL = "FraudScore"
"""The registered name of the fraud model."""
RISK_MODEL = "RiskScore"
"""The registered name of the risk model (:mod:`banktwin.risk`)."""
CHAMPION = "champion"
"""The alias of the version that serves."""
CHALLENGER = "challenger"
"""The alias of the version being evaluated against the champion."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")


def check_model_name(name: str) -> str:
    """Return ``name`` if it can name a registered model: a letter, then letters, digits,
    ``_``, ``.`` or ``-``, at most 100 characters.

    Raises:
        ValueError: it cannot; the message says why.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"model name {name!r}: use a letter, then letters, digits, '_', '.' or '-' "
            "(at most 100 characters)"
        )
    return name


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """What the registry records about a model version besides its artifact."""

    name: str
    """The registered model this is a version of (``FraudScore``)."""
    flavor: str
    """What the artifact is, for whoever deserialises it: ``lightgbm``, ``logistic`` …"""
    params: dict[str, str | int | float]
    """Training parameters (hyper-parameters, seed, label delay …)."""
    metrics: dict[str, float]
    """Quality measured at training time (validation average precision, ROC AUC …)."""
    feature_names: tuple[str, ...]
    """The model's inputs, in the order it expects them."""
    training_window: tuple[datetime, datetime]
    """The time span of the rows it was trained on, ``[start, end)``, timezone-aware."""
    data_hash: str
    """A hash of the training rows and labels: the same hash means the same data."""
    description: str = ""
    """Free text for people (shown in the MLflow UI)."""

    def __post_init__(self) -> None:
        check_model_name(self.name)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        start, end = self.training_window
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("training_window: give timezone-aware datetimes (UTC)")
        if start > end:
            raise ValueError(f"training_window: start {start} is after end {end}")
        if not self.flavor:
            raise ValueError("flavor: say what the artifact is (e.g. 'lightgbm')")


@dataclass(frozen=True, kw_only=True)
class RegisteredVersion:
    """One version of a registered model, as the registry holds it."""

    name: str
    version: int
    """1, 2, 3 … in registration order, assigned by the registry."""
    card: ModelCard
    aliases: tuple[str, ...]
    """The aliases pointing at this version when it was read (``("champion",)``)."""
    created_at: datetime
    """When it was registered (UTC)."""


class ModelRegistry(Protocol):
    """Versions of trained models, their cards, and the aliases that say which one serves."""

    def register(self, card: ModelCard, artifact: bytes) -> RegisteredVersion:
        """Store ``artifact`` as a new version of ``card.name`` (created if new), with its card.

        Args:
            card: what to record with it; ``card.name`` is the registered model.
            artifact: the serialised model, stored as is and returned as is by :meth:`load`.

        Returns:
            The new version, with no alias yet.

        Raises:
            UnavailableError: the registry cannot be reached or refused the write.
        """
        ...

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of model ``name`` at ``version`` (moving it from where it was).

        Promoting a challenger is ``set_alias(name, CHAMPION, challenger.version)``.

        Raises:
            NotFoundError: no such model or version.
            UnavailableError: the registry cannot be reached, or refused the alias (MLflow
                reserves ``latest`` and ``v<number>``).
        """
        ...

    def version_for(self, name: str, alias: str) -> RegisteredVersion | None:
        """The version ``alias`` points at, with its card; ``None`` if the model or the alias
        does not exist. Cheap enough to poll every few seconds (milliseconds on the embedded
        store, one or two requests to a server).

        Raises:
            NotFoundError: the version was not registered by banktwin (it has no card).
            UnavailableError: the registry cannot be reached.
        """
        ...

    def load(self, name: str, version: int) -> bytes:
        """The artifact of a version: the exact bytes given to :meth:`register`.

        Raises:
            NotFoundError: no such model or version.
            UnavailableError: the registry or its artifact store cannot be reached, or the
                stored artifact is not the one registered (its SHA-256 differs).
        """
        ...

    def versions(self, name: str) -> list[RegisteredVersion]:
        """Every version of model ``name``, oldest first (empty for an unknown model).

        Raises:
            ValueError: ``name`` cannot name a model (:func:`check_model_name`).
            NotFoundError: a version was not registered by banktwin (it has no card).
            UnavailableError: the registry cannot be reached.
        """
        ...

    def close(self) -> None:
        """Release what the registry holds. Idempotent."""
        ...
