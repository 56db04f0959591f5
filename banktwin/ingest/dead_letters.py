"""The dead-letter table: records a connector read and the intake refused, kept with the
reason, until they are fixed and replayed or discarded.

A record's id is fixed by where it came from (:func:`dead_letter_id`: the connector's source
name and the topic, partition and offset, or the file and line), so a connector that reads a
record again after a crash writes nothing twice. Adapters: SQLite (the state store's file),
PostgreSQL (its database), memory (tests); :func:`banktwin.adapters.open_dead_letter_store`
picks one from the state store's URL.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

import orjson

from banktwin.errors import ConflictError, NotFoundError
from banktwin.intake.errors import FieldError


class Status(StrEnum):
    """Where a dead letter is in its life: waiting for a person, or settled."""

    PENDING = "pending"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was read: a topic's partition and offset, or a file's line (no
    partition)."""

    stream: str
    """The topic, or the file."""
    partition: int | None
    position: int
    """The offset in the partition, or the line number (from 1)."""

    def describe(self) -> str:
        """``payments[2]@1500`` (topic, partition, offset) or ``loads/day1.ndjson:17``."""
        if self.partition is None:
            return f"{self.stream}:{self.position}"
        return f"{self.stream}[{self.partition}]@{self.position}"


_DEAD_LETTERS = uuid.UUID("0b6f9c1e-7d24-4a8e-b3c5-2e91d4f07a63")
_STREAMED_EVENTS = uuid.UUID("5a3d2c7b-91e0-4f6a-8b1d-c4e7f0a29d58")


def _place(source: str, origin: Origin) -> str:
    partition = "" if origin.partition is None else str(origin.partition)
    return f"{source}\x1f{origin.stream}\x1f{partition}\x1f{origin.position}"


def dead_letter_id(source: str, origin: Origin) -> str:
    """The id of the dead letter of the record ``source`` read at ``origin``: the same every
    time that record is read."""
    return str(uuid.uuid5(_DEAD_LETTERS, _place(source, origin)))


def streamed_event_id(source: str, origin: Origin, index: int) -> str:
    """The event id of the ``index``-th event of a record that names none (0 for a record of
    one event): fixed by the record's place, so a record read twice is logged once.

    It is ``uuid.uuid5(_STREAMED_EVENTS, place)``, computed without making a ``UUID`` (a
    connector derives one per message: ``uuid5`` cost a tenth of a message's time)."""
    name = f"{_place(source, origin)}\x1f{index}".encode()
    digest = bytearray(hashlib.sha1(_STREAMED_EVENTS.bytes + name, usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused record, as it was received, with the reason."""

    letter_id: str
    source: str
    """The connector that read it (``--source``)."""
    origin: Origin
    raw: bytes
    """The record's bytes as received (empty for a record without a value)."""
    errors: tuple[FieldError, ...]
    """Why it was refused: the intake's field errors (``payload.amount``: …)."""
    received_at: datetime
    status: Status = Status.PENDING
    resolved_at: datetime | None = None
    note: str | None = None
    """Why it was discarded, or what its replay appended."""


def new_dead_letter(
    source: str, origin: Origin, raw: bytes, errors: Sequence[FieldError], received_at: datetime
) -> DeadLetter:
    """A pending dead letter, its id fixed by ``source`` and ``origin``."""
    return DeadLetter(
        dead_letter_id(source, origin), source, origin, raw, tuple(errors), received_at
    )


def errors_to_json(errors: Sequence[FieldError]) -> str:
    """Field errors as stored: ``[{"field": …, "message": …}, …]``."""
    return orjson.dumps([{"field": e.field, "message": e.message} for e in errors]).decode()


def errors_from_json(text: str | bytes) -> tuple[FieldError, ...]:
    return tuple(FieldError(e["field"], e["message"]) for e in orjson.loads(text))


class SourceCounts(NamedTuple):
    """One source's dead letters: all of them, those still pending, and those received since
    the time asked about."""

    total: int
    pending: int
    since: int


class DeadLetterStore(Protocol):
    """The dead-letter table."""

    def add(self, letters: Sequence[DeadLetter]) -> int:
        """Keep ``letters`` durably, all or none; a letter whose id is already kept is left as
        it is (a record read again).

        Returns:
            How many were new.

        Raises:
            UnavailableError: the table cannot be written; nothing was.
        """
        ...

    def page(
        self,
        *,
        source: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DeadLetter], int]:
        """Dead letters in the order they were first kept, optionally of one source and one
        status: ``limit`` of them from ``offset`` on, and how many match in all."""
        ...

    def get(self, letter_id: str) -> DeadLetter | None:
        """One dead letter by id (``None``: no such letter)."""
        ...

    def counts(self, since: datetime) -> dict[str, SourceCounts]:
        """Per source that has any dead letter, its counts (``since``: received at or after
        that time)."""
        ...

    def resolve(self, letter_id: str, status: Status, note: str, at: datetime) -> DeadLetter:
        """Mark a pending dead letter replayed or discarded, with why (``note``).

        Returns:
            The letter as it now is.

        Raises:
            NotFoundError: no such letter.
            ConflictError: it is not pending (it was replayed or discarded before).
            ValueError: ``status`` is ``pending``.
        """
        ...

    def ping(self) -> None:
        """Return if the table is reachable, raise ``UnavailableError`` otherwise."""
        ...

    def close(self) -> None: ...


def check_resolution(letter_id: str, status: Status, current: Status | None) -> None:
    """Refuse to resolve a letter that is missing or settled, or to resolve it as pending.

    Raises:
        ValueError: ``status`` is ``pending``.
        NotFoundError: ``current`` is ``None`` (no such letter).
        ConflictError: ``current`` is not ``pending``.
    """
    if status is Status.PENDING:
        raise ValueError("a dead letter is resolved as replayed or discarded, not pending")
    if current is None:
        raise NotFoundError(f"no dead letter {letter_id}")
    if current is not Status.PENDING:
        raise ConflictError(f"dead letter {letter_id} was already {current.value}")


def dead_letter_to_json(letter: DeadLetter) -> dict[str, object]:
    """A dead letter as the CLI's ``--json`` and the admin API show it (camelCase): the record
    as text when it is UTF-8 (``raw``), and always as base64 (``rawBase64``)."""
    try:
        text: str | None = letter.raw.decode()
    except UnicodeDecodeError:
        text = None
    origin = letter.origin
    return {
        "id": letter.letter_id,
        "source": letter.source,
        "origin": {
            "stream": origin.stream,
            "partition": origin.partition,
            "position": origin.position,
            "described": origin.describe(),
        },
        "raw": text,
        "rawBase64": base64.b64encode(letter.raw).decode(),
        "errors": [{"field": e.field, "message": e.message} for e in letter.errors],
        "receivedAt": letter.received_at.isoformat(),
        "status": letter.status.value,
        "resolvedAt": None if letter.resolved_at is None else letter.resolved_at.isoformat(),
        "note": letter.note,
    }
