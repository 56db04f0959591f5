"""Branches as the list and the day page show them (camelCase views of the twin and of
:mod:`banktwin.domain.branch_day`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from banktwin.domain.branch import BranchTwin, occupancy, queues
from banktwin.domain.branch_day import BranchDay, day_bounds

View = dict[str, Any]


def longest_wait_minutes(b: BranchTwin, at: datetime) -> float:
    """How long the customer waiting longest has waited at ``at`` (0: nobody waits)."""
    waits = ((at - t.joined_at).total_seconds() / 60.0 for t in b.waiting)
    return round(max(max(waits, default=0.0), 0.0), 1)


def branch_summary_view(b: BranchTwin, at: datetime) -> View:
    people, ratio = occupancy(b)
    return {
        "branchId": b.branch_id,
        "name": b.name,
        "city": b.city,
        "country": b.country,
        "isOpen": b.is_open,
        "staffOnDuty": len(b.staff),
        "customersWaiting": people,
        "longestWaitMinutes": longest_wait_minutes(b, at),
        "queues": [
            {
                "service": q.service,
                "available": q.available,
                "length": q.length,
                "estimatedWaitMinutes": q.estimated_wait_minutes,
            }
            for q in queues(b)
        ],
        "occupancy": {"customers": people, "capacity": b.capacity, "ratio": ratio},
        "lastUpdated": b.last_updated,
    }


def branch_day_view(branch_id: str, d: BranchDay) -> View:
    start, _ = day_bounds(d.day)
    return {
        "branchId": branch_id,
        "day": d.day,
        "until": d.until,
        "openedAt": d.opened_at,
        "closedAt": d.closed_at,
        "joined": d.joined,
        "served": d.served,
        "abandoned": d.abandoned,
        "meanWaitMinutes": d.mean_wait_minutes,
        "longestWaitMinutes": d.longest_wait_minutes,
        "peakQueue": d.peak_queue,
        "peakQueueAt": d.peak_queue_at,
        "waitingAtUntil": d.waiting_at_until,
        "staffCheckIns": d.staff_check_ins,
        "staffCheckOuts": d.staff_check_outs,
        "peakStaff": d.peak_staff,
        "services": [
            {
                "service": s.service,
                "joined": s.joined,
                "served": s.served,
                "abandoned": s.abandoned,
                "meanWaitMinutes": s.mean_wait_minutes,
                "longestWaitMinutes": s.longest_wait_minutes,
            }
            for s in d.services
        ],
        "hours": [
            {
                "hour": (start + timedelta(hours=h.hour)).strftime("%Y-%m-%dT%H"),
                "joined": h.joined,
                "served": h.served,
                "abandoned": h.abandoned,
                "meanWaitMinutes": h.mean_wait_minutes,
                "peakQueue": h.peak_queue,
                "staffCheckIns": h.staff_check_ins,
                "staffCheckOuts": h.staff_check_outs,
            }
            for h in d.hours
        ],
    }
