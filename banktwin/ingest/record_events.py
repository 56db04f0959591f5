"""One record of a stream or a file, read as events: the JSON ``POST /v1/events`` takes (one
event, or an array of them as an all-or-nothing batch), validated by the API's own intake.

An event that names no ``eventId`` gets one fixed by the record's place
(:func:`~banktwin.ingest.dead_letters.streamed_event_id`): a record read again after a crash,
or replayed from the dead-letter table, is logged once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from banktwin.domain.events import Event
from banktwin.errors import VersionConflictError
from banktwin.ingest.dead_letters import Origin, streamed_event_id
from banktwin.intake import EventIntake, FieldError, IntakeError, MalformedJsonError, Submission
from banktwin.intake.json_input import parse_json


class StreamRecord(NamedTuple):
    """A record as a connector read it: where, and its bytes (``None``: it has no value)."""

    origin: Origin
    value: bytes | None


class RecordEvents(NamedTuple):
    """A record's validated events; ``batch`` when it was a JSON array."""

    submission: Submission
    batch: bool


def parse_record(value: bytes | None, max_bytes: int) -> Any:
    """The JSON value of a record (numbers with a fraction as ``Decimal``).

    Raises:
        IntakeError: naming ``body``: no value, too big, not JSON, or a NUL character.
    """
    if not value:
        raise IntakeError([FieldError("body", "the record is empty: send one event as JSON")])
    if len(value) > max_bytes:
        raise IntakeError(
            [FieldError("body", f"the record has {len(value):,} bytes; at most {max_bytes:,}")]
        )
    try:
        return parse_json(value)
    except MalformedJsonError as exc:
        raise IntakeError([FieldError("body", str(exc))]) from None


def give_event_ids(value: Any, source: str, origin: Origin) -> Any:
    """``value`` with an ``eventId`` fixed by the record's place set on each event that names
    none (in place; what is not an object is left for the intake to refuse)."""
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("eventId") is None:
            item["eventId"] = streamed_event_id(source, origin, index)
    return value


def read_value(intake: EventIntake, value: Any, source: str) -> RecordEvents:
    """A parsed record's events (ids already given).

    Raises:
        IntakeError: the record's field errors (a batch's as ``[i].field``).
    """
    if isinstance(value, list):
        return RecordEvents(intake.batch_from_values(value, source=source), True)
    return RecordEvents(intake.event_from_value(value, source=source), False)


def read_record(
    intake: EventIntake, record: StreamRecord, source: str, max_bytes: int
) -> RecordEvents:
    """A record's events, as :func:`parse_record` then :func:`read_value`.

    Raises:
        IntakeError: why the record cannot be logged, field by field.
    """
    value = give_event_ids(parse_record(record.value, max_bytes), source, record.origin)
    return read_value(intake, value, source)


def conflict_errors(
    error: VersionConflictError, events: Sequence[Event], batch: bool
) -> list[FieldError]:
    """A failed ``expectedVersion`` as a field error: of the record's first event about the
    subject that moved."""
    if not batch:
        return [FieldError("expectedVersion", str(error))]
    index = next((i for i, e in enumerate(events) if e.subject_id == error.subject_id), 0)
    return [FieldError(f"[{index}].expectedVersion", str(error))]
