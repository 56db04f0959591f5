"""``GET /metrics`` of a real ``banktwin serve`` whose consumers run in processes of their own:
the scrape includes what those processes counted (the fraud engine's scoring, the consumers'
commits), a replay's duration once it completes, and no customer's data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from banktwin.observability.multiprocess import DIR_NAME, MULTIPROC_ENV
from tests.integration.test_crash_recovery import process_logs, start_serve, wait_ready
from tests.unit.observability.samples import FAMILIES

pytestmark = pytest.mark.slow

SECRET = "metrics-test-signing-key-0123456789abcdef"
CLIENT = ("loader", "loader-secret-123")
CUSTOMERS = [str(uuid.uuid4()) for _ in range(6)]
DEBITS_EACH = 5
CONSUMERS = ("twin", "kpis", "fraud", "risk")
Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


@dataclass
class Served:
    base: str
    data_dir: Path
    env: dict[str, str]
    started_at: float
    posted: int


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    return env | {
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": f"{CLIENT[0]}:{CLIENT[1]}:digitaltwin.read+digitaltwin.write",
        "BANKTWIN_CONSUMER_PROCESSES": "2",  # the API process runs no consumer itself
    }


def scrape(base: str) -> tuple[str, Samples]:
    response = httpx.get(f"{base}/metrics", timeout=10)  # no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        found.setdefault(family.name, {})
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return response.text, found


def per_consumer(found: Samples, name: str) -> dict[str, float]:
    return {dict(labels)["consumer"]: value for labels, value in found.get(name, {}).items()}


def post_bank(base: str) -> int:
    """Each customer registered (profile, email), an account, and debits at a card terminal;
    returns the events posted."""
    token = httpx.post(
        f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    events: list[dict[str, object]] = []
    for n, customer in enumerate(CUSTOMERS):
        profile = {
            "name": f"Customer Number{n}",
            "dob": "1980-01-02",
            "email": f"customer{n}@example.com",
            "address": "1 Main St",
            "consent": {"processing": True},
        }
        events.append({"type": "customer.registered", "subjectId": customer, "payload": profile})
        account = {"accountId": f"ACC-{customer[:8]}", "type": "checking", "currency": "EUR"}
        events.append({"type": "account.opened", "subjectId": customer, "payload": account})
        for i in range(DEBITS_EACH):
            debit = {
                "transactionId": f"TX-{customer[:8]}-{i}",
                "accountId": f"ACC-{customer[:8]}",
                "amount": "19.99",
                "currency": "EUR",
                "direction": "debit",
                "channel": "card_present",
                "terminalId": "TERM-1",
                "cardToken": f"tok_{customer[:8]}",
            }
            events.append({"type": "transaction.posted", "subjectId": customer, "payload": debit})
    r = httpx.post(f"{base}/v1/events", headers=headers, json=events, timeout=30)
    assert r.status_code == 202, r.text
    one = {"type": "customer.login", "payload": {"channel": "mobile"}}
    r = httpx.post(f"{base}/v1/customers/{CUSTOMERS[0]}/events", headers=headers, json=one)
    assert r.status_code == 202, r.text
    return len(events) + 1


def wait_applied(base: str, posted: int, deadline_s: float = 90) -> Samples:
    """The scrape once every consumer has applied the whole log (what was posted, and the
    alerts the fraud engine derived)."""
    deadline = time.monotonic() + deadline_s
    while True:
        _, found = scrape(base)
        lag = per_consumer(found, "banktwin_consumer_lag_events")
        applied = per_consumer(found, "banktwin_events_applied_total")
        caught_up = set(lag) == set(CONSUMERS) and not any(lag.values())
        if caught_up and all(applied[c] >= posted for c in CONSUMERS):
            return found
        assert time.monotonic() < deadline, f"not applied: lag {lag}, applied {applied}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("metrics")
    stale = data_dir / DIR_NAME / "counter_99999.db"  # left by an earlier run: wiped
    stale.parent.mkdir()
    stale.write_bytes(b"")
    env = environment(data_dir)
    started_at = time.time()
    server, base = start_serve(data_dir, env)
    try:
        wait_ready(base, 60)
        posted = post_bank(base)
        yield Served(base, data_dir, env, started_at, posted)
    except BaseException:
        print(process_logs(data_dir))
        raise
    finally:
        server.send_signal(signal.SIGTERM)  # stops its consumer processes too
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_scrape_of_the_api_includes_what_the_consumer_processes_counted(
    served: Served,
) -> None:
    found = wait_applied(served.base, served.posted)
    assert set(found) >= FAMILIES, FAMILIES - set(found)
    assert not (served.data_dir / DIR_NAME / "counter_99999.db").exists()
    # The fraud engine runs only in a consumer process: its scoring reaches the API's scrape.
    assert found["banktwin_fraud_scoring_seconds_count"][()] >= 1
    assert found["banktwin_fraud_scoring_seconds_sum"][()] > 0
    commits = per_consumer(found, "banktwin_consumer_last_commit_timestamp_seconds")
    assert set(commits) == set(CONSUMERS)
    assert all(served.started_at <= t <= time.time() for t in commits.values()), commits
    writers = {p.stem.rsplit("_", 1)[1] for p in (served.data_dir / DIR_NAME).glob("*.db")}
    assert len(writers) >= 2, writers  # the API and at least one consumer process

    appended = found["banktwin_events_appended_total"]
    debits = len(CUSTOMERS) * DEBITS_EACH
    assert appended[(("source", "loader"), ("type", "transaction.posted"))] == debits
    assert appended[(("source", "loader"), ("type", "customer.login"))] == 1
    logged = per_consumer(found, "banktwin_events_applied_total")
    assert logged["twin"] == logged["kpis"] == logged["fraud"] == logged["risk"] >= served.posted
    assert per_consumer(found, "banktwin_consumer_lag_seconds") == dict.fromkeys(CONSUMERS, 0)

    requests = found["banktwin_http_request_duration_seconds_count"]
    assert requests[(("method", "POST"), ("route", "/v1/events"), ("status", "202"))] == 1
    single = (("method", "POST"), ("route", "/v1/customers/{customerId}/events"), ("status", "202"))
    assert requests[single] == 1
    assert found["banktwin_data_completeness_target"] == {(): 0.95}
    assert 0 < found["banktwin_data_completeness_ratio"][()] <= 1
    assert found["banktwin_fraud_alert_rate"][()] >= 0
    assert found["banktwin_fraud_alert_rate_baseline"][()] >= 0


def test_a_scrape_holds_no_customer_data(served: Served) -> None:
    wait_applied(served.base, served.posted)
    text, _ = scrape(served.base)
    for customer in CUSTOMERS:
        for personal in (customer, customer[:8], f"tok_{customer[:8]}"):
            assert personal not in text, personal
    for personal in ("Number", "@example.com", "ACC-", "TX-", "TERM-1", "Main St"):
        assert personal not in text, personal


def test_a_replay_beside_serve_reports_its_duration_to_serve(served: Served) -> None:
    wait_applied(served.base, served.posted)
    done = subprocess.run(
        [sys.executable, "-m", "banktwin", "replay", "--consumers", "twin", "--processes", "1"],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _, found = scrape(served.base)
    assert found["banktwin_job_duration_seconds_count"] == {(("task", "replay"),): 1}
    assert 0 < found["banktwin_job_duration_seconds_sum"][(("task", "replay"),)] < 120
