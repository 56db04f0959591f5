"""Retraining jobs against a real ``banktwin serve`` (SQLite log and store, MLflow's local
store): a FraudScore retrain asked over HTTP is followed to its new version and metrics; a job
queued while no process ran is run on start; a serve killed with SIGKILL mid-job leaves the job
to its restart, which runs it again once and fails it the second time, never losing it. And the
job store's compare-and-set on each SQL adapter: two runners never take one job."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from banktwin.adapters import open_event_log, open_kv_store
from banktwin.api.admin_schemas import JobPublic
from banktwin.config import Settings
from banktwin.jobs.lifecycle import TrainingConfig
from banktwin.jobs.runner import LEASE
from banktwin.jobs.store import JobStore
from banktwin.registry import open_model_registry
from banktwin.sim import SimConfig, Simulation
from tests.integration.test_crash_recovery import kill_9, process_logs, start_serve, wait_ready

pytestmark = pytest.mark.slow

SECRET = "retrain-test-signing-key-0123456789abcdef"
ADMIN = ("ops", "ops-secret-1234")
END = datetime(2026, 3, 2, tzinfo=UTC)
BANK = SimConfig(customers=150, seed=5, history_days=30, fraud_rate=0.05)
"""About 112,000 events with some 380 reported frauds: enough to train and validate on."""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose log holds the simulated bank's history (built once, copied)."""
    data_dir = tmp_path_factory.mktemp("history")
    log = open_event_log(Settings(data_dir=data_dir).event_log_url)
    try:
        for batch in Simulation(BANK).backfill(end=END, batch_size=20_000):
            log.append(batch)
    finally:
        log.close()
    return data_dir


@pytest.fixture
def data_dir(history: Path, tmp_path: Path) -> Path:
    for name in ("twin.db",):
        (tmp_path / name).write_bytes((history / name).read_bytes())
    return tmp_path


def env_for(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": f"{ADMIN[0]}:{ADMIN[1]}:digitaltwin.read+digitaltwin.admin",
        "BANKTWIN_RUN_CONSUMERS": "false",  # the jobs read the log, not the consumers' state
        "BANKTWIN_RETRAIN_SCHEDULE": "off",
    }


