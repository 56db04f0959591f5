"""Deterministic identifiers: the same seed (and run) always yields the same ids.

Subject ids (customers, branches, loan applications) are UUIDv5 of the seed, so a customer
keeps its id across runs with the same seed. Event ids are UUIDv7 (time-ordered, as the log's
index likes them: :mod:`banktwin.domain.ids`) of the event's simulated time, their random
bits a hash of the run (configuration and window start) and a counter, so a repeated backfill
has the same event ids while a backfill of another window does not collide with it.
"""

from __future__ import annotations

import hashlib
import random
import uuid

from banktwin.domain.ids import uuid7_text

SIM_NAMESPACE = uuid.UUID("8f3c1a52-7a0e-4d3b-9a61-3c5e2b7d9f04")


def subject_namespace(seed: int) -> uuid.UUID:
    """The UUID namespace of a seed's customers, branches and loan applications."""
    return uuid.uuid5(SIM_NAMESPACE, f"seed/{seed}")


def subject_uuid(seed_namespace: uuid.UUID, kind: str, number: int) -> str:
    """A customer's, branch's or application's id: ``kind`` and ``number`` under the seed."""
    return str(uuid.uuid5(seed_namespace, f"{kind}/{number}"))


class Uuid7Counter:
    """Reproducible UUIDv7s: the caller's time, and for the random bits the SHA-1 of the
    namespace and a counter (n = 1, 2, 3 …)."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self._hash = hashlib.sha1(namespace.bytes, usedforsecurity=False)
        self._count = 0

    def next(self, unix_ms: int) -> str:
        """The next id, at ``unix_ms``."""
        self._count += 1
        digest = self._hash.copy()
        digest.update(str(self._count).encode())
        return uuid7_text(unix_ms, digest.digest())


class RunIds:
    """Counters for the ids minted while the simulation runs."""

    def __init__(self, seed: int, run_key: str, *, resumed: bool = False) -> None:
        self._event_namespace = uuid.uuid5(SIM_NAMESPACE, f"run/{run_key}")
        self._event_ids = Uuid7Counter(self._event_namespace)
        self._prefix = f"{seed % 1000:03d}"
        # A resumed run continues a bank whose earlier runs already used the plain ids:
        # its transactions, tickets and loan applications get ids of their own.
        self._seed_namespace = self._event_namespace if resumed else subject_namespace(seed)
        if resumed:
            self._prefix += f"R{self._event_namespace.hex[:6]}"
        self._transactions = 0
        self._tickets = 0
        self._loans = 0
        self._scenarios = 0

    def event(self, at_micros: int) -> str:
        """The next event id, for an event at simulated instant ``at_micros``."""
        return self._event_ids.next(at_micros // 1000)

    def transaction(self) -> str:
        """``TX`` and 12 digits."""
        self._transactions += 1
        return f"TX{self._prefix}{self._transactions:09d}"

    def ticket(self) -> str:
        """A branch queue ticket: ``Q`` and 11 digits."""
        self._tickets += 1
        return f"Q{self._prefix}{self._tickets:08d}"

    def loan_application(self) -> str:
        """A loan application's UUID."""
        self._loans += 1
        return subject_uuid(self._seed_namespace, "loan", self._loans)

    def scenario_instance(self) -> str:
        """A fraud scenario instance's UUID."""
        self._scenarios += 1
        return str(uuid.uuid5(self._event_namespace, f"scenario/{self._scenarios}"))


def card_token(rng: random.Random) -> str:
    """``tok_`` and 24 hex digits."""
    return f"tok_{rng.getrandbits(96):024x}"


def device_id(rng: random.Random) -> str:
    """``dev_`` and 16 hex digits."""
    return f"dev_{rng.getrandbits(64):016x}"


def account_number(rng: random.Random, taken: set[str]) -> str:
    """``ACC`` and 8 digits, not in ``taken`` (which it joins)."""
    while True:
        candidate = f"ACC{rng.randrange(10_000_000, 100_000_000)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def terminal_number(rng: random.Random, taken: set[str]) -> str:
    """``TRM`` and 8 digits, not in ``taken`` (which it joins)."""
    while True:
        candidate = f"TRM{rng.randrange(10_000_000, 100_000_000)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
