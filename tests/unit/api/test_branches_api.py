"""``GET /v1/branches`` (every branch, paged), ``GET /v1/branches/{branchId}/day`` (its day so
far) and ``GET /v1/stream/branches`` (the list, pushed when the twin commits): the read scope,
400 naming the bad parameter, 404 for an unknown branch. The app runs on the in-memory log and
store, its clock fixed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import READ, SCOPES, WRITE, Authority
from banktwin.api.branch_schemas import BranchDayPublic, BranchSummaryPublic
from banktwin.api.deps import Services
from banktwin.api.routers.streams import branches_snapshot, pushes
from banktwin.config import Settings
from banktwin.runtime import Runtime
from banktwin.store.port import TWIN_CONSUMER

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="b" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
    run_consumers=False,
)
NOW = datetime(2025, 9, 15, 12, 30, tzinfo=UTC)
TODAY = NOW.replace(hour=0, minute=30)


@dataclass
class Bank:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def get(self, path: str, who: str = "reader") -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def post(self, branch_id: str, type_: str, at: datetime, **payload: Any) -> None:
        body = {"type": type_, "occurredAt": at.isoformat(), "payload": payload}
        r = self.client.post(
            f"/v1/branches/{branch_id}/events",
            json=body,
            headers={"Authorization": f"Bearer {self.tokens['writer']}"},
        )
        assert r.status_code == 202, r.text

    @property
    def services(self) -> Services:
        services: Services = self.client.app.state.services  # type: ignore[attr-defined]
        return services


@pytest.fixture
def bank() -> Iterator[Bank]:
    authority = Authority.from_settings(SETTINGS)
    ops = authority.client("ops")
    tokens = {
        "reader": authority.issue(ops, frozenset({READ})),
        "writer": authority.issue(ops, frozenset({WRITE})),
    }
    runtime = Runtime(SETTINGS)
    app = create_app(SETTINGS, runtime=runtime, authority=authority, clock=lambda: NOW)
    try:
        with TestClient(app) as client:
            yield Bank(client, runtime, tokens)
    finally:
        runtime.close()


def a_branch(bank: Bank, name: str, waiting: int, day: datetime = TODAY) -> str:
    """A branch opened at 09:00 of ``day`` with a teller and a loans queue, ``waiting`` customers
    still waiting and two served."""
    branch_id = str(uuid.uuid4())
    nine = day.replace(hour=9, minute=0)
    services = [{"service": "teller", "avgHandlingMinutes": 5}, {"service": "loans"}]
    bank.post(branch_id, "branch.opened", nine, name=name, capacity=20, services=services)
    bank.post(branch_id, "branch.staff_checked_in", nine, staffId="S1")
    for n in range(2):
        joined = nine + timedelta(minutes=10 * n)
        bank.post(branch_id, "queue.joined", joined, ticketId=f"D{n}", service="teller")
        bank.post(branch_id, "queue.served", joined + timedelta(minutes=6), ticketId=f"D{n}")
    for n in range(waiting):
        at = day.replace(hour=11, minute=50 + n)
        bank.post(branch_id, "queue.joined", at, ticketId=f"W{n}", service="teller")
    return branch_id


def test_branches_are_listed_by_id_with_what_the_list_shows(bank: Bank) -> None:
    ids = sorted(a_branch(bank, f"Branch {n}", waiting=n) for n in range(3))
    bank.runtime.catch_up()
    r = bank.get("/v1/branches?limit=2")
    assert r.status_code == 200, r.text
    assert r.headers["X-Total-Count"] == "3" and 'rel="next"' in r.headers["Link"]
    listed = r.json()
    assert [b["branchId"] for b in listed] == ids[:2]
    for item in listed:
        BranchSummaryPublic.model_validate(item)
    rest = bank.get("/v1/branches?limit=2&offset=2").json()
    assert [b["branchId"] for b in rest] == ids[2:]
    two = next(b for b in listed + rest if b["name"] == "Branch 2")
    assert two["isOpen"] is True and two["staffOnDuty"] == 1 and two["customersWaiting"] == 2
    assert two["longestWaitMinutes"] == 40.0  # joined 11:50, read at 12:30
    teller = next(q for q in two["queues"] if q["service"] == "teller")
    assert (teller["length"], teller["estimatedWaitMinutes"]) == (2, 10.0)
    assert two["occupancy"] == {"customers": 2, "capacity": 20, "ratio": 0.1}


def test_the_list_is_empty_without_branches_and_refuses_bad_paging(bank: Bank) -> None:
    r = bank.get("/v1/branches")
    assert r.status_code == 200 and r.json() == [] and r.headers["X-Total-Count"] == "0"
    for query, field in (("limit=0", "limit"), ("offset=-1", "offset"), ("limit=x", "limit")):
        bad = bank.get(f"/v1/branches?{query}")
        assert bad.status_code == 400, bad.text
        assert bad.json()["errors"][0]["field"] == field


def test_a_branch_s_day_so_far(bank: Bank) -> None:
    branch_id = a_branch(bank, "Main St", waiting=2)
    bank.runtime.catch_up()
    r = bank.get(f"/v1/branches/{branch_id}/day")
    assert r.status_code == 200, r.text
    day = r.json()
    BranchDayPublic.model_validate(day)
    assert day["day"] == "2025-09-15" and day["until"] == "2025-09-15T12:30:00Z"
    assert (day["joined"], day["served"], day["abandoned"]) == (4, 2, 0)
    assert (day["meanWaitMinutes"], day["longestWaitMinutes"]) == (6.0, 6.0)
    assert (day["peakQueue"], day["waitingAtUntil"], day["staffCheckIns"]) == (2, 2, 1)
    assert [h["hour"] for h in day["hours"]][-1] == "2025-09-15T12"
    nine = day["hours"][9]
    assert (nine["hour"], nine["joined"], nine["served"]) == ("2025-09-15T09", 2, 2)
    [teller] = day["services"]
    assert (teller["service"], teller["joined"]) == ("teller", 4)

    same = bank.get(f"/v1/branches/{branch_id}/day?date=2025-09-15").json()
    assert same == day
    before = bank.get(f"/v1/branches/{branch_id}/day?date=2025-09-14").json()
    assert before["joined"] == 0 and len(before["hours"]) == 24
    assert before["until"] == "2025-09-15T00:00:00Z"


def test_a_day_refuses_a_bad_or_future_date_and_an_unknown_branch(bank: Bank) -> None:
    branch_id = a_branch(bank, "Main St", waiting=0)
    bank.runtime.catch_up()
    for value, words in (
        ("2025-13-01", "date"),
        ("yesterday", "date"),
        ("2025-09-16", "has not begun"),
    ):
        r = bank.get(f"/v1/branches/{branch_id}/day?date={value}")
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "date" and words in r.text
    missing = bank.get(f"/v1/branches/{uuid.uuid4()}/day")
    assert missing.status_code == 404 and "no branch" in missing.json()["detail"]
    assert bank.get("/v1/branches/not-a-uuid/day").json()["errors"][0]["field"] == "branchId"


def test_the_branch_reads_need_the_read_scope(bank: Bank) -> None:
    branch_id = a_branch(bank, "Main St", waiting=0)
    bank.runtime.catch_up()
    for path in ("/v1/branches", f"/v1/branches/{branch_id}/day", "/v1/stream/branches"):
        assert bank.client.get(path).status_code == 401
        forbidden = bank.get(path, who="writer")
        assert forbidden.status_code == 403 and "digitaltwin.read" in forbidden.json()["detail"]
    paths = bank.client.get("/openapi.json").json()["paths"]
    assert paths["/v1/branches"]["get"]["security"] == [{"OAuth2": ["digitaltwin.read"]}]
    day = paths["/v1/branches/{branchId}/day"]["get"]
    assert day["security"] == [{"OAuth2": ["digitaltwin.read"]}]
    assert {"200", "400", "401", "403", "404"} <= set(day["responses"])
    assert "/v1/stream/branches" not in paths
    bad = bank.get("/v1/stream/branches?limit=0")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "limit"


def test_the_branch_stream_pushes_the_list_when_the_twin_commits(bank: Bank) -> None:
    """The stream's text: the page at once; after an event is logged and the twin commits it,
    the page again, with the change (no polling: the twin's commit announcement wakes it)."""
    first = a_branch(bank, "First", waiting=0)
    bank.runtime.catch_up()
    services = bank.services

    async def read() -> list[dict[str, Any]]:
        stream: AsyncIterator[str] = pushes(
            services,
            lambda: branches_snapshot(services, limit=10, offset=0),
            (TWIN_CONSUMER,),
            push_interval_s=0.05,
            heartbeat_s=5,
        )
        seen = [_branches_of(await anext(stream))]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: a_branch(bank, "Second", waiting=1))
        await loop.run_in_executor(None, bank.runtime.catch_up)
        while True:  # pushes until the twin has applied the new branch
            seen.append(_branches_of(await asyncio.wait_for(anext(stream), 5)))
            if seen[-1]["total"] == 2 and seen[-1]["lag"] == 0:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return seen

    seen = asyncio.run(read())
    assert seen[0]["total"] == 1 and [b["branchId"] for b in seen[0]["items"]] == [first]
    last = seen[-1]
    assert {b["name"] for b in last["items"]} == {"First", "Second"}
    for item in last["items"]:
        BranchSummaryPublic.model_validate(item)
    assert (last["limit"], last["offset"]) == (10, 0)


