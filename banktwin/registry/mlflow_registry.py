"""The model registry on MLflow: tracking runs for the record, the model registry for versions.

Each :meth:`~MlflowModelRegistry.register` is one MLflow run in the experiment
``banktwin-<name>`` (params, metrics, the card as tags, the artifact as ``model/model.bin``)
and one model version whose source is that run's ``model`` folder. The version carries the
whole card in ``banktwin.*`` tags, so reading a version (what serving polls) rebuilds its card
without touching the run. Aliases are MLflow's registered-model aliases.

MLflow takes seconds to import, so it is imported when a registry is opened, never when this
module is: ``banktwin --help``, the API and an engine without a model stay quick to start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from banktwin.errors import NotFoundError, UnavailableError
from banktwin.registry.port import ModelCard, RegisteredVersion, check_model_name

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

ARTIFACT_DIR = "model"
ARTIFACT_FILE = "model.bin"
EXPERIMENT_PREFIX = "banktwin-"
TAG = "banktwin."
"""Prefix of the tags that hold a version's card."""

_MLFLOW_DEFAULTS = {
    # Off: a bank's twin sends no usage data to a third party unless its operator asks to.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # MLflow's records go to the application's logging (its handlers, levels, format)
    # instead of a stderr handler of MLflow's own.
    "MLFLOW_CONFIGURE_LOGGING": "false",
    # Ending a run on a server writes its URL to stdout, where a command's output goes.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    # MLflow retries a failing request 7 times with exponential backoff (minutes in all);
    # serving polls the champion between batches, so an unreachable server must fail soon
    # (about 1 s here). The timeout is per read, not per transfer: big artifacts still go.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
"""MLflow settings banktwin chooses where the environment does not (it always wins)."""

_NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
_INVALID = "INVALID_PARAMETER_VALUE"


def _mlflow_client(tracking_uri: str) -> MlflowClient:
    # Creating or migrating a store logs each of its ~100 steps at INFO: quiet unless the
    # application configured these loggers itself.
    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # SQLAlchemy 2.1 deprecates a loader option that MLflow's SQL tracking store sets up
        # when imported (here: the client builds its tracking store at once); nothing
        # banktwin can act on. Imports are cached, so this is once per process.
        warnings.simplefilter("ignore", DeprecationWarning)
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def _mlflow_errors(action: str) -> Iterator[None]:
    """MLflow's and the artifact store's errors as banktwin's own."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        if exc.error_code == _NOT_FOUND:
            raise NotFoundError(f"{action}: {exc.message}") from exc
        raise UnavailableError(f"{action}: MLflow: {exc.message}") from exc
    except OSError as exc:
        raise UnavailableError(f"{action}: {exc}") from exc


class MlflowModelRegistry:
    """A :class:`~banktwin.registry.port.ModelRegistry` on an MLflow tracking/registry store."""

    def __init__(self, tracking_uri: str, *, artifact_location: str | None = None) -> None:
        """Open the registry at ``tracking_uri``. MLflow is imported (seconds), and a SQLite
        store gets its tables the first time (seconds more: MLflow runs its migrations).

        ``artifact_location`` is where a new experiment keeps its artifacts (a URI, e.g.
        ``file:///var/mlflow/artifacts``); ``None`` leaves it to the tracking server. A
        store without a server (SQLite) needs one, or MLflow writes to ``./mlruns``.

        Raises:
            UnavailableError: the store cannot be opened (a database that cannot be created).
        """
        self.tracking_uri = tracking_uri
        self._artifact_location = artifact_location
        for name, value in _MLFLOW_DEFAULTS.items():  # before MLflow is first imported
            os.environ.setdefault(name, value)
        with _mlflow_errors(f"open the model registry at {tracking_uri}"):
            self._client = _mlflow_client(tracking_uri)

    def register(self, card: ModelCard, artifact: bytes) -> RegisteredVersion:
        client = self._client
        tags = card_tags(card, hashlib.sha256(artifact).hexdigest())
        with _mlflow_errors(f"register a version of {card.name}"):
            run = client.create_run(
                self._experiment_id(card.name),
                run_name=f"{card.name}-{card.flavor}",
                tags=_run_tags(card, tags),
            )
            run_id = run.info.run_id
            try:
                self._log_run(run_id, card, artifact)
                _create_registered_model(client, card.name)
                created = client.create_model_version(
                    card.name,
                    source=f"{run.info.artifact_uri}/{ARTIFACT_DIR}",
                    run_id=run_id,
                    tags=tags,
                    description=card.description or None,
                )
            except BaseException:
                with suppress(Exception):  # the first error is the one to report
                    client.set_terminated(run_id, status="FAILED")
                raise
            client.set_terminated(run_id)
        return _registered(created, card, ())

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with _mlflow_errors(f"point {name}@{alias} at version {version}"):
            self._client.set_registered_model_alias(name, alias, str(version))

    def version_for(self, name: str, alias: str) -> RegisteredVersion | None:
        from mlflow.exceptions import MlflowException

        with _mlflow_errors(f"read {name}@{alias}"):
            try:
                found = self._client.get_model_version_by_alias(name, alias)
            except MlflowException as exc:
                # An unknown model is "not found"; an unknown alias of a known one is an
                # invalid parameter (SQLite store and server alike): look before saying so.
                if exc.error_code == _NOT_FOUND:
                    return None
                if exc.error_code == _INVALID and alias not in self._aliases(name):
                    return None
                raise
        return _registered(found, card_from_tags(found), tuple(found.aliases))

    def load(self, name: str, version: int) -> bytes:
        import mlflow.artifacts

        with _mlflow_errors(f"load {name} version {version}"):
            found = self._client.get_model_version(name, str(version))
            with tempfile.TemporaryDirectory(prefix="banktwin-model-") as scratch:
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{found.source}/{ARTIFACT_FILE}",
                    dst_path=scratch,
                    tracking_uri=self.tracking_uri,
                )
                artifact = Path(path).read_bytes()
        expected = found.tags.get(f"{TAG}artifact_sha256")
        if expected is not None and hashlib.sha256(artifact).hexdigest() != expected:
            raise UnavailableError(
                f"load {name} version {version}: the artifact at {found.source} is not the "
                "one registered (its SHA-256 differs); the artifact store was changed"
            )
        return artifact

    def versions(self, name: str) -> list[RegisteredVersion]:
        check_model_name(name)
        found: list[ModelVersion] = []
        with _mlflow_errors(f"list the versions of {name}"):
            aliases = self._aliases(name)
            token: str | None = None
            while True:
                page = self._client.search_model_versions(f"name='{name}'", page_token=token)
                found.extend(page)
                token = page.token
                if not token:
                    break
        by_version: dict[int, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(int(version), []).append(alias)
        return sorted(
            (
                _registered(v, card_from_tags(v), tuple(sorted(by_version.get(int(v.version), []))))
                for v in found
            ),
            key=lambda registered: registered.version,
        )

    def close(self) -> None:
        # Nothing of its own to release: MLflow caches its SQLAlchemy engines per store URI
        # for the whole process, shared with any other client of the same store.
        return

    def _aliases(self, name: str) -> dict[str, Any]:
        """The aliases of model ``name`` ({} for an unknown model)."""
        from mlflow.exceptions import MlflowException

        try:
            return dict(self._client.get_registered_model(name).aliases)
        except MlflowException as exc:
            if exc.error_code == _NOT_FOUND:
                return {}
            raise

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        experiment_name = EXPERIMENT_PREFIX + name
        found = self._client.get_experiment_by_name(experiment_name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return self._client.create_experiment(
                experiment_name, artifact_location=self._artifact_location
            )
        except MlflowException as exc:  # another process created it first
            found = self._client.get_experiment_by_name(experiment_name)
            if found is None:
                raise exc from None
            return str(found.experiment_id)

    def _log_run(self, run_id: str, card: ModelCard, artifact: bytes) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        self._client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), now, 0) for key, value in card.metrics.items()],
            params=[Param(key, str(value)) for key, value in card.params.items()],
        )
        with tempfile.TemporaryDirectory(prefix="banktwin-model-") as scratch:
            path = Path(scratch) / ARTIFACT_FILE
            path.write_bytes(artifact)
            self._client.log_artifact(run_id, str(path), ARTIFACT_DIR)


def _create_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def card_tags(card: ModelCard, artifact_sha256: str) -> dict[str, str]:
    """The model-version tags that hold ``card`` (and the artifact's hash)."""
    start, end = card.training_window
    return {
        f"{TAG}flavor": card.flavor,
        f"{TAG}feature_names": json.dumps(list(card.feature_names)),
        f"{TAG}training_start": start.isoformat(),
        f"{TAG}training_end": end.isoformat(),
        f"{TAG}data_hash": card.data_hash,
        f"{TAG}params": json.dumps(card.params, sort_keys=True),
        f"{TAG}metrics": json.dumps(card.metrics, sort_keys=True),
        f"{TAG}artifact_sha256": artifact_sha256,
    }


def _run_tags(card: ModelCard, tags: dict[str, str]) -> dict[str, str]:
    # The run shows params and metrics as such; its description is the UI's note tag.
    shown = {k: v for k, v in tags.items() if k not in (f"{TAG}params", f"{TAG}metrics")}
    return shown | ({"mlflow.note.content": card.description} if card.description else {})


def card_from_tags(version: ModelVersion) -> ModelCard:
    """Rebuild the card of a version from its tags.

    Raises:
        NotFoundError: the version has no card (it was not registered by banktwin).
    """
    tags: dict[str, str] = version.tags
    try:
        return ModelCard(
            name=version.name,
            flavor=tags[f"{TAG}flavor"],
            params=json.loads(tags[f"{TAG}params"]),
            metrics=json.loads(tags[f"{TAG}metrics"]),
            feature_names=tuple(json.loads(tags[f"{TAG}feature_names"])),
            training_window=(
                datetime.fromisoformat(tags[f"{TAG}training_start"]),
                datetime.fromisoformat(tags[f"{TAG}training_end"]),
            ),
            data_hash=tags[f"{TAG}data_hash"],
            description=version.description or "",
        )
    except (KeyError, ValueError) as exc:
        raise NotFoundError(
            f"{version.name} version {version.version} has no banktwin model card "
            f"({type(exc).__name__}: {exc} in its {TAG}* tags): it was registered outside "
            "banktwin (the MLflow UI or client?); point the alias at a version banktwin "
            "registered"
        ) from None


def _registered(
    version: ModelVersion, card: ModelCard, aliases: tuple[str, ...]
) -> RegisteredVersion:
    return RegisteredVersion(
        name=version.name,
        version=int(version.version),
        card=card,
        aliases=aliases,
        created_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
    )
