"""The dead-letter table in a list: the fake unit tests and ``memory://`` run on."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from banktwin.ingest.dead_letters import DeadLetter, SourceCounts, Status, check_resolution


class InMemoryDeadLetterStore:
    """The :class:`~banktwin.ingest.dead_letters.DeadLetterStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._letters: dict[str, DeadLetter] = {}  # in the order first kept

    def add(self, letters: Sequence[DeadLetter]) -> int:
        with self._lock:
            new: dict[str, DeadLetter] = {}
            for letter in letters:
                if letter.letter_id not in self._letters:
                    new.setdefault(letter.letter_id, letter)
            self._letters.update(new)
            return len(new)

    def page(
        self,
        *,
        source: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DeadLetter], int]:
        with self._lock:
            found = [
                letter
                for letter in self._letters.values()
                if (source is None or letter.source == source)
                and (status is None or letter.status is status)
            ]
        return found[offset : offset + limit], len(found)

    def get(self, letter_id: str) -> DeadLetter | None:
        with self._lock:
            return self._letters.get(letter_id)

    def counts(self, since: datetime) -> dict[str, SourceCounts]:
        counted: dict[str, SourceCounts] = {}
        with self._lock:
            for letter in self._letters.values():
                total, pending, recent = counted.get(letter.source, SourceCounts(0, 0, 0))
                counted[letter.source] = SourceCounts(
                    total + 1,
                    pending + (letter.status is Status.PENDING),
                    recent + (letter.received_at >= since),
                )
        return dict(sorted(counted.items()))

    def resolve(self, letter_id: str, status: Status, note: str, at: datetime) -> DeadLetter:
        with self._lock:
            letter = self._letters.get(letter_id)
            check_resolution(letter_id, status, None if letter is None else letter.status)
            assert letter is not None
            resolved = replace(letter, status=status, resolved_at=at, note=note)
            self._letters[letter_id] = resolved
            return resolved

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
