"""The model registry the settings name: ``BANKTWIN_MLFLOW_URI``, or MLflow on a SQLite store
in the data directory (``<data_dir>/mlflow/mlflow.db``, artifacts in ``<data_dir>/mlflow/
artifacts``)."""

from __future__ import annotations

from pathlib import Path

from banktwin.config import Settings
from banktwin.registry.port import ModelRegistry

ARTIFACTS_DIR = "artifacts"
"""Beside a SQLite store's file: where its experiments keep their artifacts."""


def open_model_registry(settings: Settings) -> ModelRegistry:
    """Open the registry at ``settings.model_registry_uri`` (imports MLflow: seconds).

    A SQLite store's directory is created if missing, and its artifacts go beside the file
    (a store without a server has no artifact root of its own). Any other URI leaves the
    artifact location to the tracking server.
    """
    from banktwin.registry.mlflow_registry import MlflowModelRegistry

    uri = settings.model_registry_uri
    database = sqlite_path(uri)
    if database is None:
        return MlflowModelRegistry(uri)
    database.parent.mkdir(parents=True, exist_ok=True)
    artifacts = (database.parent / ARTIFACTS_DIR).resolve()
    return MlflowModelRegistry(uri, artifact_location=artifacts.as_uri())


def registry_exists(settings: Settings) -> bool:
    """Whether the registry may hold a model, without importing MLflow: for a SQLite store,
    whether its file exists; for a server, always (only asking it tells)."""
    database = sqlite_path(settings.model_registry_uri)
    return database is None or database.exists()


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///path`` URI (relative to the working directory, or absolute
    with four slashes); ``None`` for any other URI."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return Path(uri[len(prefix) :].split("?", 1)[0])
