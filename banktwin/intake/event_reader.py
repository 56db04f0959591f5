"""One event at a time, every rule in order: the reference reading of a posted event.

Its errors are the ones clients see (the first failing rule of each event, naming the field).
A batch's fast path (``whole_batch``) must give the same events or step aside for this one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from banktwin.domain.events import EVENT_TYPES, Event, EventSpec, SubjectKind
from banktwin.domain.ids import new_event_id
from banktwin.domain.payloads.common import canonical_uuid
from banktwin.intake.envelope import EventIn, PostedEvent, SubjectScope
from banktwin.intake.errors import FieldError, IntakeError
from banktwin.intake.field_errors import field_errors
from banktwin.intake.versions import current_payload


def _refuse(field: str, message: str) -> IntakeError:
    return IntakeError([FieldError(field, message)])


class EventReader:
    """Validates events against the vocabulary, the subject rules and the clock."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        max_future_skew: timedelta,
        where_to_send: Mapping[SubjectKind, str] | None = None,
    ) -> None:
        """
        Args:
            clock: the current time (aware).
            max_future_skew: how far ahead of ``clock`` an ``occurredAt`` may be.
            where_to_send: per kind of subject, where its events are taken (for the error when
                an event's subject is not the kind the scope names), e.g. a URL.
        """
        self._clock = clock
        self._skew = max_future_skew
        self._where_to_send = dict(where_to_send or {})

    def read(
        self,
        raw: Any,
        *,
        prefix: str = "",
        scope: SubjectScope | None = None,
        source: str,
        now: datetime | None = None,
    ) -> PostedEvent:
        """One event from its parsed JSON (numbers with a fraction as ``Decimal``).

        Args:
            raw: the parsed JSON of one event.
            prefix: field-path prefix for errors (``[3]`` inside a batch).
            scope: the subject the transport names; events of its kind take it as their
                subject, loan events name their application in ``subjectId``.
            source: the source of an event that does not name one (the producer's id).
            now: the time of receipt (default: the clock's).

        Raises:
            IntakeError: naming the first bad field and what is wrong with it.
        """
        if not isinstance(raw, dict):
            raise _refuse(prefix or "body", "an event must be a JSON object")
        try:
            envelope = EventIn.model_validate(raw)
        except ValidationError as exc:
            raise IntakeError(field_errors(exc.errors(), prefix)) from exc
        where = (prefix + ".") if prefix else ""
        spec = self._postable_spec(envelope.type, where)
        payload_raw = current_payload(spec, envelope.version, dict(envelope.payload), where)
        subject_id = self._subject(envelope, spec.subject, scope, where)
        if scope is not None and spec.type == "loan.submitted":
            payload_raw = _filed_from(scope, payload_raw, where)
        try:
            payload = spec.payload.model_validate(payload_raw)
        except ValidationError as exc:
            raise IntakeError(field_errors(exc.errors(), f"{where}payload")) from exc
        now = now or self._clock()
        occurred = envelope.occurredAt or now
        if occurred > now + self._skew:
            raise _refuse(
                f"{where}occurredAt", "is in the future; send the time the event happened"
            )
        event = Event(
            event_id=new_event_id() if envelope.eventId is None else str(envelope.eventId),
            type=spec.type,
            subject_id=subject_id,
            occurred_at=occurred,
            payload=payload,
            source=envelope.source or source,
            version=spec.version,
        )
        return PostedEvent(event, envelope.expectedVersion)

    @staticmethod
    def _postable_spec(event_type: str, where: str) -> EventSpec:
        spec = EVENT_TYPES.get(event_type)
        if spec is None:
            raise _refuse(
                f"{where}type", f"unknown event type {event_type!r}; see GET /v1/event-types"
            )
        if spec.projector_only:
            raise _refuse(
                f"{where}type", f"{spec.type} is derived by the twin and cannot be posted"
            )
        return spec

    def _subject(
        self, envelope: EventIn, kind: SubjectKind, scope: SubjectScope | None, where: str
    ) -> str:
        if scope is not None and kind is scope.kind:
            if (
                envelope.subjectId is not None
                and _uuid_or_none(envelope.subjectId) != scope.subject_id
            ):
                raise _refuse(f"{where}subjectId", _must_be_scope(scope))
            return scope.subject_id
        if scope is not None and kind is not SubjectKind.LOAN:
            elsewhere = self._where_to_send.get(kind)
            hint = (
                f"; post it to {elsewhere}"
                if elsewhere
                else f", not about the {scope.kind.value} {scope.named_by} names"
            )
            raise _refuse(f"{where}type", f"{envelope.type} is a {kind.value} event{hint}")
        if envelope.subjectId is None:
            what = (
                "the loan application's id" if kind is SubjectKind.LOAN else f"the {kind.value} id"
            )
            raise _refuse(f"{where}subjectId", f"is required: {what} (a UUID)")
        subject = _uuid_or_none(envelope.subjectId)
        if subject is None:
            raise _refuse(f"{where}subjectId", "must be a UUID")
        return subject


def _filed_from(scope: SubjectScope, payload: dict[str, Any], where: str) -> dict[str, Any]:
    """A loan application's payload with the customer or branch of the scope it was filed
    under (given in the payload, it must be that one)."""
    field = "customerId" if scope.kind is SubjectKind.CUSTOMER else "branchId"
    given = payload.setdefault(field, scope.subject_id)
    if isinstance(given, str) and given.lower() != scope.subject_id:
        raise _refuse(f"{where}payload.{field}", _must_be_scope(scope))
    return payload


def _must_be_scope(scope: SubjectScope) -> str:
    return f"must be the {scope.kind.value} of {scope.named_by}, {scope.subject_id}"


def _uuid_or_none(text: str) -> str | None:
    try:
        return canonical_uuid(text)
    except ValueError:
        return None
