"""A payload stored at an older version reads back as the current version, upcast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from banktwin.adapters import open_event_log
from banktwin.domain.events import EVENT_TYPES, Event
from banktwin.domain.payloads.common import CountryCode, Location, Payload
from banktwin.domain.payloads.customer import CustomerLogin, LoginChannel, LoginOutcome
from banktwin.domain.upcasting import UnsupportedVersionError, UpcastError
from banktwin.log.codec import decode_event, decode_payload, encode_payload, upcast_event
from banktwin.log.port import EventLog
from banktwin.log.stored_payloads import StoredPayloadError
from tests.factories import T0, new_id


class LoginV1(Payload):
    """``customer.login`` as version 1 wrote it."""

    channel: LoginChannel
    success: bool = True
    device_id: str | None = None
    ip_country: CountryCode | None = None
    location: Location | None = None


def login_v1(customer_id: str, **fields: object) -> Event:
    return Event(
        event_id=new_id(),
        type="customer.login",
        subject_id=customer_id,
        occurred_at=T0,
        payload=LoginV1.model_validate(fields),
        source="test",
        version=1,
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    log = open_event_log(f"sqlite:///{tmp_path / 'log.db'}?partitions=2")
    yield log
    log.close()


def test_customer_login_is_at_version_2() -> None:
    assert EVENT_TYPES["customer.login"].version == 2


def test_a_v1_login_in_the_log_reads_back_as_a_v2_login(log: EventLog) -> None:
    customer = new_id()
    stored = login_v1(customer, channel="web", success=False, deviceId="dev_1", ipCountry="FR")
    [result] = log.append([stored])
    [logged] = log.read(result.partition, 0, 10)
    [as_of] = list(log.read_subject(customer))
    for event in (logged.event, as_of.event):
        assert event.version == 2 and event.event_id == stored.event_id
        payload = event.payload
        assert type(payload) is CustomerLogin
        assert payload == CustomerLogin(
            channel=LoginChannel.WEB,
            outcome=LoginOutcome.FAILED,
            device_id="dev_1",
            ip_country="FR",
        )
        assert payload.model_fields_set == {"channel", "outcome", "device_id", "ip_country"}


def test_an_upcast_payload_encodes_as_the_v2_json_it_became() -> None:
    v1 = LoginV1.model_validate(
        {"channel": "mobile", "location": {"country": "DE", "latitude": 52.52, "longitude": 13}}
    )
    payload = decode_payload("customer.login", 1, encode_payload(v1))
    assert isinstance(payload, CustomerLogin) and payload.outcome is LoginOutcome.SUCCEEDED
    assert payload.location is not None and payload.location.latitude == 52.52
    assert type(payload.location.longitude) is float
    expected = CustomerLogin.model_validate_json(
        b'{"channel": "mobile", "outcome": "succeeded",'
        b' "location": {"country": "DE", "latitude": 52.52, "longitude": 13}}'
    )
    assert payload == expected and payload.model_fields_set == expected.model_fields_set
    assert encode_payload(payload) == encode_payload(expected)


def test_a_stored_event_of_an_older_version_is_read_as_the_current_one() -> None:
    data = encode_payload(LoginV1(channel=LoginChannel.PHONE, success=True))
    event = decode_event(new_id(), "customer.login", 1, new_id(), T0, T0, "test", data)
    assert event.version == 2
    assert event.payload == CustomerLogin(channel=LoginChannel.PHONE)


def test_an_event_object_of_an_older_version_is_upcast_as_a_log_would_read_it() -> None:
    older = login_v1(new_id(), channel="branch", success=False)
    event = upcast_event(older)
    assert (event.version, event.event_id, event.occurred_at) == (2, older.event_id, T0)
    assert event.payload == CustomerLogin(channel=LoginChannel.BRANCH, outcome=LoginOutcome.FAILED)
    assert upcast_event(event) is event  # current already


@pytest.mark.parametrize(
    ("event_type", "version", "error", "message"),
    [
        ("customer.login", 3, UnsupportedVersionError, "customer.login version 3 is not supp"),
        ("customer.login", 0, UnsupportedVersionError, "customer.login version 0 is not supp"),
        ("queue.served", 2, UnsupportedVersionError, "queue.served version 2 is not supp"),
        ("customer.teleported", 1, ValueError, "'customer.teleported' is unknown"),
    ],
)
def test_a_version_or_type_this_build_does_not_know_is_refused_naming_it(
    event_type: str, version: int, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        decode_payload(event_type, version, b'{"channel": "web"}')


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b'{"channel": "web", "success": "maybe"}', UpcastError, "success must be true or"),
        (b'{"channel": "fax"}', StoredPayloadError, "version 1, upcast to 2: channel: Input"),
        (b'["web"]', StoredPayloadError, "a payload is a JSON object"),
        (b'{"channel": ', StoredPayloadError, "customer.login version 1: not JSON"),
    ],
)
def test_an_older_payload_that_does_not_fit_is_refused_with_the_reason(
    data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        decode_payload("customer.login", 1, data)
