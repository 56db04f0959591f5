"""The composition root of consumers: which run, where, and how a server hosts them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from banktwin.config import Settings
from banktwin.errors import ConfigurationError
from banktwin.runtime import Runtime
from tests.factories import new_id, registered


def test_every_consumer_is_built_and_the_selected_ones_run(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path, consumers="kpis"))
    try:
        assert set(runtime.consumers) == {"twin", "kpis", "fraud", "risk"}
        assert [c.name for c in runtime.running_here()] == ["kpis"]
    finally:
        runtime.close()


def test_a_runtime_builds_the_fraud_engine_it_runs_whole_or_staged(tmp_path: Path) -> None:
    stages = "twin,fraud-customers,fraud-entities"
    runtime = Runtime(Settings(data_dir=tmp_path, consumers=stages))
    try:
        assert list(runtime.consumers) == ["twin", "kpis", *stages.split(",")[1:], "risk"]
    finally:
        runtime.close()


def test_an_unknown_consumer_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError,
        match=(
            r"BANKTWIN_CONSUMERS.*'drift'.*"
            r"twin, kpis, fraud, fraud-customers, fraud-entities, risk"
        ),
    ):
        Runtime(Settings(data_dir=tmp_path, consumers="twin,drift"))


def test_a_server_runs_consumers_in_one_process_per_core_at_most_one_per_partition(
    tmp_path: Path,
) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path))
    try:
        assert 1 <= runtime.consumer_processes() <= runtime.log.partitions
    finally:
        runtime.close()
    runtime = Runtime(Settings(data_dir=tmp_path, consumer_processes=0))
    try:
        assert runtime.consumer_processes() == 0
    finally:
        runtime.close()


def test_consumers_in_the_servers_own_process_are_threads_that_leave_gc_alone() -> None:
    runtime = Runtime(Settings(log_url="memory://?partitions=2", store_url="memory://"))
    try:
        assert runtime.consumer_processes() == 0  # nothing another process could share
        runtime.start_in_background()
        assert runtime.runs_consumers_in == "threads"
        assert not any(c.pause_gc for c in runtime.running_here())
        customer = new_id()
        runtime.log.append([registered(customer)])
        runtime.notify_consumers()
        deadline = time.monotonic() + 5
        while runtime.store.customer(customer) is None or runtime.consumers["kpis"].lag():
            assert time.monotonic() < deadline, "the consumer threads did not apply the event"
            time.sleep(0.01)
    finally:
        runtime.close()
    assert runtime.runs_consumers_in == "elsewhere"