def test_the_branch_stream_rereads_now_and_then_without_a_commit(bank: Bank) -> None:
    """An event logged and not applied wakes no stream; the fallback re-read shows the twin's
    lag all the same, as it would a consumer that stopped."""
    a_branch(bank, "First", waiting=0)
    bank.runtime.catch_up()
    services = bank.services

    def stream(reread_s: float) -> AsyncIterator[str]:
        return pushes(
            services,
            lambda: branches_snapshot(services, limit=10, offset=0),
            (TWIN_CONSUMER,),
            push_interval_s=0.05,
            heartbeat_s=5,
            reread_s=reread_s,
        )

    async def read() -> list[dict[str, Any]]:
        quiet, rereading = stream(reread_s=60), stream(reread_s=0.3)
        seen = [_branches_of(await anext(quiet)), _branches_of(await anext(rereading))]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: a_branch(bank, "Second", waiting=1))
        with pytest.raises(TimeoutError):  # (which ends that stream)
            await asyncio.wait_for(anext(quiet), 1.0)
        seen.append(_branches_of(await asyncio.wait_for(anext(rereading), 5)))
        await rereading.aclose()  # type: ignore[attr-defined]
        return seen

    seen = asyncio.run(read())
    assert [(s["total"], s["lag"]) for s in seen[:2]] == [(1, 0), (1, 0)]
    assert seen[2]["total"] == 1 and seen[2]["lag"] > 0  # logged, not applied


def _branches_of(text: str) -> dict[str, Any]:
    event, data, blank, _ = text.split("\n", 3)
    assert event == "event: branches" and data.startswith("data: ") and blank == ""
    parsed: dict[str, Any] = orjson.loads(data.removeprefix("data: "))
    return parsed
