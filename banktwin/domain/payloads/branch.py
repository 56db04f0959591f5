"""Payloads of branch and queue events."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from banktwin.domain.payloads.common import Identifier, Location, Payload, ShortText
from banktwin.domain.payloads.customer import Address

ServiceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["teller"])]
"""A branch service (``teller``, ``advisory``, ``loans``, ``cash_deposit`` …)."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$"


class BranchService(Payload):
    service: ServiceName
    avg_handling_minutes: float = Field(8.0, gt=0, le=480)


class BranchOpened(Payload):
    """The branch opens for business. The first one also registers the branch's details;
    later ones (each morning) may omit them or send changes."""

    name: ShortText | None = None
    address: Address | None = None
    location: Location | None = None
    open_hours: dict[str, Annotated[str, Field(pattern=HOURS_PATTERN)]] | None = Field(
        None, examples=[{"mon": "09:00-17:00", "sat": "10:00-13:00"}]
    )
    services: list[BranchService] | None = None
    capacity: int | None = Field(None, gt=0, le=10_000)

    @field_validator("open_hours")
    @classmethod
    def _known_weekdays(cls, hours: dict[str, str] | None) -> dict[str, str] | None:
        if hours is not None:
            unknown = sorted(set(hours) - set(WEEKDAYS))
            if unknown:
                raise ValueError(
                    f"unknown weekday {unknown[0]!r}; use one of {', '.join(WEEKDAYS)}"
                )
        return hours


class BranchClosed(Payload):
    reason: ShortText | None = None


class StaffCheckedIn(Payload):
    staff_id: Identifier
    services: list[ServiceName] = Field(default_factory=list)


class StaffCheckedOut(Payload):
    staff_id: Identifier


class ServiceAvailabilityChanged(Payload):
    service: ServiceName
    available: bool
    reason: ShortText | None = None


class QueueJoined(Payload):
    ticket_id: Identifier
    service: ServiceName
    customer_id: Identifier | None = None


class QueueServed(Payload):
    ticket_id: Identifier
    staff_id: Identifier | None = None


class QueueAbandoned(Payload):
    ticket_id: Identifier
