"""A model registry in memory that honours the port (``banktwin.registry.port``): the risk
release and promotion tests run on it; the MLflow adapter is tested against the same port in
tests/integration."""

from __future__ import annotations

from datetime import UTC, datetime

from banktwin.errors import NotFoundError
from banktwin.registry.port import ModelCard, RegisteredVersion, check_model_name


class InMemoryRegistry:
    """Versions, artifacts and aliases in dicts."""

    def __init__(self) -> None:
        self._versions: dict[str, list[tuple[ModelCard, bytes, datetime]]] = {}
        self._aliases: dict[str, dict[str, int]] = {}

    def register(self, card: ModelCard, artifact: bytes) -> RegisteredVersion:
        versions = self._versions.setdefault(card.name, [])
        versions.append((card, bytes(artifact), datetime.now(UTC)))
        return self._registered(card.name, len(versions))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        if not 1 <= version <= len(self._versions.get(name, [])):
            raise NotFoundError(f"{name} has no version {version}")
        self._aliases.setdefault(name, {})[alias] = version

    def version_for(self, name: str, alias: str) -> RegisteredVersion | None:
        version = self._aliases.get(name, {}).get(alias)
        return None if version is None else self._registered(name, version)

    def load(self, name: str, version: int) -> bytes:
        if not 1 <= version <= len(self._versions.get(name, [])):
            raise NotFoundError(f"{name} has no version {version}")
        return self._versions[name][version - 1][1]

    def versions(self, name: str) -> list[RegisteredVersion]:
        check_model_name(name)
        return [self._registered(name, i + 1) for i in range(len(self._versions.get(name, [])))]

    def close(self) -> None:
        return None

    def _registered(self, name: str, version: int) -> RegisteredVersion:
        card, _, created = self._versions[name][version - 1]
        aliases = tuple(sorted(a for a, v in self._aliases.get(name, {}).items() if v == version))
        return RegisteredVersion(
            name=name, version=version, card=card, aliases=aliases, created_at=created
        )
