"""Where the fraud engine gets its model: the registry's champion of ``FraudScore``, picked up
without a restart (:mod:`banktwin.registry.champion`), or one model for good.

The engine asks :meth:`ModelSource.current` before each batch; with no model, it scores with
its rules alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from banktwin.fraud.model import FraudModel
from banktwin.registry.champion import Champion, Served
from banktwin.registry.port import CHAMPION, FRAUD_MODEL, ModelRegistry

ServingModel = Served[FraudModel]
"""A fraud model and the registry version it is (``FraudScore/3``)."""


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


class ChampionModel(Champion[FraudModel]):
    """The registry's champion of ``FraudScore`` (see :class:`Champion`)."""

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
        super().__init__(
            registry,
            name=name,
            load=FraudModel.from_bytes,
            alias=alias,
            refresh_s=refresh_s,
            available=available,
            clock=clock,
        )
