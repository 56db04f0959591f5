"""Replaying a dead letter: its record read again (as received, or as a person fixed it),
appended when valid, and the letter marked replayed.

The record keeps its place: an event naming no ``eventId`` gets the id it would have had on
its first reading, so a replay that runs twice (a crash before the letter was marked) logs its
events once.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from banktwin.errors import ConflictError, NotFoundError, VersionConflictError
from banktwin.ingest.dead_letters import DeadLetter, DeadLetterStore, Status
from banktwin.ingest.record_events import StreamRecord, conflict_errors, read_record
from banktwin.intake import EventIntake, IntakeError
from banktwin.log.port import AppendResult, EventLog


class Replayed(NamedTuple):
    """The letter as now marked, and where its events are in the log."""

    letter: DeadLetter
    results: list[AppendResult]


def replay_dead_letter(
    letter_id: str,
    *,
    log: EventLog,
    dead_letters: DeadLetterStore,
    intake: EventIntake,
    now: datetime,
    max_bytes: int,
    fixed: bytes | None = None,
) -> Replayed:
    """Validate a pending letter's record (or ``fixed``, what should have been sent), append
    its events, and mark it replayed.

    Raises:
        NotFoundError: no such letter.
        ConflictError: it was replayed or discarded before.
        IntakeError: the record is still invalid (its field errors; nothing appended, the
            letter stays pending). A failed ``expectedVersion`` names that field.
        UnavailableError: the log or the table cannot be written.
    """
    letter = dead_letters.get(letter_id)
    if letter is None:
        raise NotFoundError(f"no dead letter {letter_id}")
    if letter.status is not Status.PENDING:
        raise ConflictError(f"dead letter {letter_id} was already {letter.status.value}")
    record = StreamRecord(letter.origin, letter.raw if fixed is None else fixed)
    submission, batch = read_record(intake, record, letter.source, max_bytes)
    try:
        results = log.append(submission.events, expected=submission.expected or None)
    except VersionConflictError as exc:
        raise IntakeError(conflict_errors(exc, submission.events, batch)) from exc
    new = sum(not r.duplicate for r in results)
    what = "a fixed record" if fixed is not None else "the record as received"
    note = f"replayed {what}: {new} event(s) appended, {len(results) - new} already logged"
    return Replayed(dead_letters.resolve(letter_id, Status.REPLAYED, note, now), results)
