"""Moving the ``champion`` alias so that it can be moved back.

Promoting points ``previous`` at the version that served until then, and rolling back points
``champion`` at ``previous`` (and ``previous`` at the version rolled back from, so a second
rollback undoes the first). Works for any registered model (``RiskScore``, ``FraudScore``);
the fraud commands' own ``promote`` does not record ``previous``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from banktwin.errors import NotFoundError
from banktwin.registry.port import CHAMPION, ModelRegistry

PREVIOUS: Final = "previous"
"""The alias of the champion before the last promotion: where a rollback goes."""


@dataclass(frozen=True)
class AliasMove:
    """Where ``champion`` pointed before and after a move."""

    name: str
    champion: int
    """The version that serves now."""
    before: int | None
    """The version that served before (``None``: there was no champion)."""

    @property
    def changed(self) -> bool:
        return self.before != self.champion


def promote_version(registry: ModelRegistry, name: str, version: int) -> AliasMove:
    """Make ``version`` of ``name`` the champion, the old champion ``previous``.

    Raises:
        NotFoundError: ``name`` has no such version (the message lists the versions).
        UnavailableError: the registry cannot be reached.
    """
    known = sorted(v.version for v in registry.versions(name))
    if version not in known:
        listed = ", ".join(map(str, known)) or "none yet"
        raise NotFoundError(f"{name} has no version {version} (versions: {listed})")
    current = registry.version_for(name, CHAMPION)
    before = current.version if current is not None else None
    if before == version:
        return AliasMove(name, version, before)
    if before is not None:
        registry.set_alias(name, PREVIOUS, before)
    registry.set_alias(name, CHAMPION, version)
    return AliasMove(name, version, before)


def roll_back(registry: ModelRegistry, name: str) -> AliasMove:
    """Point ``champion`` back at ``previous``, and ``previous`` at the version rolled back
    from.

    Raises:
        NotFoundError: no ``previous`` is recorded for ``name`` (nothing was promoted with
            :func:`promote_version`), or it is the champion already.
        UnavailableError: the registry cannot be reached.
    """
    previous = registry.version_for(name, PREVIOUS)
    if previous is None:
        raise NotFoundError(
            f"{name} has no previous champion recorded: promote with `banktwin models promote` "
            "(or train with `banktwin train risk`) to record one"
        )
    current = registry.version_for(name, CHAMPION)
    before = current.version if current is not None else None
    if before == previous.version:
        raise NotFoundError(f"{name}: version {before} is both champion and previous")
    registry.set_alias(name, CHAMPION, previous.version)
    if before is not None:
        registry.set_alias(name, PREVIOUS, before)
    return AliasMove(name, previous.version, before)
