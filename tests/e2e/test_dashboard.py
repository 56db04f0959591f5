"""The Experience Dashboard in a real browser (chromium) against a real ``banktwin serve``: a
small simulated bank is posted through the API, then an operator signs in, watches the
Overview move while events arrive (pushed by ``/v1/stream/kpis``, no reload), with the fraud
alerts' outcomes and the risk-score distribution, opens a customer's 360 and its event
timeline, moves a fraud alert along its lifecycle, watches the list of branches move
(``/v1/stream/branches``) and opens a branch's day, reads the registered models and the
connectors' dead letters. Each page is saved under ``tests/e2e/screenshots/``."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from banktwin.sim import SimConfig, Simulation
from banktwin.wire import event_to_wire
from tests.integration.test_crash_recovery import process_logs, start_serve, wait_ready

pytestmark = pytest.mark.slow

SECRET = "dashboard-test-signing-key-0123456789ab"
ANALYST = ("analyst", "analyst-secret-123")
VIEWER = ("viewer", "viewer-secret-123")
OPS = ("ops", "ops-secret-123")
CLIENTS = (
    f"{ANALYST[0]}:{ANALYST[1]}:digitaltwin.read+digitaltwin.write,"
    f"{VIEWER[0]}:{VIEWER[1]}:digitaltwin.read,"
    f"{OPS[0]}:{OPS[1]}:digitaltwin.read+digitaltwin.admin"
)
RISK_SCORES = (0.05, 0.12, 0.18, 0.33, 0.41, 0.47, 0.58, 0.72, 0.86, 0.93)
"""The risk scores given to the first customers (the risk engine is not part of this test)."""
BANK = SimConfig(customers=25, branches=2, seed=11, history_days=2)
SCREENSHOTS = Path(__file__).parent / "screenshots"
SESSION_KEY = "banktwin.dashboard.session"


@dataclass
class Served:
    base: str
    data_dir: Path
    customer_id: str
    customer_email: str
    branch_id: str
    alert_id: str
    branch_name: str


def _token(base: str, client: tuple[str, str]) -> str:
    r = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _headers(base: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(base, ANALYST)}"}


def _post(base: str, events: list[dict[str, Any]]) -> None:
    headers = _headers(base)
    for start in range(0, len(events), 2000):
        r = httpx.post(
            f"{base}/v1/events", headers=headers, json=events[start : start + 2000], timeout=60
        )
        assert r.status_code == 202, r.text


def _wait_applied(base: str, deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        consumers = httpx.get(f"{base}/readyz", timeout=5).json().get("consumers", [])
        if consumers and not any(c["lag"] for c in consumers):
            return
        assert time.monotonic() < deadline, f"consumers still behind: {consumers}"
        time.sleep(0.3)


def _verdicts(customer: str, transaction_id: str) -> list[dict[str, Any]]:
    """Two more alerts about the customer, investigated: one confirmed, one a false positive."""
    events: list[dict[str, Any]] = []
    for verdict, severity in (("confirmed_fraud", "high"), ("false_positive", "medium")):
        alert_id = str(uuid.uuid4())
        events.append(
            {
                "type": "fraud.alert_raised",
                "subjectId": customer,
                "payload": {
                    "alertId": alert_id,
                    "transactionId": transaction_id,
                    "severity": severity,
                    "reasons": ["burst of card payments"],
                },
            }
        )
        for step in ("investigating", verdict):
            events.append(
                {
                    "type": "fraud.alert_status_changed",
                    "subjectId": customer,
                    "payload": {"alertId": alert_id, "status": step, "note": "e2e"},
                }
            )
    return events


def _risk_scores(customers: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "risk.score_updated",
            "subjectId": customer,
            "payload": {
                "scoreId": str(uuid.uuid4()),
                "score": score,
                "modelVersion": "RiskScore/1",
                "reasons": [{"feature": "utilization", "contribution": score / 2}],
            },
        }
        for customer, score in zip(customers, RISK_SCORES, strict=False)
    ]


def _bank(base: str) -> tuple[str, str, str, str, str]:
    """Post a simulated bank, a fraud alert about one of its payments (and two settled ones)
    and risk scores; returns a customer (id, email), a branch, the alert's id and its
    transaction."""
    logged = [
        event_to_wire(e)
        for batch in Simulation(BANK).backfill(end=datetime.now(UTC))
        for e in batch
    ]
    _post(base, logged)
    registered = next(e for e in logged if e["type"] == "customer.registered")
    customer = registered["subjectId"]
    debit = next(
        e
        for e in logged
        if e["type"] == "transaction.posted"
        and e["subjectId"] == customer
        and e["payload"]["direction"] == "debit"
    )
    branch = next(e["subjectId"] for e in logged if e["type"] == "branch.opened")
    alert_id = str(uuid.uuid4())
    alert = {
        "type": "fraud.alert_raised",
        "subjectId": customer,
        "payload": {
            "alertId": alert_id,
            "transactionId": debit["payload"]["transactionId"],
            "severity": "critical",
            "score": 0.97,
            "reasons": ["amount 14x the customer's median", "new device"],
            "ruleIds": ["amount_spike"],
        },
    }
    customers = list(
        dict.fromkeys(e["subjectId"] for e in logged if e["type"] == "customer.registered")
    )
    _post(base, [alert, *_verdicts(customer, debit["payload"]["transactionId"])])
    _post(base, _risk_scores(customers))
    return customer, registered["payload"]["email"], branch, alert_id, debit["eventId"]


def _branch_name(base: str, branch_id: str) -> str:
    r = httpx.get(f"{base}/v1/branches/{branch_id}/state", headers=_headers(base))
    assert r.status_code == 200, r.text
    return str(r.json()["name"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKTWIN_")} | {
        "BANKTWIN_DATA_DIR": str(data_dir),
        "BANKTWIN_TOKEN_SECRET": SECRET,
        "BANKTWIN_CLIENTS": CLIENTS,
    }
    server, base = start_serve(data_dir, env)
    try:
        wait_ready(base)
        customer, email, branch, alert_id, _ = _bank(base)
        _wait_applied(base)
        yield Served(base, data_dir, customer, email, branch, alert_id, _branch_name(base, branch))
    except BaseException:
        print(process_logs(data_dir))
        raise
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail(f"banktwin serve did not stop on SIGTERM\n{process_logs(data_dir)}")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, served: Served, client: tuple[str, str] = ANALYST) -> None:
    page.goto(f"{served.base}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Client id").fill(client[0])
    page.get_by_label("Client secret").fill(client[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def kpi(page: Page, key: str) -> Any:
    return page.locator(f'[data-kpi="{key}"]')


def test_the_page_and_its_files_need_no_token_and_hold_no_data(served: Served) -> None:
    index = httpx.get(f"{served.base}/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert httpx.get(f"{served.base}/ui/app.js").status_code == 200
    assert served.customer_id not in index.text
    paths = httpx.get(f"{served.base}/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not any(p.startswith(("/ui", "/v1/stream")) for p in paths)


def test_the_kpi_stream_needs_the_read_scope_and_pushes_snapshots(served: Served) -> None:
    url = f"{served.base}/v1/stream/kpis"
    refused = httpx.get(url)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    headers = {"Authorization": f"Bearer {_token(served.base, VIEWER)}"}
    with httpx.stream("GET", url, headers=headers, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "event: kpis"
        data = next(lines)
        assert data.startswith("data: {")
        assert '"dataCompleteness"' in data
        assert next(lines) == ""
        assert next(lines) == "event: consumers"


def test_the_kpi_stream_pushes_at_most_once_a_second(served: Served) -> None:
    """Events posted every 0.1 s for 3 s: the stream pushes the changes, merged, a second
    or more apart (read as they arrive, in a thread of their own)."""
    headers = {"Authorization": f"Bearer {_token(served.base, VIEWER)}"}
    pushed: list[tuple[float, int]] = []  # when each snapshot arrived, the events it counts
    stop = threading.Event()

    def read() -> None:
        with httpx.stream(
            "GET", f"{served.base}/v1/stream/kpis", headers=headers, timeout=20
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith('data: {"asOf"'):
                    counted = re.search(r'"events":(\d+)', line)
                    assert counted is not None
                    pushed.append((time.monotonic(), int(counted[1])))
                if stop.is_set():
                    return

    writer = _headers(served.base)
    before = httpx.get(f"{served.base}/v1/kpis", headers=writer).json()["events"]
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    posts = 0
    login = {"type": "customer.login", "payload": {"channel": "mobile"}}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        r = httpx.post(
            f"{served.base}/v1/customers/{served.customer_id}/events", headers=writer, json=login
        )
        assert r.status_code == 202, r.text
        posts += 1
        time.sleep(0.1)
    time.sleep(2)  # the last push
    stop.set()
    httpx.post(  # one more push, at which the reader stops
        f"{served.base}/v1/customers/{served.customer_id}/events", headers=writer, json=login
    )
    reader.join(timeout=20)
    assert len(pushed) >= 3, pushed  # the first snapshot, then the changes
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(pushed)]
    assert min(gaps) > 0.9, gaps
    counts = [n for _, n in pushed]
    assert counts == sorted(counts)
    assert counts[-1] >= before + posts, (before, posts, counts)  # all counted by the last


def test_sign_in_refuses_a_wrong_secret_and_keeps_the_token_in_the_tab(
    page: Page, served: Served
) -> None:
    page.goto(f"{served.base}/#/alerts")  # a data page without a token: sign in first
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()
    page.get_by_label("Client id").fill(ANALYST[0])
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown client or wrong secret")
    shot(page, "signin")
    page.get_by_label("Client secret").fill(ANALYST[1])
    page.get_by_role("button", name="Sign in").click()
    # Back where the operator was going, signed in.
    expect(page.get_by_role("heading", name="Fraud alerts")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {ANALYST[0]}")).to_be_visible()
    stored = page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")
    assert "digitaltwin.read" in stored["scopes"]


def test_a_401_sends_the_operator_back_to_sign_in(page: Page, served: Served) -> None:
    sign_in(page, served)
    expect(page.locator(".live")).to_contain_text("Live")  # the Overview has read its token
    # A token the server no longer accepts (signed with another key), as after a restart.
    page.evaluate(
        f"""() => {{
            const s = JSON.parse(sessionStorage.getItem('{SESSION_KEY}'));
            s.token = s.token.slice(0, -4) + 'AAAA';
            sessionStorage.setItem('{SESSION_KEY}', JSON.stringify(s));
        }}"""
    )
    page.get_by_role("link", name="Fraud alerts").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None


def test_the_overview_moves_while_events_arrive_without_a_reload(
    page: Page, served: Served
) -> None:
    sign_in(page, served)
    customers = kpi(page, "customers")
    expect(customers).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator(".live")).to_contain_text("Live")
    before = int(customers.inner_text().replace(",", ""))
    page.evaluate("window.stillTheSamePage = true")
    newcomers = [
        {
            "type": "customer.registered",
            "subjectId": str(uuid.uuid4()),
            "payload": {"name": f"Newcomer {n}", "email": f"newcomer{n}@example.com"},
        }
        for n in range(3)
    ]
    _post(served.base, newcomers)
    expect(customers).to_have_text(str(before + 3), timeout=20_000)
    assert page.evaluate("window.stillTheSamePage") is True  # pushed, not reloaded
    expect(kpi(page, "openAlerts")).not_to_have_text("0")
    expect(kpi(page, "completeness")).to_contain_text("%")
    expect(kpi(page, "precision")).to_have_text("50.0 %")  # one confirmed, one false positive
    expect(page.locator('[data-kpi-sub="precision"]')).to_contain_text("1 confirmed")
    expect(kpi(page, "riskScored")).to_have_text(str(len(RISK_SCORES)))
    risk_chart = page.get_by_role("img", name=re.compile("^Customers by their latest risk score"))
    expect(risk_chart).to_be_visible()
    expect(risk_chart.locator("rect")).to_have_count(10)
    expect(page.get_by_role("img", name=re.compile("^Fraud alerts: "))).to_be_visible()
    expect(page.locator("svg.bars").first).to_be_visible()
    shot(page, "overview")


def test_customer_360_shows_the_twin_with_contact_data_masked(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Customer 360").click()
    page.get_by_label("Customer id").fill(served.customer_id)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.locator("[data-customer-name]")).not_to_have_text("—")
    expect(page.get_by_role("table", name="Accounts and balances")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile(r"^The \d+ newest"))).to_be_visible()
    expect(page.get_by_role("link", name=served.alert_id[:8])).to_be_visible()
    content = page.content()
    assert served.customer_email not in content  # masked
    assert f"{served.customer_email[0]}•••@" in content
    shot(page, "customer")
    # The twin as it was before the customer existed: nothing to show.
    page.get_by_label("As of (UTC, optional)").fill("2001-01-01T00:00:00")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status").filter(has_text="had no events by")).to_be_visible()


def test_an_alert_status_change_persists_after_navigating_away_and_back(
    page: Page, served: Served
) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Fraud alerts").click()
    page.get_by_label("Status").select_option("open")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_role("button", name="Apply").click()
    link = page.get_by_role("link", name=f"Alert {served.alert_id[:8]}")
    expect(link).to_be_visible()
    expect(page.get_by_role("navigation", name="Pages of fraud alerts")).to_contain_text("of")
    shot(page, "alerts")
    link.click()
    expect(page.get_by_text("amount 14x the customer's median")).to_be_visible()
    expect(page.locator("[data-alert-status]")).to_have_attribute("data-alert-status", "open")
    page.get_by_label("Note (why; kept in the log)").fill("calling the customer")
    page.get_by_role("button", name="Start investigating").click()
    expect(page.locator("[data-alert-status]")).to_have_attribute(
        "data-alert-status", "investigating"
    )
    expect(page.get_by_role("button", name="Confirm fraud")).to_be_visible()
    shot(page, "alert")

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.go_back()
    expect(page.locator("[data-alert-status]")).to_have_attribute(
        "data-alert-status", "investigating"
    )
    expect(page.get_by_role("cell", name="calling the customer")).to_be_visible()
    r = httpx.get(f"{served.base}/v1/fraud-alerts/{served.alert_id}", headers=_headers(served.base))
    assert r.json()["status"] == "investigating"


def test_a_reader_without_the_write_scope_cannot_decide(page: Page, served: Served) -> None:
    sign_in(page, served, VIEWER)
    page.goto(f"{served.base}/#/alerts/{served.alert_id}")
    expect(page.get_by_text("needs the digitaltwin.write scope")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm fraud")).to_have_count(0)


def test_branches_and_operations_tables(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Branches").click()
    page.get_by_label("Branch id").fill(served.branch_id)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    expect(page.get_by_text("Staff on duty").first).to_be_visible()
    shot(page, "branch")
    page.get_by_role("link", name="Operations").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    expect(page.get_by_role("navigation", name="Pages of operational alerts")).to_be_visible()
    shot(page, "operations")


def test_the_branches_list_moves_live_and_a_branch_shows_its_day(
    page: Page, served: Served
) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Branches").click()
    listed = page.get_by_role("table", name="Every branch, live")
    expect(listed).to_be_visible()
    expect(page.locator(".live")).to_contain_text("Live")
    expect(listed.get_by_role("link", name=served.branch_name)).to_be_visible()
    waiting = page.locator(f'[data-waiting="{served.branch_id}"]')
    before = int(waiting.inner_text().replace(",", ""))
    page.evaluate("window.stillTheSamePage = true")
    state = httpx.get(
        f"{served.base}/v1/branches/{served.branch_id}/state", headers=_headers(served.base)
    ).json()
    service = state["queues"][0]["service"] if state["queues"] else "teller"
    now = datetime.now(UTC)
    joins = [
        {
            "type": "queue.joined",
            "subjectId": served.branch_id,
            "occurredAt": now.isoformat(),
            "payload": {"ticketId": f"E2E-{uuid.uuid4().hex[:8]}", "service": service},
        }
        for _ in range(2)
    ]
    _post(served.base, joins)
    expect(waiting).to_have_text(str(before + 2), timeout=20_000)  # pushed, not polled
    assert page.evaluate("window.stillTheSamePage") is True
    shot(page, "branches")

    listed.get_by_role("link", name=served.branch_name).click()
    expect(page.get_by_role("heading", name=served.branch_name, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="The day so far")).to_be_visible()
    joined = int(page.locator("[data-day-joined]").inner_text().replace(",", ""))
    assert joined >= 2  # at least the two who joined just now
    hour_chart = page.get_by_role("img", name=re.compile("^Customers joined per hour"))
    expect(hour_chart).to_be_visible()
    expect(page.get_by_role("table", name="Per hour")).to_contain_text(f"{now:%H}:00")
    shot(page, "branch-day")
    page.get_by_label("Day (UTC)").fill("2001-01-01")  # before the branch: a quiet day
    page.get_by_role("button", name="Show the day").click()
    expect(page.get_by_role("heading", name="The day 2001-01-01")).to_be_visible()
    expect(page.locator("[data-day-joined]")).to_have_text("0")


def test_customer_360_shows_the_event_timeline_masked_and_paged(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.goto(f"{served.base}/#/customers/{served.customer_id}")
    timeline = page.get_by_role("table", name="Every event of the customer, newest first")
    expect(timeline).to_be_visible()
    expect(timeline).to_contain_text("fraud.alert_status_changed")  # the newest: the verdicts
    pages = page.get_by_role("navigation", name="Pages of the customer's events")
    expect(pages).to_contain_text(re.compile(r"(^|\D)1\D15 of"))
    page.evaluate("window.stillTheSamePage = true")
    pages.get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")  # by keyboard: the focus stays on the pager
    expect(pages).to_contain_text(re.compile(r"16\D30 of"))
    assert page.evaluate("window.stillTheSamePage") is True  # paged in place
    assert page.evaluate("document.activeElement.textContent") in ("Next", "Previous")
    content = page.content()
    assert served.customer_email not in content
    assert re.search(r"tok_[0-9a-f]{8,}", content) is None  # no card token in full
    panel = page.locator("section.panel").filter(
        has=page.get_by_role("heading", name="Event timeline")
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(SCREENSHOTS / "customer-timeline.png"))


def _register_models(data_dir: Path) -> None:
    """Versions of both models in the deployment's registry, as training would leave them (a
    champion and a challenger of FraudScore, one RiskScore version without an alias)."""
    from banktwin.config import Settings
    from banktwin.registry import CHALLENGER, CHAMPION, ModelCard, open_model_registry

    start = datetime(2026, 1, 1, tzinfo=UTC)
    registry = open_model_registry(Settings(data_dir=data_dir, mlflow_uri=None))
    try:
        for name, seed, flavor in (
            ("FraudScore", 1, "lightgbm"),
            ("FraudScore", 2, "lightgbm"),
            ("RiskScore", 3, "logistic"),
        ):
            card = ModelCard(
                name=name,
                flavor=flavor,
                params={"seed": seed},
                metrics={
                    "validation_average_precision": 0.55 + seed / 20,
                    "validation_roc_auc": 0.9 + seed / 100,
                },
                feature_names=("amount", "merchant_risk"),
                training_window=(start, start + timedelta(days=30 * seed)),
                data_hash=f"{seed:064x}",
            )
            registry.register(card, b"not a model: the page only lists it")
        registry.set_alias("FraudScore", CHALLENGER, 2)
        registry.set_alias("FraudScore", CHAMPION, 1)
    finally:
        registry.close()


def _measured_drift(data_dir: Path) -> None:
    """Three days of RiskScore drift in the risk engine's keys, as it keeps them when it
    measures a day (the last one above the threshold)."""
    from datetime import date

    import msgspec

    from banktwin.adapters import open_kv_store
    from banktwin.consumers.engine import Checkpoint
    from banktwin.errors import ConflictError
    from banktwin.risk.engine import DRIFT_DAY_PREFIX, DRIFT_LATEST, DriftRecord
    from banktwin.risk.names import RISK_CONSUMER

    days = [
        DriftRecord(
            model_name="RiskScore",
            model_version="RiskScore/1",
            day=date(2026, 3, day),
            rows=1800,
            score_psi=0.02 * day,
            features={"outflow_90d": 0.05 * day, "liquid_balance": 0.01},
            worst_input="outflow_90d",
            worst_psi=0.05 * day,
            threshold=0.1,
            drifted=0.05 * day > 0.1,
        )
        for day in (1, 2, 3)
    ]
    encode = msgspec.msgpack.Encoder().encode
    puts: dict[str, bytes | None] = {
        f"{DRIFT_DAY_PREFIX}RiskScore/1/{d.day.isoformat()}": encode(d) for d in days
    }
    puts[DRIFT_LATEST] = encode(days[-1])
    kv = open_kv_store(f"sqlite:///{data_dir / 'twin-state.db'}")
    try:
        for _ in range(20):  # the running engine may commit between the read and the write
            positions = kv.positions(RISK_CONSUMER)
            try:
                kv.commit(Checkpoint(RISK_CONSUMER, positions, positions), puts)
                return
            except ConflictError:
                time.sleep(0.05)
        pytest.fail("could not write the drift beside the running risk engine")
    finally:
        kv.close()


def test_the_models_page_lists_versions_and_drift_for_admins_only(
    page: Page, served: Served
) -> None:
    sign_in(page, served)  # the analyst: no admin scope
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_text("needs the digitaltwin.admin scope")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _register_models(served.data_dir)
    _measured_drift(served.data_dir)
    sign_in(page, served, OPS)
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", name="FraudScore")).to_be_visible()
    expect(page.locator('[data-champion="FraudScore"]')).to_have_text("version 1")
    versions = page.get_by_role("table", name="Versions of FraudScore, newest first")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("challenger")
    expect(page.get_by_role("table", name="Versions of RiskScore, newest first")).to_contain_text(
        "logistic"
    )
    # Drift: "no drift measured yet" where the endpoint answers 404 (the fraud model's drift
    # is not measured), the days measured where it answers.
    fraud = page.locator('[data-drift="FraudScore"]')
    expect(fraud.locator("[data-no-drift]")).to_be_visible()
    risk = page.locator('[data-drift="RiskScore"]')
    expect(risk.locator('[data-score-psi="RiskScore"]')).to_contain_text("0.060")
    expect(risk).to_contain_text("outflow_90d")
    expect(risk).to_contain_text("drifted")
    days = page.get_by_role("table", name="Drift of RiskScore, newest first")
    expect(days.locator("tbody tr")).to_have_count(3)
    expect(days.locator("tbody tr").first).to_contain_text("2026-03-03")
    page.get_by_role("link", name=re.compile("^Operational alerts")).click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    page.get_by_role("link", name="Models", exact=True).first.click()
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    expect(page.get_by_role("heading", name="FraudScore")).to_be_visible()
    shot(page, "models")


def _dead_letters(data_dir: Path) -> None:
    """Two records a Kafka connector refused, kept as it keeps them: one pending, one
    discarded. The pending one holds a card number (the page must not show records)."""
    from banktwin.adapters import open_dead_letter_store
    from banktwin.config import Settings
    from banktwin.ingest.dead_letters import Origin, Status, new_dead_letter
    from banktwin.intake import FieldError

    table = open_dead_letter_store(Settings(data_dir=data_dir).state_store_url)
    at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    try:
        pending = new_dead_letter(
            "payments",
            Origin("payments", 2, 1500),
            b'{"type":"transaction.posted","payload":{"pan":"4111111111111111","amount":"x"}}',
            [FieldError("payload.amount", "Input should be a valid decimal")],
            at,
        )
        thrown = new_dead_letter(
            "payments", Origin("payments", 0, 7), b"not json", [FieldError("body", "not JSON")], at
        )
        table.add([pending, thrown])
        table.resolve(thrown.letter_id, Status.DISCARDED, "a test message", at)
    finally:
        table.close()


def test_operations_lists_dead_letters_with_their_reasons_for_admins_only(
    page: Page, served: Served
) -> None:
    sign_in(page, served)  # the analyst: no admin scope
    page.get_by_role("link", name="Operations").click()
    expect(page.get_by_text("Dead letters need the digitaltwin.admin scope")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _dead_letters(served.data_dir)
    sign_in(page, served, OPS)
    page.get_by_role("link", name="Operations").click()
    letters = page.get_by_role("table", name="Dead letters, oldest first")
    expect(letters.locator("tbody tr")).to_have_count(1)  # pending ones by default
    expect(letters).to_contain_text("payments[2]@1500")
    expect(letters).to_contain_text("payload.amount: Input should be a valid decimal")
    expect(page.locator("main")).not_to_contain_text("4111111111111111")

    page.get_by_role("combobox", name="Dead letters", exact=True).select_option("any")
    page.get_by_role("button", name="Show").click()
    expect(letters.locator("tbody tr")).to_have_count(2)
    expect(letters).to_contain_text("a test message")
    expect(page.get_by_role("navigation", name="Pages of dead letters")).to_contain_text(
        "1\u20132 of 2"
    )
    page.reload()  # the choice is in the address: it survives a reload
    expect(
        page.get_by_role("table", name="Dead letters, oldest first").locator("tbody tr")
    ).to_have_count(2)
    shot(page, "operations-dead-letters")
