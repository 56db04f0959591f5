"""The model registry against a real local MLflow store (SQLite, in a temporary data directory):
cards read back as registered, aliases, promotion seen by another reader, exact artifacts."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from banktwin.config import Settings
from banktwin.errors import NotFoundError, UnavailableError
from banktwin.registry import (
    CHALLENGER,
    CHAMPION,
    FRAUD_MODEL,
    ModelCard,
    ModelRegistry,
    open_model_registry,
    registry_exists,
)

pytestmark = pytest.mark.slow  # one MLflow store for the module: ~3 s to create its tables

START = datetime(2026, 1, 1, tzinfo=UTC)
_names = (f"Model{n}" for n in itertools.count())


def card(name: str = FRAUD_MODEL, *, seed: int = 0, flavor: str = "lightgbm") -> ModelCard:
    return ModelCard(
        name=name,
        flavor=flavor,
        params={"kind": flavor, "seed": seed, "label_delay_days": 7.0},
        metrics={"validation_average_precision": 0.61 + seed / 100, "train_rows": 12_345.0},
        feature_names=("amount", "amount_zscore", "merchant_risk", "seconds_since_last"),
        training_window=(START, START + timedelta(days=30 + seed)),
        data_hash=f"{seed:064x}",
        description=f"seed {seed}",
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="module")
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, mlflow_uri=None)


@pytest.fixture(scope="module")
def registry(settings: Settings) -> Iterator[ModelRegistry]:
    assert not registry_exists(settings)
    opened = open_model_registry(settings)
    yield opened
    opened.close()


@pytest.fixture
def name() -> str:
    """A model of the test's own in the module's store."""
    return next(_names)


def test_two_versions_read_back_with_their_cards(registry: ModelRegistry, name: str) -> None:
    first = registry.register(card(name, seed=1), b"model one")
    second = registry.register(card(name, seed=2, flavor="logistic"), b"model two")

    assert (first.version, second.version) == (1, 2)
    assert first.card == card(name, seed=1)
    assert first.aliases == ()
    assert first.created_at.tzinfo is not None
    listed = registry.versions(name)
    assert [v.version for v in listed] == [1, 2]
    assert [v.card for v in listed] == [card(name, seed=1), card(name, seed=2, flavor="logistic")]
    read = listed[0].card
    assert read.params == {"kind": "lightgbm", "seed": 1, "label_delay_days": 7.0}
    assert isinstance(read.params["seed"], int)
    assert read.metrics == {"validation_average_precision": 0.62, "train_rows": 12_345.0}
    assert read.feature_names == card().feature_names
    assert read.training_window == (START, START + timedelta(days=31))
    assert read.data_hash == f"{1:064x}"


def test_aliases_name_versions_and_a_promotion_is_seen_without_reopening(
    registry: ModelRegistry, settings: Settings
) -> None:
    one = registry.register(card(seed=1), b"champion model")
    two = registry.register(card(seed=2), b"challenger model")
    registry.set_alias(FRAUD_MODEL, CHAMPION, one.version)
    registry.set_alias(FRAUD_MODEL, CHALLENGER, two.version)
    serving = open_model_registry(settings)  # another reader, as a serving process would be

    champion = serving.version_for(FRAUD_MODEL, CHAMPION)
    assert champion is not None
    assert (champion.version, champion.aliases, champion.card) == (
        one.version,
        (CHAMPION,),
        card(seed=1),
    )
    challenger = serving.version_for(FRAUD_MODEL, CHALLENGER)
    assert challenger is not None
    assert challenger.version == two.version

    registry.set_alias(FRAUD_MODEL, CHAMPION, two.version)

    promoted = serving.version_for(FRAUD_MODEL, CHAMPION)
    assert promoted is not None
    assert promoted.version == two.version
    assert sorted(promoted.aliases) == [CHALLENGER, CHAMPION]
    assert serving.load(FRAUD_MODEL, promoted.version) == b"challenger model"
    assert [v.aliases for v in serving.versions(FRAUD_MODEL)] == [(), (CHALLENGER, CHAMPION)]
    serving.close()


def test_load_returns_the_exact_bytes(registry: ModelRegistry, name: str) -> None:
    artifact = bytes(range(256)) * 1000 + b"\x00\r\n"
    version = registry.register(card(name), artifact).version

    assert registry.load(name, version) == artifact


def test_unknown_models_aliases_and_versions(registry: ModelRegistry, name: str) -> None:
    assert registry.version_for("NoSuchModel", CHAMPION) is None
    assert registry.versions("NoSuchModel") == []
    with pytest.raises(NotFoundError, match="NoSuchModel"):
        registry.load("NoSuchModel", 1)

    registry.register(card(name), b"x")
    assert registry.version_for(name, CHAMPION) is None
    with pytest.raises(NotFoundError, match="version"):
        registry.load(name, 7)
    with pytest.raises(NotFoundError):
        registry.set_alias(name, CHAMPION, 7)
    with pytest.raises(UnavailableError, match="reserved"):
        registry.set_alias(name, "latest", 1)


def test_the_embedded_store_is_in_the_data_directory(
    registry: ModelRegistry, settings: Settings, data_dir: Path, name: str
) -> None:
    registry.register(card(name), b"where am I")

    assert settings.model_registry_uri == f"sqlite:///{data_dir}/mlflow/mlflow.db"
    assert (data_dir / "mlflow" / "mlflow.db").is_file()
    stored = list((data_dir / "mlflow" / "artifacts").rglob("model.bin"))
    assert b"where am I" in [p.read_bytes() for p in stored]
    assert registry_exists(settings)


def test_a_changed_artifact_is_refused(registry: ModelRegistry, data_dir: Path, name: str) -> None:
    version = registry.register(card(name), b"original bytes").version
    (stored,) = (
        p
        for p in (data_dir / "mlflow" / "artifacts").rglob("model.bin")
        if p.read_bytes() == b"original bytes"
    )
    stored.write_bytes(b"tampered bytes")

    with pytest.raises(UnavailableError, match="SHA-256"):
        registry.load(name, version)


def test_a_version_registered_outside_banktwin_has_no_card(
    registry: ModelRegistry, settings: Settings, name: str
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(settings.model_registry_uri, settings.model_registry_uri)
    client.create_registered_model(name)
    client.create_model_version(name, source="file:///nowhere/model")
    client.set_registered_model_alias(name, CHAMPION, "1")

    with pytest.raises(NotFoundError, match="registered outside banktwin"):
        registry.version_for(name, CHAMPION)


def test_mlflow_uri_overrides_the_embedded_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BANKTWIN_MLFLOW_URI", raising=False)
    default = Settings(data_dir=tmp_path)
    assert default.mlflow_uri is None
    assert default.model_registry_uri == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    assert not registry_exists(default)

    monkeypatch.setenv("BANKTWIN_MLFLOW_URI", "http://mlflow.internal:5000")
    given = Settings(data_dir=tmp_path)
    assert given.model_registry_uri == "http://mlflow.internal:5000"
    assert registry_exists(given)  # a server: only asking it tells


def test_a_card_refuses_what_it_cannot_record() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ModelCard(**{**card().__dict__, "training_window": (datetime(2026, 1, 1),) * 2})
    with pytest.raises(ValueError, match="after end"):
        ModelCard(**{**card().__dict__, "training_window": (START, START - timedelta(1))})
    with pytest.raises(ValueError, match="model name"):
        ModelCard(**{**card().__dict__, "name": "Fraud'Score"})


def test_importing_the_registry_does_not_import_mlflow() -> None:
    code = "import sys, banktwin.registry; sys.exit('mlflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
