"""The champion model source: first load on the caller's thread, promotions picked up later
without blocking it, failures keep the model in use."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from banktwin.fraud.feature_names import FEATURE_NAMES
from banktwin.fraud.model import train_model
from banktwin.fraud.model_source import ChampionModel
from banktwin.registry.port import FRAUD_MODEL, ModelCard, RegisteredVersion

WHEN = datetime(2025, 9, 1, tzinfo=UTC)


def a_model(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(200, len(FEATURE_NAMES)))
    labels = (rows[:, 0] > 1.0).astype(float)
    return train_model(rows, labels, FEATURE_NAMES, kind="logistic").to_bytes()


class Registry:
    """A registry holding versions in memory (the port's behaviour the source relies on)."""

    def __init__(self) -> None:
        self.artifacts: dict[int, bytes] = {}
        self.champion: int | None = None
        self.fail = False
        self.gate = threading.Event()
        self.gate.set()

    def version_for(self, name: str, alias: str) -> RegisteredVersion | None:
        self.gate.wait(5)
        if self.fail:
            raise ConnectionError("tracking server down")
        if self.champion is None:
            return None
        card = ModelCard(
            name=name,
            flavor="logistic",
            params={},
            metrics={},
            feature_names=FEATURE_NAMES,
            training_window=(WHEN, WHEN),
            data_hash="h",
        )
        return RegisteredVersion(
            name=name, version=self.champion, card=card, aliases=(alias,), created_at=WHEN
        )

    def load(self, name: str, version: int) -> bytes:
        return self.artifacts[version]


def test_promotions_are_picked_up_in_the_background_and_failures_keep_the_model() -> None:
    registry = Registry()
    registry.artifacts = {1: a_model(1), 2: a_model(2)}
    registry.champion = 1
    now = [0.0]
    source = ChampionModel(lambda: registry, refresh_s=10, clock=lambda: now[0])  # type: ignore[arg-type, return-value]
    first = source.current()
    assert first is not None and first.version == f"{FRAUD_MODEL}/1"

    registry.champion = 2
    registry.gate.clear()  # the registry hangs: scoring must not wait for it
    now[0] = 11.0
    assert source.current() is first
    registry.gate.set()
    for _ in range(100):
        served = source.current()
        if served is not None and served.version.endswith("/2"):
            break
        threading.Event().wait(0.02)
    assert served is not None and served.version == f"{FRAUD_MODEL}/2"

    registry.fail = True
    now[0] = 30.0
    assert source.current() is served
    threading.Event().wait(0.1)
    assert source.current() is served


def test_without_a_registry_store_nothing_is_opened() -> None:
    opened = []
    source = ChampionModel(lambda: opened.append(1), available=lambda: False)  # type: ignore[arg-type, return-value]
    assert source.current() is None
    assert opened == []


def test_a_version_registered_here_is_served_at_once_when_asked() -> None:
    registry = Registry()
    now = [0.0]
    source = ChampionModel(lambda: registry, refresh_s=30, clock=lambda: now[0])  # type: ignore[arg-type, return-value]
    assert source.current() is None  # nothing registered yet
    registry.artifacts, registry.champion = {1: a_model(1)}, 1
    assert source.current() is None  # the next look waits for refresh_s
    served = source.refresh_now()
    assert served is not None and served.version == f"{FRAUD_MODEL}/1"
    assert source.current() is served
