"""The key-value state store: where an engine without tables of its own keeps its state.

Kafka Streams gives each processor a key-value state store; this is banktwin's. State is kept
per consumer (one consumer never sees another's keys), as ordered text keys and byte values
the engine encodes, and a commit writes the changed keys **together with the consumer's
positions in one transaction**: a crash never loses or double-applies an event's effect.
Adapters: SQLite (the state store's file), PostgreSQL (its database), memory (tests).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from banktwin.consumers.engine import Checkpoint


class KeyValueStore(Protocol):
    """Per-consumer keys and values, committed with the consumer's positions."""

    def positions(self, consumer: str) -> dict[int, int]:
        """Per partition, the next log offset ``consumer`` will apply (missing means 0)."""
        ...

    def get_many(self, consumer: str, keys: Collection[str]) -> dict[str, bytes]:
        """The values of those ``keys`` that exist."""
        ...

    def scan(
        self,
        consumer: str,
        start: str,
        end: str,
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, bytes]]:
        """Keys ``k`` with ``start <= k < end`` and their values, in key order (descending
        with ``reverse``), at most ``limit`` of them."""
        ...

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        """Write ``puts`` (``None`` deletes the key) and ``checkpoint.end`` as the consumer's
        positions in one transaction.

        Raises:
            ConflictError: the stored positions are not ``checkpoint.start``; nothing written.
            UnavailableError: the store cannot be written; nothing was written.
        """
        ...

    def reset(self, consumer: str) -> None:
        """Delete every key and the positions of ``consumer``."""
        ...

    def ping(self) -> None:
        """Return if the store is reachable, raise ``UnavailableError`` otherwise."""
        ...

    def close(self) -> None: ...


def prefix_end(prefix: str) -> str:
    """The smallest key greater than every key starting with ``prefix`` (for :meth:`scan`)."""
    return prefix + "\U0010ffff"
