"""How events are written to and read from storage (shared by every log adapter)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from banktwin.domain.events import EVENT_TYPES, Event
from banktwin.domain.payloads.common import Payload
from banktwin.log.stored_payloads import StoredPayloadDecoder


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


_DECODERS = {name: StoredPayloadDecoder(spec.payload) for name, spec in EVENT_TYPES.items()}


def decode_payload(event_type: str, version: int, data: bytes | str) -> Payload:
    """The typed payload of a stored event (not validated again: see ``stored_payloads``).

    Raises:
        ValueError: the type or version is unknown to this build (a newer writer?), or the
            payload does not fit its model.
    """
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise ValueError(f"event type {event_type!r} is unknown to this version of banktwin")
    if version != spec.version:
        raise ValueError(f"{event_type} version {version} is not supported (have {spec.version})")
    return _DECODERS[event_type].decode(data)


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
    """The event a stored row holds (its payload typed, see :func:`decode_payload`)."""
    decoded = decode_payload(event_type, version, payload)
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
