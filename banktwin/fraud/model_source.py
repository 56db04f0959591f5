"""Where the fraud engine gets its model: the registry's champion, picked up without a restart.

The engine asks :meth:`ModelSource.current` before each batch. :class:`ChampionModel` looks
at the registry's ``champion`` alias at most every ``refresh_s`` seconds and loads a version
only when the alias moved, so a promotion (``banktwin fraud promote``, the MLflow UI or its
client) reaches a running engine within that time. Only the first look is made on the
engine's thread (so it scores with the champion from its first transaction); later ones run
in a thread of their own, so a slow or hanging tracking server never stalls scoring. A
registry that cannot be reached leaves the model in use as it is; with none loaded yet, the
engine scores with its rules alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from banktwin.fraud.model import FraudModel
from banktwin.registry.port import CHAMPION, FRAUD_MODEL, ModelRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServingModel:
    """A model and the registry version it is (``FraudScore/3``)."""

    model: FraudModel
    version: str


class ModelSource(Protocol):
    """What gives the engine the model to score with."""

    def current(self) -> ServingModel | None:
        """The model to score the next batch with (``None``: rules only)."""
        ...


class FixedModel:
    """One model for good (tests, the backtest, a model file given on the command line)."""

    def __init__(self, serving: ServingModel | None) -> None:
        self._serving = serving

    def current(self) -> ServingModel | None:
        return self._serving


class ChampionModel:
    """The registry's champion of a registered model, refreshed every ``refresh_s``."""

    def __init__(
        self,
        registry: Callable[[], ModelRegistry],
        *,
        name: str = FRAUD_MODEL,
        alias: str = CHAMPION,
        refresh_s: float = 30.0,
        available: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``registry`` opens the registry when first needed (MLflow is slow to import);
        ``available`` says cheaply whether it can hold anything yet (the embedded store's
        file exists), so an engine without a model never imports MLflow."""
        self._open = registry
        self._available = available
        self._registry: ModelRegistry | None = None
        self._name = name
        self._alias = alias
        self._refresh_s = refresh_s
        self._clock = clock
        self._checked_at: float | None = None
        self._serving: ServingModel | None = None
        self._refreshing = threading.Lock()

    def current(self) -> ServingModel | None:
        now = self._clock()
        if self._checked_at is None:
            self._checked_at = now
            with self._refreshing:
                self._refresh()
        elif now - self._checked_at >= self._refresh_s and self._refreshing.acquire(blocking=False):
            self._checked_at = now
            threading.Thread(
                target=self._refresh_then_release, name="fraud-model-refresh", daemon=True
            ).start()
        return self._serving

    def _refresh_then_release(self) -> None:
        try:
            self._refresh()
        finally:
            self._refreshing.release()

    def _refresh(self) -> None:
        try:
            if self._registry is None:
                if not self._available():
                    return
                self._registry = self._open()
            found = self._registry.version_for(self._name, self._alias)
            if found is None:
                return
            label = f"{self._name}/{found.version}"
            if self._serving is not None and self._serving.version == label:
                return
            model = FraudModel.from_bytes(self._registry.load(self._name, found.version))
        except Exception:  # keep scoring with what we have; try again at the next refresh
            log.warning(
                "fraud model: could not refresh %s@%s", self._name, self._alias, exc_info=True
            )
            return
        log.info("fraud model: now scoring with %s", label)
        self._serving = ServingModel(model, label)