class Serve:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process, self.base = start_serve(data_dir, env_for(data_dir))
        wait_ready(self.base, 60)
        answer = httpx.post(
            f"{self.base}/oauth/token", data={"grant_type": "client_credentials"}, auth=ADMIN
        )
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def retrain(self, body: dict[str, Any]) -> str:
        answer = httpx.post(f"{self.base}/v1/admin/retrain", json=body, headers=self.headers)
        assert answer.status_code == 202, answer.text
        location = answer.headers["Location"]
        assert location == f"/v1/admin/jobs/{answer.json()['jobId']}"
        return str(location)

    def job(self, location: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.base}{location}", headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        JobPublic.model_validate(answer.json())
        job: dict[str, Any] = answer.json()
        return job

    def until(self, location: str, done: Any, timeout_s: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(location)
            if done(job):
                return job
            assert time.monotonic() < deadline, f"{job}\n{process_logs(self.data_dir)}"
            time.sleep(0.02)

    def kill(self) -> None:
        kill_9(self.process.pid)
        self.process.wait(10)


@contextmanager
def serving(data_dir: Path) -> Iterator[Serve]:
    serve = Serve(data_dir)
    try:
        yield serve
    finally:
        if serve.process.poll() is None:
            serve.process.terminate()
            serve.process.wait(30)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed")


def running(attempt: int) -> Any:
    return lambda job: job["status"] == "running" and job["attempts"] == attempt


def test_a_fraud_retrain_asked_over_http_registers_a_version_with_its_metrics(
    data_dir: Path,
) -> None:
    settings = Settings(data_dir=data_dir)
    kv = open_kv_store(settings.state_store_url)
    offline = JobStore(kv, lambda: datetime.now(UTC)).enqueue(
        TrainingConfig("FraudScore", "lightgbm", {"seed": 1}), "ops"
    )  # queued while no process ran: the next serve runs it
    kv.close()
    with serving(data_dir) as serve:
        first = serve.until(f"/v1/admin/jobs/{offline.job_id}", finished)
        assert first["status"] == "succeeded", first
        assert first["result"]["version"] == 1 and first["result"]["champion"] is True
        location = serve.retrain(
            {
                "modelName": "FraudScore",
                "algorithm": "logistic",
                "parameters": {"seed": 3},
                "trainingWindow": {"start": "2026-01-31T00:00:00Z", "end": "2026-02-23T00:00:00Z"},
                "promoteIfBetter": True,
            }
        )
        job = serve.until(location, finished)
        assert job["status"] == "succeeded", job
        assert job["requestedBy"] == "ops" and job["attempts"] == 1
        assert job["progress"] == {"fraction": 1.0, "message": "done"}
        result = job["result"]
        assert result["version"] == 2
        assert 0 < result["metrics"]["validation_average_precision"] <= 1
        assert result["metrics"]["train_positives"] >= 5
        assert "registered FraudScore/2 as challenger" in result["note"]
        assert ("; promoted" in result["note"]) == result["champion"]
        listed = httpx.get(f"{serve.base}/v1/admin/jobs", headers=serve.headers)
        assert [j["jobId"] for j in listed.json()] == [job["jobId"], offline.job_id]
        metrics = httpx.get(f"{serve.base}/metrics").text
        assert 'banktwin_job_duration_seconds_count{task="retrain_FraudScore"} 2.0' in metrics
    registry = open_model_registry(settings)
    try:
        versions = registry.versions("FraudScore")
    finally:
        registry.close()
    assert [(v.version, v.card.flavor) for v in versions] == [(1, "lightgbm"), (2, "logistic")]
    second = versions[1].card
    assert second.params["seed"] == 3
    assert second.metrics == result["metrics"]
    assert second.training_window[0] >= datetime(2026, 1, 31, tzinfo=UTC)
    assert result["trainedFrom"] == second.training_window[0].isoformat().replace("+00:00", "Z")
    # Labels as known at the window's end, the last label delay (7 days) before it left out.
    assert result["trainedUntil"] == "2026-02-16T00:00:00Z"
    assert second.training_window[1] == datetime(2026, 2, 16, tzinfo=UTC)


def test_a_job_of_a_serve_killed_mid_run_is_run_again_once_then_failed(data_dir: Path) -> None:
    retried = None
    with serving(data_dir) as serve:
        retried = serve.retrain({"modelName": "FraudScore", "parameters": {"seed": 5}})
        serve.until(retried, running(1))
        serve.kill()  # SIGKILL mid-job: the job is left "running", its heartbeat stops
    with serving(data_dir) as serve:
        left = serve.job(retried)  # still there: left running, or queued again already
        assert left["status"] in ("running", "queued") and left["attempts"] >= 1, left
        done = serve.until(retried, finished, timeout_s=LEASE.total_seconds() + 120)
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert done["result"]["version"] == 1

        doomed = serve.retrain({"modelName": "FraudScore"})
        serve.until(doomed, running(1))
        serve.kill()
    with serving(data_dir) as serve:
        serve.until(doomed, running(2), timeout_s=LEASE.total_seconds() + 60)
        serve.kill()  # killed again in its second run
    with serving(data_dir) as serve:
        lost = serve.until(doomed, finished, timeout_s=LEASE.total_seconds() + 60)
        assert lost["status"] == "failed"
        assert lost["error"] == "interrupted by a restart (attempt 2 of 2)"
        assert lost["result"] is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_runners_on_one_sql_store_never_take_the_same_job(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'state.db'}"
    )
    setup = open_kv_store(url)
    store = JobStore(setup, lambda: datetime.now(UTC))
    queued = {
        store.enqueue(TrainingConfig("FraudScore", "logistic", {}), "ops").job_id for _ in range(30)
    }
    taken: dict[str, list[str]] = {"a": [], "b": []}
    go = threading.Barrier(2)

    def take(runner: str) -> None:
        kv = open_kv_store(url)  # a connection (a process) of its own
        try:
            mine = JobStore(kv, lambda: datetime.now(UTC))
            go.wait()
            while (job := mine.claim_next(runner)) is not None:
                taken[runner].append(job.job_id)
        finally:
            kv.close()

    threads = [threading.Thread(target=take, args=(r,)) for r in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    setup.close()
    assert sorted(taken["a"] + taken["b"]) == sorted(queued)
