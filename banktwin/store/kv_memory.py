"""The key-value state store in dictionaries: the fake unit tests run engines on."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping

from banktwin.consumers.engine import Checkpoint
from banktwin.store.positions import check_positions


class InMemoryKeyValueStore:
    """The :class:`~banktwin.store.kv.KeyValueStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._positions: dict[str, dict[int, int]] = {}
        self._values: dict[str, dict[str, bytes]] = {}

    def positions(self, consumer: str) -> dict[int, int]:
        with self._lock:
            return dict(self._positions.get(consumer, {}))

    def get_many(self, consumer: str, keys: Collection[str]) -> dict[str, bytes]:
        with self._lock:
            mine = self._values.get(consumer, {})
            return {k: mine[k] for k in keys if k in mine}

    def scan(
        self,
        consumer: str,
        start: str,
        end: str,
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, bytes]]:
        with self._lock:
            found = sorted(
                ((k, v) for k, v in self._values.get(consumer, {}).items() if start <= k < end),
                reverse=reverse,
            )
        return found if limit is None else found[:limit]

    def commit(self, checkpoint: Checkpoint, puts: Mapping[str, bytes | None]) -> None:
        with self._lock:
            stored = self._positions.get(checkpoint.consumer, {})
            check_positions(checkpoint.consumer, stored, checkpoint.start)
            mine = self._values.setdefault(checkpoint.consumer, {})
            for key, value in puts.items():
                if value is None:
                    mine.pop(key, None)
                else:
                    mine[key] = bytes(value)
            self._positions[checkpoint.consumer] = {**stored, **checkpoint.end}

    def reset(self, consumer: str) -> None:
        with self._lock:
            self._positions.pop(consumer, None)
            self._values.pop(consumer, None)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
