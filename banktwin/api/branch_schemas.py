"""Branches on the wire: the list (``GET /v1/branches``) and a branch's day
(``GET /v1/branches/{branchId}/day``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from banktwin.api.schemas import OccupancyPublic, Public


class QueueSummaryPublic(Public):
    service: str
    available: bool
    length: int = Field(description="Customers waiting for the service.")
    estimated_wait_minutes: float = Field(
        description="Wait of a customer joining now: the people ahead divided by the staff "
        "able to serve, times the service's average handling time."
    )


class BranchSummaryPublic(Public):
    """What the list of branches shows of each."""

    branch_id: str
    name: str | None
    city: str | None
    country: str | None
    is_open: bool
    staff_on_duty: int
    customers_waiting: int
    longest_wait_minutes: float = Field(
        description="How long the customer waiting longest has waited, at the time of the read."
    )
    queues: list[QueueSummaryPublic]
    occupancy: OccupancyPublic
    last_updated: datetime


class HourOfDayPublic(Public):
    hour: str = Field(description="The UTC hour.", examples=["2026-11-30T09"])
    joined: int
    served: int
    abandoned: int
    mean_wait_minutes: float | None = Field(
        description="Mean wait of the customers served in the hour (null: none with a known join)."
    )
    peak_queue: int = Field(description="The most customers waiting at once in the hour.")
    staff_check_ins: int
    staff_check_outs: int


class ServiceOfDayPublic(Public):
    service: str
    joined: int
    served: int
    abandoned: int
    mean_wait_minutes: float | None
    longest_wait_minutes: float | None


class BranchDayPublic(Public):
    """A branch's day so far (UTC), from its own events."""

    branch_id: str
    day: date
    until: datetime = Field(
        description="The figures cover the day's events up to this time: the day's end for a "
        "past day, the time of the read for today."
    )
    opened_at: datetime | None = Field(description="The day's first opening.")
    closed_at: datetime | None = Field(description="The day's last closing.")
    joined: int = Field(description="Customers who joined a queue.")
    served: int
    abandoned: int
    mean_wait_minutes: float | None = Field(
        description="Mean wait, join to service, of the customers served (null: none)."
    )
    longest_wait_minutes: float | None
    peak_queue: int = Field(description="The most customers waiting at once (all services).")
    peak_queue_at: datetime | None
    waiting_at_until: int = Field(description="Customers still waiting at `until`.")
    staff_check_ins: int
    staff_check_outs: int
    peak_staff: int = Field(description="The most staff on duty at once.")
    services: list[ServiceOfDayPublic]
    hours: list[HourOfDayPublic] = Field(
        description="Every hour from midnight to the hour of `until`, in order."
    )
