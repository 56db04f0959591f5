"""Turn request bodies into validated events, or a 400 naming every bad field.

Nothing reaches the log before the whole request has validated: a batch is all-or-nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from banktwin.api.problems import FieldError, Problem, field_errors, invalid
from banktwin.domain.events import EVENT_TYPES, Event, SubjectKind
from banktwin.domain.ids import new_event_id
from banktwin.domain.payloads.common import canonical_uuid

SUBJECT_EVENTS_PATHS = {
    SubjectKind.CUSTOMER: "/v1/customers/{id}/events",
    SubjectKind.BRANCH: "/v1/branches/{id}/events",
    SubjectKind.LOAN: "/v1/branches/{id}/events",  # with the application's subjectId
}
"""Where each kind of subject's events are posted one at a time (any kind: ``/v1/events``)."""


class EventIn(BaseModel):
    """An event as a client posts it."""

    model_config = ConfigDict(extra="forbid")

    eventId: uuid.UUID | None = Field(  # noqa: N815 - wire names are camelCase
        None, description="Idempotency key: posting the same id again changes nothing."
    )
    type: str = Field(examples=["transaction.posted"])
    version: int | None = Field(None, description="Schema version; defaults to the current.")
    subjectId: str | None = Field(  # noqa: N815
        None, description="Required in POST /events, and for loan events (the application id)."
    )
    occurredAt: AwareDatetime | None = Field(  # noqa: N815
        None, description="When it happened (ISO 8601 with offset); defaults to receipt time."
    )
    source: str | None = Field(None, min_length=1, max_length=100, examples=["core-banking"])
    payload: dict[str, Any]


def _refuse_nul(body: bytes) -> None:
    # PostgreSQL cannot store U+0000 in text; refusing it here keeps the log portable.
    if b"\\u0000" in body or b"\x00" in body:
        raise invalid([FieldError("body", "NUL characters (\\u0000) are not allowed")])


def parse_json(body: bytes) -> Any:
    """JSON with every number that has a fraction parsed as an exact ``Decimal``."""
    _refuse_nul(body)
    try:
        return json.loads(body, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            f"the body is not valid JSON: {exc}",
            type="/problems/malformed-json",
            title="Malformed JSON",
        ) from exc


def parse_ndjson(body: bytes) -> list[Any]:
    _refuse_nul(body)
    items = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line, parse_float=Decimal))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Problem(
                400,
                f"line {number} is not valid JSON: {exc}",
                type="/problems/malformed-json",
                title="Malformed JSON",
            ) from exc
    return items


class EventReader:
    """Validates posted events against the vocabulary and the rules of the endpoint."""

    def __init__(self, clock: Callable[[], datetime], max_future_skew: timedelta) -> None:
        self._clock = clock
        self._skew = max_future_skew

    def read(
        self,
        raw: Any,
        *,
        prefix: str = "",
        path_subject: tuple[SubjectKind, str] | None = None,
        default_source: str = "api",
    ) -> Event:
        """One event from its parsed JSON.

        Args:
            raw: the parsed JSON of one event.
            prefix: field-path prefix for error messages (``[3]`` inside a batch).
            path_subject: the subject named by the URL; events of that kind take it as their
                subject, loan events name their application in ``subjectId``.

        Raises:
            Problem: 400 naming the field and what is wrong with it.
        """
        if not isinstance(raw, dict):
            raise invalid([FieldError(prefix or "body", "an event must be a JSON object")])
        try:
            envelope = EventIn.model_validate(raw)
        except ValidationError as exc:
            raise invalid(field_errors(exc.errors(), prefix)) from exc
        spec = EVENT_TYPES.get(envelope.type)
        where = (prefix + ".") if prefix else ""
        if spec is None:
            raise invalid(
                [
                    FieldError(
                        f"{where}type",
                        f"unknown event type {envelope.type!r}; see GET /v1/event-types",
                    )
                ]
            )
        if spec.projector_only:
            raise invalid(
                [
                    FieldError(
                        f"{where}type", f"{spec.type} is derived by the twin and cannot be posted"
                    )
                ]
            )
        if envelope.version is not None and envelope.version != spec.version:
            raise invalid(
                [
                    FieldError(
                        f"{where}version",
                        f"{spec.type} has version "
                        f"{spec.version}; {envelope.version} is not supported",
                    )
                ]
            )
        subject_id = self._subject(envelope, spec.subject, path_subject, where)
        payload_raw = dict(envelope.payload)
        if path_subject is not None and spec.type == "loan.submitted":
            kind, path_id = path_subject
            field = "customerId" if kind is SubjectKind.CUSTOMER else "branchId"
            given = payload_raw.setdefault(field, path_id)
            if isinstance(given, str) and given.lower() != path_id:
                raise invalid(
                    [
                        FieldError(
                            f"{where}payload.{field}",
                            f"must be the {kind.value} of the URL, {path_id}",
                        )
                    ]
                )
        try:
            payload = spec.payload.model_validate(payload_raw)
        except ValidationError as exc:
            raise invalid(field_errors(exc.errors(), f"{where}payload")) from exc
        now = self._clock()
        occurred = envelope.occurredAt or now
        if occurred > now + self._skew:
            raise invalid(
                [
                    FieldError(
                        f"{where}occurredAt", "is in the future; send the time the event happened"
                    )
                ]
            )
        return Event(
            event_id=str(envelope.eventId) if envelope.eventId else new_event_id(),
            type=spec.type,
            subject_id=subject_id,
            occurred_at=occurred,
            payload=payload,
            source=envelope.source or default_source,
            version=spec.version,
        )

    @staticmethod
    def _subject(
        envelope: EventIn,
        kind: SubjectKind,
        path_subject: tuple[SubjectKind, str] | None,
        where: str,
    ) -> str:
        if path_subject is not None and kind is path_subject[0]:
            path_kind, path_id = path_subject
            if envelope.subjectId is not None and _uuid_or_none(envelope.subjectId) != path_id:
                raise invalid(
                    [
                        FieldError(
                            f"{where}subjectId",
                            f"must be the {path_kind.value} of the URL, {path_id}",
                        )
                    ]
                )
            return path_id
        if path_subject is not None and kind is not SubjectKind.LOAN:
            raise invalid(
                [
                    FieldError(
                        f"{where}type",
                        f"{envelope.type} is a {kind.value} event; "
                        f"post it to {SUBJECT_EVENTS_PATHS[kind]} or /v1/events",
                    )
                ]
            )
        if envelope.subjectId is None:
            what = (
                "the loan application's id" if kind is SubjectKind.LOAN else f"the {kind.value} id"
            )
            raise invalid([FieldError(f"{where}subjectId", f"is required: {what} (a UUID)")])
        subject = _uuid_or_none(envelope.subjectId)
        if subject is None:
            raise invalid([FieldError(f"{where}subjectId", "must be a UUID")])
        return subject


def _uuid_or_none(text: str) -> str | None:
    try:
        return canonical_uuid(text)
    except ValueError:
        return None
