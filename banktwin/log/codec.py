"""How events are written to and read from storage (shared by every log adapter)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError

from banktwin.domain.events import EVENT_TYPES, Event
from banktwin.domain.payloads.common import Payload
from banktwin.domain.upcasting import upcast
from banktwin.log.stored_payloads import StoredPayloadDecoder, StoredPayloadError


def utc_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC, so text order is time order (SQLite compares text)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def encode_payload(payload: Payload) -> bytes:
    """The payload's JSON wire form (camelCase, money as exact decimal strings).

    Only the fields that were set are written: for a partial update (profile, consent) a field
    given as ``null`` (clear it) must stay distinct from a field not given (keep it).
    """
    return payload.__pydantic_serializer__.to_json(payload, exclude_unset=True)


_CURRENT: dict[str, tuple[int, Callable[[bytes | str], Payload]]] = {
    name: (spec.version, StoredPayloadDecoder(spec.payload).decode)
    for name, spec in EVENT_TYPES.items()
}
"""Per type, its current version and the fast decoder of a payload stored at that version."""


def decode_payload(event_type: str, version: int, data: bytes | str) -> Payload:
    """The typed payload of a stored event, at the type's current version.

    A payload stored at the current version is not validated again (see ``stored_payloads``).
    One stored at an older version is upcast (``banktwin.domain.upcasting``) and the result
    validated with the current model: the log is never rewritten.

    Raises:
        ValueError: the type or version is unknown to this build (a newer writer?), or the
            payload does not fit its model.
    """
    current = _CURRENT.get(event_type)
    if current is None:
        raise ValueError(f"event type {event_type!r} is unknown to this version of banktwin")
    if version == current[0]:
        return current[1](data)
    return _decode_older(event_type, version, data)


def _decode_older(event_type: str, version: int, data: bytes | str) -> Payload:
    where = f"{event_type} version {version}"
    try:
        # Parsed as the edge parses a posted payload: numbers with a fraction exactly (Decimal).
        parsed = json.loads(data, parse_float=Decimal)
    except ValueError as exc:
        raise StoredPayloadError(f"{where}: not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise StoredPayloadError(f"{where}: a payload is a JSON object, not {parsed!r}")
    payload = upcast(event_type, version, parsed)
    try:
        return EVENT_TYPES[event_type].payload.model_validate(payload)
    except ValidationError as exc:
        current = EVENT_TYPES[event_type].version
        reasons = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'payload'}: {error['msg']}"
            for error in exc.errors()
        )
        raise StoredPayloadError(f"{where}, upcast to {current}: {reasons}") from None


def upcast_event(event: Event) -> Event:
    """``event`` at its type's current version: itself if it is, else a copy with its payload
    upcast, as storing it and reading it back gives (for a log that keeps events as objects).

    Raises:
        ValueError: as :func:`decode_payload`.
    """
    current = _CURRENT.get(event.type)
    if current is not None and event.version == current[0]:
        return event
    payload = decode_payload(event.type, event.version, encode_payload(event.payload))
    return replace(event, payload=payload, version=EVENT_TYPES[event.type].version)


def _slot_setter(name: str) -> Callable[[Event, Any], None]:
    return cast(Callable[[Event, Any], None], Event.__dict__[name].__set__)


# An Event is built for every event a projector reads. The dataclass __init__ of a frozen
# class assigns each field through object.__setattr__ (0.9 µs for an Event); setting the slots
# directly gives the same object in half the time.
_new_event = object.__new__
_set_event_id = _slot_setter("event_id")
_set_type = _slot_setter("type")
_set_subject_id = _slot_setter("subject_id")
_set_occurred_at = _slot_setter("occurred_at")
_set_payload = _slot_setter("payload")
_set_source = _slot_setter("source")
_set_version = _slot_setter("version")
_set_recorded_at = _slot_setter("recorded_at")


def decode_event(
    event_id: str,
    event_type: str,
    version: int,
    subject_id: str,
    occurred_at: datetime,
    recorded_at: datetime,
    source: str,
    payload: bytes | str,
) -> Event:
    """The event a stored row holds, at its type's current version (its payload typed and, if
    stored at an older version, upcast: see :func:`decode_payload`)."""
    current = _CURRENT.get(event_type)
    if current is not None and version == current[0]:
        decoded = current[1](payload)
    else:
        decoded = decode_payload(event_type, version, payload)
        version = EVENT_TYPES[event_type].version
    event = _new_event(Event)
    _set_event_id(event, event_id)
    _set_type(event, event_type)
    _set_subject_id(event, subject_id)
    _set_occurred_at(event, occurred_at)
    _set_payload(event, decoded)
    _set_source(event, source)
    _set_version(event, version)
    _set_recorded_at(event, recorded_at)
    return event
