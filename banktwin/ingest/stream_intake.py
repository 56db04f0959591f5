"""What every connector does with the records it reads: valid events appended to the log,
invalid records kept in the dead-letter table with the reason, both durably before the
connector moves its position past them.

Records are read together and their events appended in as few writes as their order allows: a
run of records without an ``expectedVersion`` is one append; a record with one is appended on
its own (its check is the log's, atomic with its append), and a failed check dead-letters that
record alone. Events keep the records' order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from banktwin.domain.events import Event
from banktwin.errors import VersionConflictError
from banktwin.ingest.dead_letters import DeadLetter, DeadLetterStore, new_dead_letter
from banktwin.ingest.record_events import (
    RecordEvents,
    StreamRecord,
    conflict_errors,
    give_event_ids,
    parse_record,
    read_value,
)
from banktwin.intake import EventIntake, FieldError, IntakeError, Submission
from banktwin.intake.whole_batch import read_whole_batch
from banktwin.log.port import AppendResult, EventLog
from banktwin.observability.appended_events import count_appended

log = logging.getLogger(__name__)

Reading = RecordEvents | list[FieldError]
SMALLEST_HALF = 16
"""Records the fast path is not retried on in halves: they are read one by one."""


@dataclass
class IntakeTally:
    """What records came to: events new to the log, events it already held, and records
    dead-lettered (new to the table; one read again is not counted twice)."""

    records: int = 0
    appended: int = 0
    duplicates: int = 0
    dead_lettered: int = 0

    def add(self, other: IntakeTally) -> None:
        self.records += other.records
        self.appended += other.appended
        self.duplicates += other.duplicates
        self.dead_lettered += other.dead_lettered


class StreamIntake:
    """Validates records with the API's intake, appends their events, dead-letters the rest."""

    def __init__(
        self,
        log: EventLog,
        dead_letters: DeadLetterStore,
        intake: EventIntake,
        *,
        source: str,
        clock: Callable[[], datetime],
        max_future_skew: timedelta,
        max_record_bytes: int,
    ) -> None:
        """
        Args:
            source: the connector's name: the source of events that name none, and of its
                dead letters.
            clock: receipt time (aware).
            max_future_skew: as the intake's (the fast path checks ``occurredAt`` with it).
            max_record_bytes: a bigger record is dead-lettered unread.
        """
        self._log = log
        self._dead_letters = dead_letters
        self._intake = intake
        self.source = source
        self._clock = clock
        self._skew = max_future_skew
        self._max_bytes = max_record_bytes

    def take(self, records: Sequence[StreamRecord]) -> IntakeTally:
        """Append the records' valid events and keep the invalid records, durably.

        Raises:
            UnavailableError: the log or the table cannot be written; take the same records
                again (what was written is not written twice).
        """
        tally = IntakeTally(records=len(records))
        letters: list[DeadLetter] = []
        run: list[Event] = []
        now = self._clock()
        for record, reading in zip(records, self._read_all(records, now), strict=True):
            if isinstance(reading, list):
                letters.append(self._letter(record, reading, now))
                continue
            submission, batch = reading
            if not submission.expected:
                run.extend(submission.events)
                continue
            self._append(run, tally)
            run = []
            try:
                self._append(submission.events, tally, submission.expected)
            except VersionConflictError as exc:
                errors = conflict_errors(exc, submission.events, batch)
                letters.append(self._letter(record, errors, now))
        self._append(run, tally)
        if letters:
            tally.dead_lettered = self._dead_letters.add(letters)
            log.info(
                "%s: %d record(s) dead-lettered, first %s: %s",
                self.source,
                len(letters),
                letters[0].origin.describe(),
                letters[0].errors[0].message,
            )
        return tally

    def _read_all(self, records: Sequence[StreamRecord], now: datetime) -> list[Reading]:
        """Each record's events or field errors; the records of one event without an
        ``expectedVersion`` validated together when all of them are valid (the intake's
        batch fast path gives the same events)."""
        values: dict[int, Any] = {}
        refused: dict[int, list[FieldError]] = {}
        for index, record in enumerate(records):
            try:
                value = parse_record(record.value, self._max_bytes)
            except IntakeError as error:
                refused[index] = error.errors
                continue
            values[index] = give_event_ids(value, self.source, record.origin)
        singles = [
            i for i, v in values.items() if isinstance(v, dict) and v.get("expectedVersion") is None
        ]
        fast = self._read_together(singles, values, now)
        readings: list[Reading] = []
        for index in range(len(records)):
            if index in refused:
                readings.append(refused[index])
            elif index in fast:
                readings.append(RecordEvents(Submission([fast[index]], {}), False))
            else:
                readings.append(self._read_one(values[index]))
        return readings

    def _read_together(
        self, indexes: list[int], values: dict[int, Any], now: datetime
    ) -> dict[int, Event]:
        """The events of the records at ``indexes`` (one event each) that the intake's batch
        fast path takes; the others are left to the reference reading. A batch it declines is
        halved until the halves are small, so one bad record among a thousand costs a few
        fast passes and a few records read one by one, not a thousand."""
        if len(indexes) < 2:
            return {}
        whole = read_whole_batch(
            [values[i] for i in indexes], source=self.source, now=now, max_future_skew=self._skew
        )
        if whole is not None:
            return dict(zip(indexes, whole.events, strict=True))
        if len(indexes) <= SMALLEST_HALF:
            return {}
        middle = len(indexes) // 2
        return {
            **self._read_together(indexes[:middle], values, now),
            **self._read_together(indexes[middle:], values, now),
        }

    def _read_one(self, value: Any) -> Reading:
        try:
            return read_value(self._intake, value, self.source)
        except IntakeError as error:
            return error.errors

    def _append(
        self, events: list[Event], tally: IntakeTally, expected: dict[str, int] | None = None
    ) -> None:
        if not events:
            return
        results: list[AppendResult] = self._log.append(events, expected=expected)
        duplicates = sum(r.duplicate for r in results)
        tally.appended += len(results) - duplicates
        tally.duplicates += duplicates
        count_appended(events, results, self.source)

    def _letter(self, record: StreamRecord, errors: list[FieldError], now: datetime) -> DeadLetter:
        return new_dead_letter(self.source, record.origin, record.value or b"", errors, now)
