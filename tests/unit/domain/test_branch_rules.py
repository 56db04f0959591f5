"""Branch rules: opening, staff, service availability, queues and wait times."""

from __future__ import annotations

from banktwin.domain.branch import BranchTwin, estimated_wait_minutes, occupancy, queue_id, queues
from banktwin.domain.events import Event
from banktwin.domain.twin import fold
from tests.factories import event, new_id

BID = new_id()


def branch(*events: Event) -> BranchTwin:
    twin = fold(events)
    assert isinstance(twin, BranchTwin)
    return twin


OPENED = event(
    "branch.opened",
    BID,
    {
        "name": "Main St",
        "capacity": 10,
        "location": {"country": "DE", "city": "Berlin", "latitude": 52.5, "longitude": 13.4},
        "openHours": {"mon": "09:00-17:00", "sat": "10:00-13:00"},
        "services": [
            {"service": "teller", "avgHandlingMinutes": 6},
            {"service": "advisory", "avgHandlingMinutes": 30},
        ],
    },
)


def joined(ticket: str, service: str = "teller", minutes: float = 0) -> Event:
    return event("queue.joined", BID, {"ticketId": ticket, "service": service}, minutes=minutes)


def test_opening_registers_details_and_a_later_opening_keeps_them() -> None:
    b = branch(
        OPENED, event("branch.closed", BID, minutes=60), event("branch.opened", BID, minutes=120)
    )
    assert b.is_open and b.name == "Main St" and b.city == "Berlin"
    assert dict(b.open_hours) == {"mon": "09:00-17:00", "sat": "10:00-13:00"}
    assert [s.service for s in b.services] == ["advisory", "teller"]


def test_queue_length_and_estimated_wait_follow_staff_on_duty() -> None:
    b = branch(
        OPENED,
        event("branch.staff_checked_in", BID, {"staffId": "S1", "services": ["teller"]}),
        event("branch.staff_checked_in", BID, {"staffId": "S2"}),
        *[joined(f"T{i}") for i in range(5)],
        joined("A1", "advisory"),
    )
    teller = next(q for q in queues(b) if q.service == "teller")
    advisory = next(q for q in queues(b) if q.service == "advisory")
    assert teller.length == 5 and teller.staff_available == 2
    assert teller.estimated_wait_minutes == estimated_wait_minutes(5, 6, 2) == 18.0
    assert advisory.staff_available == 1 and advisory.estimated_wait_minutes == 30.0
    assert teller.queue_id == queue_id(BID, "teller")
    assert occupancy(b) == (6, 0.6)


def test_served_tickets_leave_and_teach_the_average_wait() -> None:
    b = branch(
        OPENED,
        joined("T1"),
        joined("T2", minutes=1),
        event("queue.served", BID, {"ticketId": "T1"}, minutes=10),
        event("queue.served", BID, {"ticketId": "T2"}, minutes=6),
    )
    teller = b.service("teller")
    assert teller is not None and teller.served_count == 2
    # In the order they were served (T2 at 6, T1 at 10), not the order the events arrived.
    assert teller.avg_wait_minutes == round(0.2 * 10 + 0.8 * 5, 2)
    assert b.waiting == ()


def test_abandoned_and_unknown_tickets() -> None:
    b = branch(
        OPENED,
        joined("T1"),
        event("queue.abandoned", BID, {"ticketId": "T1"}),
        event("queue.served", BID, {"ticketId": "nope"}),
    )
    teller = b.service("teller")
    assert teller is not None and teller.abandoned_count == 1 and teller.served_count == 0


def test_staff_check_out_and_closing_empty_the_branch() -> None:
    b = branch(
        OPENED,
        event("branch.staff_checked_in", BID, {"staffId": "S1"}),
        event("branch.staff_checked_out", BID, {"staffId": "S1"}),
        joined("T1"),
    )
    assert b.staff == () and len(b.waiting) == 1
    closed = branch(OPENED, joined("T1"), event("branch.closed", BID, {"reason": "end of day"}))
    assert not closed.is_open and closed.waiting == ()


def test_service_availability_and_queues_for_unlisted_services() -> None:
    b = branch(
        OPENED,
        event(
            "branch.service_availability_changed", BID, {"service": "teller", "available": False}
        ),
        joined("X1", "cash_deposit"),
    )
    by_service = {q.service: q for q in queues(b)}
    assert not by_service["teller"].available
    assert by_service["cash_deposit"].length == 1


def test_a_late_closing_sends_home_only_the_tickets_that_joined_before_it() -> None:
    closing = event("branch.closed", BID, minutes=60)
    b = branch(OPENED, joined("T1", minutes=10), joined("T2", minutes=70), closing)
    assert [t.ticket_id for t in b.waiting] == ["T2"]
    assert [t.ticket_id for t in b.sent_home] == ["T1"]
    # T1 was served before the closing; that arrives after it and still counts
    served = event("queue.served", BID, {"ticketId": "T1"}, minutes=20)
    teller = branch(OPENED, joined("T1", minutes=10), closing, served).service("teller")
    assert teller is not None and teller.served_count == 1 and teller.avg_wait_minutes == 10.0


def test_a_departure_before_its_join_arrives_still_counts() -> None:
    b = branch(
        OPENED,
        event("queue.served", BID, {"ticketId": "T1"}, minutes=12),
        joined("T1", minutes=2),
    )
    teller = b.service("teller")
    assert teller is not None and teller.served_count == 1 and teller.avg_wait_minutes == 10.0
    assert b.waiting == () and b.departed == ()


def test_a_late_check_in_older_than_the_check_out_does_not_count() -> None:
    b = branch(
        OPENED,
        event("branch.staff_checked_out", BID, {"staffId": "S1"}, minutes=30),
        event("branch.staff_checked_in", BID, {"staffId": "S1"}, minutes=10),
        event("branch.staff_checked_in", BID, {"staffId": "S2"}, minutes=20),
    )
    assert [s.staff_id for s in b.staff] == ["S2"]


def test_a_late_opening_does_not_overwrite_newer_details_or_reopen() -> None:
    newer = event("branch.opened", BID, {"name": "New St", "capacity": 30}, minutes=120)
    closed = event("branch.closed", BID, minutes=180)
    b = branch(newer, closed, OPENED)  # the first opening arrives last
    assert b.name == "New St" and b.capacity == 30 and b.city == "Berlin"
    assert not b.is_open and b.status_changed_at == closed.occurred_at
