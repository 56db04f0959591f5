"""The API never pauses the cycle collector: pausing it is process-wide, so only dedicated
worker processes may (their consumers pause it while they apply a batch). While it serves,
it collects the young generation less often (:mod:`banktwin.api.collector`)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from banktwin.api.app import create_app
from banktwin.api.auth import SCOPES, Authority
from banktwin.api.collector import SERVING_YOUNG_THRESHOLD, serving_collector
from banktwin.api.ingest import http_intake
from banktwin.config import Settings
from banktwin.runtime import Runtime
from banktwin.wire import event_to_wire
from tests.factories import new_id, opened, posted, registered

SETTINGS = Settings(
    log_url="memory://?partitions=2",
    store_url="memory://",
    token_secret="g" * 40,
    clients="ops:ops-secret-123:" + "+".join(SCOPES),
)


class DisableWatch:
    """``gc.disable`` replaced: each call is recorded (with its thread) and refused."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.collections = 0

    def disable(self) -> None:
        self.calls.append(threading.current_thread().name)
        raise AssertionError("gc.disable() called in a process that serves the API")

    def on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.collections += 1


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[DisableWatch]:
    watch = DisableWatch()
    monkeypatch.setattr(gc, "disable", watch.disable)
    gc.callbacks.append(watch.on_collection)
    try:
        yield watch
    finally:
        gc.callbacks.remove(watch.on_collection)
    assert gc.isenabled()


def batch(customers: int, transactions: int) -> bytes:
    events = []
    for _ in range(customers):
        customer = new_id()
        events += [registered(customer), opened(customer)]
        events += [posted(customer, minutes=i) for i in range(transactions)]
    return orjson.dumps([event_to_wire(e) for e in events])


def test_reading_batches_and_applying_them_leave_the_collector_on(watch: DisableWatch) -> None:
    authority = Authority.from_settings(SETTINGS)
    token = authority.issue(authority.client("ops"), frozenset(SCOPES))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    runtime = Runtime(SETTINGS)
    try:
        # Consumers as threads of the API (memory stores cannot be shared with processes).
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)) as client:
            assert runtime.runs_consumers_in == "threads"
            assert not any(c.pause_gc for c in runtime.consumers.values())
            before = watch.collections
            for _ in range(3):
                response = client.post("/v1/events", content=batch(20, 50), headers=headers)
                assert response.status_code == 202, response.text
                assert gc.isenabled()
            ndjson = b"\n".join(orjson.dumps(e) for e in orjson.loads(batch(5, 50)))
            response = client.post(
                "/v1/events",
                content=ndjson,
                headers={**headers, "Content-Type": "application/x-ndjson"},
            )
            assert response.status_code == 202, response.text
            deadline = time.monotonic() + 10
            while any(c.lag() for c in runtime.running_here()):
                assert time.monotonic() < deadline, "the consumers did not apply the batches"
                time.sleep(0.02)
            assert watch.collections > before  # the collector ran meanwhile
            assert gc.isenabled()
    finally:
        runtime.close()
    assert watch.calls == []


def test_a_runtime_handed_to_the_app_leaves_the_collector_on(tmp_path: Any) -> None:
    # The demo builds its runtime (and catches up with it, before serving) and hands it over.
    config = Settings(
        data_dir=tmp_path,
        token_secret="g" * 40,
        clients="ops:ops-secret-123:digitaltwin.read",
        run_consumers=False,
    )
    runtime = Runtime(config)
    try:
        assert all(c.pause_gc for c in runtime.consumers.values())  # a worker's default
        with TestClient(create_app(config, runtime=runtime)):
            assert not any(c.pause_gc for c in runtime.consumers.values())
    finally:
        runtime.close()


# The serving collector (banktwin/api/collector.py) and the fence on what it rests on.


def test_serving_collects_the_young_generation_less_often_and_puts_it_back() -> None:
    before = gc.get_threshold()
    authority = Authority.from_settings(SETTINGS)
    runtime = Runtime(SETTINGS)
    try:
        with TestClient(create_app(SETTINGS, runtime=runtime, authority=authority)):
            assert gc.get_threshold() == (SERVING_YOUNG_THRESHOLD, *before[1:])
    finally:
        runtime.close()
    assert gc.get_threshold() == before


def test_a_process_already_collecting_less_often_is_left_so() -> None:
    before = gc.get_threshold()
    gc.set_threshold(50_000, *before[1:])
    try:
        with serving_collector():
            assert gc.get_threshold()[0] == 50_000
    finally:
        gc.set_threshold(*before)


def test_fence_a_batch_read_is_what_makes_the_default_threshold_costly() -> None:
    """The shortcut rests on this: reading one batch of 2,000 events allocates so many tracked
    containers, alive until it is appended, that the default threshold collects the young
    generation dozens of times per batch (each promoting the batch's live objects towards a
    full collection), and the serving threshold a few times. If a Python release or the
    intake's own allocations change that, measure again (docs/performance.md)."""
    body = batch(40, 48)  # 40 customers of 2 + 48 events: 2,000
    intake = http_intake(SETTINGS, lambda: datetime.now(UTC))
    counter = DisableWatch()

    def collections_while_reading(young: int) -> int:
        before = gc.get_threshold()
        gc.collect()
        gc.set_threshold(young, *before[1:])
        gc.callbacks.append(counter.on_collection)
        try:
            counter.collections = 0
            submission = intake.batch_from_json(body, source="fence")
            assert len(submission.events) == 2000
            return counter.collections
        finally:
            gc.callbacks.remove(counter.on_collection)
            gc.set_threshold(*before)

    assert collections_while_reading(700) >= 20
    assert collections_while_reading(SERVING_YOUNG_THRESHOLD) <= 3
