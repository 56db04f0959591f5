"""The connectors' dead letters on the wire (``GET /v1/admin/dead-letters``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from banktwin.api.schemas import Public


class DeadLetterOriginPublic(Public):
    """Where the record was read: a topic's partition and offset, or a file's line."""

    stream: str = Field(description="The topic, or the file.")
    partition: int | None = Field(description="The partition (none for a file).")
    position: int = Field(description="The offset in the partition, or the line (from 1).")
    described: str = Field(examples=["payments[2]@1500"])


class FieldErrorPublic(Public):
    """One reason the intake refused the record: the field and what is wrong with it."""

    field: str = Field(examples=["payload.amount"])
    message: str


class DeadLetterPublic(Public):
    """A record a connector refused, as received, with the reason."""

    id: str = Field(description="Fixed by the connector's source name and the origin.")
    source: str = Field(description="The connector that read it.", examples=["payments"])
    origin: DeadLetterOriginPublic
    raw: str | None = Field(description="The record as received, if it is UTF-8 text.")
    raw_base64: str = Field(description="The record's bytes as received, in base64.")
    errors: list[FieldErrorPublic]
    received_at: datetime
    status: Literal["pending", "replayed", "discarded"]
    resolved_at: datetime | None
    note: str | None = Field(description="Why it was discarded, or what its replay appended.")
