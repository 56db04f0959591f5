"""Where the contract tests of the stores kept beside the twin open them: one URL per backend,
and a factory that opens the same store again, as a restarted process would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

BACKENDS = ["memory", "sqlite", "postgres"]
"""Every backend of a state-side store (the key-value store, the dead-letter table)."""
DURABLE_BACKENDS = ["sqlite", "postgres"]


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)


def backend_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The state store URL of ``backend`` for one test (PostgreSQL: the test database)."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


def reopening(open_store: Callable[[str], S], url: str) -> Iterator[Callable[[], S]]:
    """A factory opening the store at ``url`` again each call (in memory, the same object:
    nothing else would see its data); every store it opened is closed after the test."""
    opened: list[S] = []
    shared = open_store(url) if url.startswith("memory") else None

    def open_one() -> S:
        if shared is not None:
            return shared
        store = open_store(url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
