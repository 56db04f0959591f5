"""The intake: producers' JSON in, validated events out, for every transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from banktwin.domain.events import Event, SubjectKind
from banktwin.intake.envelope import SubjectScope
from banktwin.intake.errors import FieldError, IntakeError
from banktwin.intake.event_reader import EventReader
from banktwin.intake.expectations import expected_before
from banktwin.intake.json_input import parse_json, parse_ndjson
from banktwin.intake.whole_batch import WholeBatch, read_whole_batch

MAX_REPORTED_ERRORS = 50
"""A batch's errors reported at most (reading stops there)."""


class Submission(NamedTuple):
    """What one request (or message) submits, validated: append it with
    ``log.append(events, expected=expected)``."""

    events: list[Event]
    expected: dict[str, int]
    """Per subject id, the version the subject must be at before the first of its events
    here (only subjects whose events name an ``expectedVersion``)."""


class EventIntake:
    """Turns producers' JSON into events: one event, or an all-or-nothing batch."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        max_future_skew: timedelta,
        *,
        where_to_send: Mapping[SubjectKind, str] | None = None,
    ) -> None:
        """
        Args:
            clock: the current time (aware): receipt time, and what ``occurredAt`` is checked
                against.
            max_future_skew: how far ahead of the clock an ``occurredAt`` may be.
            where_to_send: per kind of subject, where its events are taken, for the error when
                an event does not fit the scope it was sent to (the HTTP API gives its paths).
        """
        self._clock = clock
        self._skew = max_future_skew
        self._reader = EventReader(clock, max_future_skew, where_to_send)

    def event_from_json(
        self, data: bytes, *, source: str, scope: SubjectScope | None = None
    ) -> Submission:
        """One event from its JSON text.

        Args:
            data: the JSON object of one event.
            source: the source of the event if it names none (the producer's id).
            scope: the subject the transport names, if any.

        Raises:
            IntakeError: an invalid field (the first found), or a NUL character.
            MalformedJsonError: ``data`` is not JSON.
        """
        return self.event_from_value(parse_json(data), source=source, scope=scope)

    def event_from_value(
        self, raw: Any, *, source: str, scope: SubjectScope | None = None
    ) -> Submission:
        """One event from its parsed JSON (numbers with a fraction as ``Decimal``); as
        :meth:`event_from_json`."""
        event, expected = self._reader.read(raw, scope=scope, source=source)
        return Submission([event], {} if expected is None else {event.subject_id: expected})

    def batch_from_json(self, data: bytes, *, source: str) -> Submission:
        """A batch from a JSON array of events, every one naming its ``subjectId``.

        Raises:
            IntakeError: every invalid field (up to 50; the first of each event), or an
                inconsistent ``expectedVersion``; nothing of the batch may be logged.
            MalformedJsonError: ``data`` is not JSON.
        """
        return self._batch(parse_json(data), source)

    def batch_from_ndjson(self, data: bytes, *, source: str) -> Submission:
        """A batch from newline-delimited JSON, one event per line; as
        :meth:`batch_from_json` (a line that is not JSON is named by its number)."""
        return self._batch(parse_ndjson(data), source)

    def batch_from_values(self, items: Any, *, source: str) -> Submission:
        """A batch from its parsed JSON (a list of events); as :meth:`batch_from_json`."""
        return self._batch(items, source)

    def _batch(self, items: Any, source: str) -> Submission:
        if not isinstance(items, list):
            raise IntakeError([FieldError("body", "send a JSON array of events (or NDJSON)")])
        if not items:
            raise IntakeError([FieldError("body", "the batch holds no events")])
        now = self._clock()
        what = f"batch ({len(items)} events, none logged)"
        batch = read_whole_batch(items, source=source, now=now, max_future_skew=self._skew)
        if batch is None:
            batch = self._read_each(items, source, now, what)
        return Submission(batch.events, expected_before(batch.events, batch.expectations, what))

    def _read_each(self, items: list[Any], source: str, now: datetime, what: str) -> WholeBatch:
        events: list[Event] = []
        expectations: dict[int, int] = {}
        errors: list[FieldError] = []
        for index, raw in enumerate(items):
            try:
                event, expected = self._reader.read(
                    raw, prefix=f"[{index}]", source=source, now=now
                )
            except IntakeError as error:
                errors.extend(error.errors)
                if len(errors) >= MAX_REPORTED_ERRORS:
                    break
                continue
            events.append(event)
            if expected is not None:
                expectations[index] = expected
        if errors:
            raise IntakeError(errors[:MAX_REPORTED_ERRORS], what)
        return WholeBatch(events, expectations)
