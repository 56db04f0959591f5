"""Serving the risk model outside the engine: the champion, the engine's kept scores and
drift, and what-if.

The risk engine (:mod:`banktwin.risk.engine`) keeps, with its positions, each customer's last
score with the features it was computed from, and each day's drift. :class:`RiskReader` reads
them for the API. :func:`what_if` scores those features with some changed ("balance -20 %",
"credit score 600") without touching the twin: the same model, the same explanation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import msgspec

from banktwin.config import Settings
from banktwin.registry import open_model_registry, registry_exists
from banktwin.registry.champion import Champion, Served
from banktwin.registry.port import RISK_MODEL
from banktwin.risk.engine import (
    DRIFT_DAY_PREFIX,
    DRIFT_LATEST,
    SCORE_PREFIX,
    DriftRecord,
    ScoreRecord,
    as_columns,
    top_factors,
)
from banktwin.risk.features import FEATURE_KINDS, Features
from banktwin.risk.model import RiskModel
from banktwin.risk.names import RISK_CONSUMER
from banktwin.store.kv import KeyValueStore, prefix_end

_PERCENT = re.compile(r"^\s*([+\-\u2212]?)\s*(\d+(?:\.\d+)?)\s*%\s*$")


def risk_champion(settings: Settings) -> Champion[RiskModel]:
    """The registry's ``RiskScore`` champion, refreshed every ``risk_model_refresh_s``."""
    return Champion(
        partial(open_model_registry, settings),
        name=RISK_MODEL,
        load=RiskModel.from_bytes,
        refresh_s=settings.risk_model_refresh_s,
        available=partial(registry_exists, settings),
    )


class RiskReader:
    """What the risk engine committed: last scores and drift."""

    def __init__(self, kv: KeyValueStore, consumer: str = RISK_CONSUMER) -> None:
        self._kv = kv
        self._consumer = consumer

    def score(self, customer_id: str) -> ScoreRecord | None:
        """The customer's last score with its features; ``None`` if never scored."""
        key = f"{SCORE_PREFIX}{customer_id}"
        raw = self._kv.get_many(self._consumer, [key]).get(key)
        return None if raw is None else msgspec.msgpack.decode(raw, type=ScoreRecord)

    def latest_drift(self) -> DriftRecord | None:
        """The last day measured, of any model version."""
        raw = self._kv.get_many(self._consumer, [DRIFT_LATEST]).get(DRIFT_LATEST)
        return None if raw is None else msgspec.msgpack.decode(raw, type=DriftRecord)

    def drift_history(self, model_version: str, limit: int = 30) -> list[DriftRecord]:
        """The days measured for ``model_version``, newest first."""
        prefix = f"{DRIFT_DAY_PREFIX}{model_version}/"
        rows = self._kv.scan(self._consumer, prefix, prefix_end(prefix), limit=limit, reverse=True)
        return [msgspec.msgpack.decode(raw, type=DriftRecord) for _, raw in rows]


class WhatIfError(ValueError):
    """An override names no feature, or gives a value the feature cannot take."""

    def __init__(self, feature: str, message: str) -> None:
        super().__init__(f"{feature}: {message}")
        self.feature = feature


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A customer's score with some features changed, beside the score they have."""

    baseline: float
    score: float
    model_version: str
    features: Features
    """The features scored (the overrides applied)."""
    changed: dict[str, tuple[float | str | None, float | str | None]]
    """Each overridden feature: (its value, the value scored)."""
    reasons: list[tuple[str, float]]


def apply_override(name: str, current: float | str | None, override: object) -> float | str | None:
    """The value ``override`` gives feature ``name`` (whose value is ``current``).

    Numbers replace a numeric feature; ``"-20%"`` or ``"+15 %"`` change it relatively; text
    sets a categorical one; ``None`` makes either unknown.

    Raises:
        WhatIfError: no such feature, or a value it cannot take.
    """
    kind = FEATURE_KINDS.get(name)
    if kind is None:
        raise WhatIfError(name, "no such feature (GET /v1/risk-scores/{id} lists them)")
    if override is None:
        return None
    if kind == "categorical":
        if not isinstance(override, str) or not override.strip():
            raise WhatIfError(name, "a categorical feature takes a non-empty text value")
        return override.strip()
    if isinstance(override, bool):
        raise WhatIfError(name, "give a number or a percentage change like '-20%'")
    if isinstance(override, int | float):
        if not math.isfinite(override):
            raise WhatIfError(name, "give a finite number")
        return float(override)
    if isinstance(override, str) and (match := _PERCENT.match(override)):
        if not isinstance(current, float) or not math.isfinite(current):
            raise WhatIfError(name, "a percentage needs a known current value")
        sign = -1.0 if match.group(1) in ("-", "\u2212") else 1.0
        return current * (1.0 + sign * float(match.group(2)) / 100.0)
    raise WhatIfError(name, f"{override!r} is neither a number nor a change like '-20%'")


def what_if(
    record: ScoreRecord, overrides: Mapping[str, object], serving: Served[RiskModel]
) -> WhatIf:
    """Score ``record``'s features with ``overrides`` applied (see :func:`apply_override`).

    Raises:
        WhatIfError: an override is not valid.
    """
    features: Features = dict(record.features)
    changed: dict[str, tuple[float | str | None, float | str | None]] = {}
    for name, override in overrides.items():
        value = apply_override(name, features.get(name), override)
        changed[name] = (features.get(name), value)
        features[name] = value
    model = serving.model
    scores, contributions = model.predict_with_contributions(as_columns([features]))
    score = float(scores[0])
    return WhatIf(
        baseline=record.score,
        score=round(score, 6),
        model_version=serving.version,
        features=features,
        changed=changed,
        reasons=top_factors(model.feature_names, contributions[0, :-1]),
    )
