"""One log holding versions 1 and 2 of ``customer.login``: every adapter reads both as version
2, and the projector and as-of reads count them alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from banktwin.adapters import open_event_log, open_state_store
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event, SubjectKind
from banktwin.domain.payloads.common import CountryCode, Payload
from banktwin.domain.payloads.customer import CustomerLogin, LoginChannel, LoginOutcome
from banktwin.domain.twin import fold
from banktwin.log.port import EventLog
from banktwin.projector.as_of import twin_as_of
from banktwin.projector.projector import Projector
from tests.factories import T0, event, new_id, registered

PARTITIONS = 3

LogFactory = Callable[[], EventLog]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogFactory]:
    """Opens the same log again each call (as a restarted process, a later build, would)."""
    if request.param == "memory":
        shared = open_event_log(f"memory://?partitions={PARTITIONS}")
        opened_logs = [shared]
        yield lambda: shared
    else:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'log.db'}?partitions={PARTITIONS}"
        else:
            base = request.getfixturevalue("postgres_url")
            url = f"{base}&partitions={PARTITIONS}"
        opened_logs = []

        def factory() -> EventLog:
            log = open_event_log(url)
            opened_logs.append(log)
            return log

        yield factory
    for log in opened_logs:
        log.close()


class LoginV1(Payload):
    """``customer.login`` as version 1 wrote it."""

    channel: LoginChannel
    success: bool = True
    device_id: str | None = None
    ip_country: CountryCode | None = None


def login_v1(customer_id: str, minutes: int, **fields: object) -> Event:
    return Event(
        event_id=new_id(),
        type="customer.login",
        subject_id=customer_id,
        occurred_at=T0 + timedelta(minutes=minutes),
        payload=LoginV1.model_validate({"channel": "web", **fields}),
        source="old-app",
        version=1,
    )


def login_v2(customer_id: str, minutes: int, outcome: str) -> Event:
    payload = {"channel": "mobile", "outcome": outcome, "authMethod": "biometric"}
    return event("customer.login", customer_id, payload, minutes=minutes)


def history(customer_id: str) -> list[Event]:
    return [
        registered(customer_id),
        login_v1(customer_id, 1, deviceId="dev_1"),  # success absent: it succeeded
        login_v1(customer_id, 2, success=False),
        login_v1(customer_id, 3, success=True, ipCountry="FR"),
        login_v2(customer_id, 4, "failed"),
        login_v2(customer_id, 5, "locked"),
        login_v2(customer_id, 6, "challenged"),
        login_v2(customer_id, 7, "succeeded"),
    ]


OUTCOMES = ["succeeded", "failed", "succeeded", "failed", "locked", "challenged", "succeeded"]


def test_every_login_reads_back_as_version_2_with_its_outcome(log_factory: LogFactory) -> None:
    customer = new_id()
    log_factory().append(history(customer))
    logins = [
        logged.event
        for logged in log_factory().read_subject(customer)
        if logged.event.type == "customer.login"
    ]
    assert [e.version for e in logins] == [2] * 7
    assert all(type(e.payload) is CustomerLogin for e in logins)
    payloads = [e.payload for e in logins if isinstance(e.payload, CustomerLogin)]
    assert [p.outcome for p in payloads] == [LoginOutcome(o) for o in OUTCOMES]
    assert [p.auth_method for p in payloads[:3]] == [None] * 3
    assert payloads[0].device_id == "dev_1" and payloads[2].ip_country == "FR"
    assert payloads[0].model_fields_set == {"channel", "outcome", "device_id"}


def test_the_projector_and_as_of_reads_count_both_versions_alike(
    log_factory: LogFactory,
) -> None:
    customer = new_id()
    log = log_factory()
    log.append(history(customer))
    store = open_state_store("memory://")
    try:
        Projector(log, store).run_until_caught_up()
        projected = store.customer(customer)
    finally:
        store.close()
    assert projected is not None
    b = projected.behaviour
    assert (b.login_count, b.failed_login_count) == (3, 3)
    assert b.locked_out_at == T0 + timedelta(minutes=5)
    assert b.last_login_at == T0 + timedelta(minutes=7) and b.last_login_channel == "mobile"
    assert projected.events_applied == 8

    folded = fold(logged.event for logged in log_factory().read_subject(customer))
    assert isinstance(folded, CustomerTwin) and folded.behaviour == b

    earlier = twin_as_of(log, SubjectKind.CUSTOMER, customer, T0 + timedelta(minutes=3))
    assert isinstance(earlier, CustomerTwin)
    before = earlier.behaviour
    assert (before.login_count, before.failed_login_count) == (2, 1)
    assert before.last_login_country == "FR" and before.locked_out_at is None
