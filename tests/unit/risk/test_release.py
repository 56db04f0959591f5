"""Releasing risk models: the first becomes champion, a better one is promoted on the same
holdout, a worse one stays challenger, --force, promote and rollback through ``previous``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from banktwin.errors import NotFoundError
from banktwin.registry.port import CHALLENGER, CHAMPION, RISK_MODEL
from banktwin.risk.holdout import holdout_mask
from banktwin.risk.model import RiskModel
from banktwin.risk.promotion import PREVIOUS, promote_version, roll_back
from banktwin.risk.release import release_risk_model
from banktwin.risk.training import RiskTrainingConfig, RiskTrainingResult, train_risk_model
from tests.unit.risk.memory_registry import InMemoryRegistry
from tests.unit.risk.synthetic import credit_table

Holdout = tuple[pd.DataFrame, np.ndarray]


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, np.ndarray, Holdout]:
    features, labels = credit_table(2500, seed=11)
    held = holdout_mask([f"c{i}" for i in range(len(labels))], 0.25)
    holdout = (features.loc[held].reset_index(drop=True), labels[held])
    return features.loc[~held].reset_index(drop=True), labels[~held], holdout


def trained(split: tuple[pd.DataFrame, np.ndarray, Holdout], *, weak: bool) -> RiskTrainingResult:
    features, labels, _ = split
    # The weak model sees only the noise and the employers: barely better than chance.
    exclude = ("income", "utilisation", "days_past_due", "region", "has_mortgage") if weak else ()
    config = RiskTrainingConfig(folds=3, candidates=("logistic",), exclude=exclude)
    return train_risk_model(features, labels, config=config)


@pytest.fixture(scope="module")
def strong(split: tuple[pd.DataFrame, np.ndarray, Holdout]) -> RiskTrainingResult:
    return trained(split, weak=False)


@pytest.fixture(scope="module")
def weak(split: tuple[pd.DataFrame, np.ndarray, Holdout]) -> RiskTrainingResult:
    return trained(split, weak=True)


def aliases(registry: InMemoryRegistry) -> dict[str, int | None]:
    out = {}
    for alias in (CHAMPION, CHALLENGER, PREVIOUS):
        found = registry.version_for(RISK_MODEL, alias)
        out[alias] = found.version if found else None
    return out


def test_the_first_version_becomes_champion_with_its_card(
    split: tuple[pd.DataFrame, np.ndarray, Holdout], strong: RiskTrainingResult
) -> None:
    registry = InMemoryRegistry()
    release = release_risk_model(registry, strong, holdout=split[2])
    assert release.champion and release.reason == "no champion yet"
    assert release.version.version == 1 and release.previous_champion is None
    assert aliases(registry) == {CHAMPION: 1, CHALLENGER: None, PREVIOUS: None}
    card = registry.versions(RISK_MODEL)[0].card
    assert card.flavor == strong.kind and card.feature_names == strong.model.feature_names
    assert card.data_hash == strong.data_hash
    assert card.metrics["holdout_roc_auc"] == release.challenger_figures["roc_auc"] > 0.7
    assert card.metrics["cv_roc_auc_mean"] == strong.metrics["cv_roc_auc_mean"]
    assert card.params["kind"] == strong.kind
    assert card.description.startswith("# RiskScore") and "## Holdout" in card.description
    loaded = RiskModel.from_bytes(registry.load(RISK_MODEL, 1))
    assert np.array_equal(loaded.predict(split[2][0]), strong.model.predict(split[2][0]))


def test_a_better_version_is_promoted_a_worse_one_stays_challenger(
    split: tuple[pd.DataFrame, np.ndarray, Holdout],
    strong: RiskTrainingResult,
    weak: RiskTrainingResult,
) -> None:
    holdout = split[2]
    registry = InMemoryRegistry()
    release_risk_model(registry, weak, holdout=holdout)

    better = release_risk_model(registry, strong, holdout=holdout)
    assert better.champion and better.reason.startswith("beats version 1 on")
    assert better.challenger_figures["roc_auc"] > better.champion_figures["roc_auc"]
    assert aliases(registry) == {CHAMPION: 2, CHALLENGER: None, PREVIOUS: 1}

    worse = release_risk_model(registry, weak, holdout=holdout)
    assert not worse.champion and worse.reason.startswith("does not beat version 2")
    assert aliases(registry) == {CHAMPION: 2, CHALLENGER: 3, PREVIOUS: 1}
    # The same model again does not beat itself: equal is not better.
    again = release_risk_model(registry, strong, holdout=holdout)
    assert not again.champion
    assert again.challenger_figures == again.champion_figures


def test_force_promotes_and_rollback_returns_to_the_previous_champion(
    split: tuple[pd.DataFrame, np.ndarray, Holdout],
    strong: RiskTrainingResult,
    weak: RiskTrainingResult,
) -> None:
    registry = InMemoryRegistry()
    release_risk_model(registry, strong, holdout=split[2])
    forced = release_risk_model(registry, weak, holdout=split[2], force=True)
    assert forced.champion and forced.reason.startswith("--force")
    assert aliases(registry)[CHAMPION] == 2 and aliases(registry)[PREVIOUS] == 1

    back = roll_back(registry, RISK_MODEL)
    assert (back.champion, back.before) == (1, 2)
    assert aliases(registry)[CHAMPION] == 1 and aliases(registry)[PREVIOUS] == 2
    roll_back(registry, RISK_MODEL)  # a second rollback undoes the first
    assert aliases(registry)[CHAMPION] == 2 and aliases(registry)[PREVIOUS] == 1


def test_promote_records_previous_and_names_unknown_versions(
    split: tuple[pd.DataFrame, np.ndarray, Holdout], weak: RiskTrainingResult
) -> None:
    registry = InMemoryRegistry()
    with pytest.raises(NotFoundError, match="no previous champion recorded"):
        roll_back(registry, RISK_MODEL)
    for _ in range(3):
        release_risk_model(registry, weak, holdout=None)
    assert aliases(registry) == {CHAMPION: 1, CHALLENGER: 3, PREVIOUS: None}
    moved = promote_version(registry, RISK_MODEL, 3)
    assert (moved.champion, moved.before, moved.changed) == (3, 1, True)
    assert not promote_version(registry, RISK_MODEL, 3).changed
    assert aliases(registry)[PREVIOUS] == 1
    with pytest.raises(NotFoundError, match=r"no version 9 \(versions: 1, 2, 3\)"):
        promote_version(registry, RISK_MODEL, 9)


def test_without_a_holdout_or_a_comparable_champion_nothing_is_promoted(
    split: tuple[pd.DataFrame, np.ndarray, Holdout],
    strong: RiskTrainingResult,
    weak: RiskTrainingResult,
) -> None:
    registry = InMemoryRegistry()
    release_risk_model(registry, weak, holdout=split[2])
    blind = release_risk_model(registry, strong, holdout=None)
    assert not blind.champion and "no holdout" in blind.reason

    # A champion trained on a column the new table lacks cannot be compared: a person decides.
    features, labels, holdout = split
    wider = features.assign(bureau_score=np.arange(len(labels)) % 7)
    config = RiskTrainingConfig(folds=3, candidates=("logistic",))
    other = InMemoryRegistry()
    release_risk_model(other, train_risk_model(wider, labels, config=config), holdout=None)
    narrowed = release_risk_model(other, strong, holdout=holdout)
    assert not narrowed.champion
    assert "cannot be scored on this holdout" in narrowed.reason
    assert "'bureau_score'" in narrowed.reason
