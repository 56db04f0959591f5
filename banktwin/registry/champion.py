"""The registry's champion of a registered model, picked up by a running engine without a
restart.

An engine asks :meth:`Champion.current` before each batch. It looks at the registry's
``champion`` alias at most every ``refresh_s`` seconds and loads a version only when the alias
moved, so a promotion (``banktwin models promote``, the MLflow UI or its client) reaches a
running engine within that time. Only the first look is made on the engine's thread (so it
scores with the champion from its first event); later ones run in a thread of their own, so
a slow or hanging tracking server never stalls scoring. A registry that cannot be reached
leaves the model in use as it is; with none loaded yet, ``current`` is ``None`` and the
engine does what it does without a model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from banktwin.registry.port import CHAMPION, ModelRegistry

log = logging.getLogger(__name__)

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Served(Generic[M]):
    """A model and the registry version it is (``FraudScore/3``)."""

    model: M
    version: str


class Champion(Generic[M]):
    """The registry's ``alias`` (champion) of model ``name``, refreshed every ``refresh_s``."""

    def __init__(
        self,
        registry: Callable[[], ModelRegistry],
        *,
        name: str,
        load: Callable[[bytes], M],
        alias: str = CHAMPION,
        refresh_s: float = 30.0,
        available: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``registry`` opens the registry when first needed (MLflow is slow to import);
        ``available`` says cheaply whether it can hold anything yet (the embedded store's
        file exists), so an engine without a model never imports MLflow; ``load`` turns a
        version's artifact into the model."""
        self._open = registry
        self._available = available
        self._registry: ModelRegistry | None = None
        self._name = name
        self._load = load
        self._alias = alias
        self._refresh_s = refresh_s
        self._clock = clock
        self._checked_at: float | None = None
        self._serving: Served[M] | None = None
        self._refreshing = threading.Lock()

    def current(self) -> Served[M] | None:
        now = self._clock()
        if self._checked_at is None:
            self._checked_at = now
            with self._refreshing:
                self._refresh()
        elif now - self._checked_at >= self._refresh_s and self._refreshing.acquire(blocking=False):
            self._checked_at = now
            threading.Thread(
                target=self._refresh_then_release, name=f"{self._name}-refresh", daemon=True
            ).start()
        return self._serving

    def refresh_now(self) -> Served[M] | None:
        """Look at the registry at once, on this thread (after this process registered a
        version: the next look would otherwise wait for ``refresh_s``)."""
        with self._refreshing:
            self._checked_at = self._clock()
            self._refresh()
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
            model = self._load(self._registry.load(self._name, found.version))
        except Exception:  # keep scoring with what we have; try again at the next refresh
            log.warning("%s: could not refresh its %s", self._name, self._alias, exc_info=True)
            return
        log.info("%s: now scoring with %s", self._name, label)
        self._serving = Served(model, label)
