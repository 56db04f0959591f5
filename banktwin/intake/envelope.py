"""The event envelope as producers send it, and the subject a transport may name for it."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from banktwin.domain.events import Event, SubjectKind


class EventIn(BaseModel):
    """An event as a client posts it."""

    model_config = ConfigDict(extra="forbid")

    eventId: uuid.UUID | None = Field(  # noqa: N815 - wire names are camelCase
        None, description="Idempotency key: posting the same id again changes nothing."
    )
    type: str = Field(examples=["transaction.posted"])
    version: int | None = Field(
        None,
        description="Schema version of the payload; defaults to the current. An older version "
        "is upcast to the current one (GET /v1/event-types lists them).",
    )
    subjectId: str | None = Field(  # noqa: N815
        None, description="Required in POST /events, and for loan events (the application id)."
    )
    occurredAt: AwareDatetime | None = Field(  # noqa: N815
        None, description="When it happened (ISO 8601 with offset); defaults to receipt time."
    )
    source: str | None = Field(None, min_length=1, max_length=100, examples=["core-banking"])
    expectedVersion: int | None = Field(  # noqa: N815
        None,
        ge=0,
        description="The version of the subject (how many events of it are logged; the "
        "`version` its twin shows) the event was decided on. It is logged only if the subject "
        "is still at that version: otherwise 409 version-conflict, and nothing is logged. In a "
        "batch, each later event of the same subject expects one more.",
    )
    payload: dict[str, Any]


class SubjectScope(NamedTuple):
    """The subject a transport names for its events (a URL's customer or branch, a topic's
    key): events of that kind take it as their subject; loan events still name their
    application in ``subjectId``."""

    kind: SubjectKind
    subject_id: str
    named_by: str
    """What names it, for error messages: ``the URL``."""


class PostedEvent(NamedTuple):
    """A validated event and the version of its subject it expects, if it names one."""

    event: Event
    expected_version: int | None
