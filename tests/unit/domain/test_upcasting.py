"""Older payload versions upcast to the current one: the registry, the chains, the errors."""

from __future__ import annotations

from typing import Any

import pytest

from banktwin.domain import upcasting
from banktwin.domain.events import EVENT_TYPES, UnknownEventTypeError
from banktwin.domain.payloads.customer import CustomerLogin, LoginOutcome
from banktwin.domain.upcasting import (
    UPCASTERS,
    UnsupportedVersionError,
    UpcastError,
    supported_versions,
    upcast,
)


def test_every_upcaster_names_a_known_type_and_a_version_below_its_current() -> None:
    for event_type, version in UPCASTERS:
        assert event_type in EVENT_TYPES
        assert 1 <= version < EVENT_TYPES[event_type].version


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_type_reads_every_version_from_1(event_type: str) -> None:
    current = EVENT_TYPES[event_type].version
    assert supported_versions(event_type) == range(1, current + 1)
    for version in range(1, current):
        assert (event_type, version) in UPCASTERS, f"no upcaster {event_type} {version}"


def test_every_chain_runs_each_step_once_in_order_up_to_the_current_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps: list[tuple[str, int]] = []

    def recording(key: tuple[str, int]) -> upcasting.Upcaster:
        def step(payload: dict[str, Any]) -> dict[str, Any]:
            steps.append(key)
            return {**payload, "steps": payload["steps"] + 1}

        return step

    monkeypatch.setattr(upcasting, "UPCASTERS", {key: recording(key) for key in UPCASTERS})
    for event_type, spec in EVENT_TYPES.items():
        for version in supported_versions(event_type):
            steps.clear()
            upgraded = upcast(event_type, version, {"steps": 0})
            assert steps == [(event_type, v) for v in range(version, spec.version)]
            assert upgraded["steps"] == spec.version - version


@pytest.mark.parametrize(
    ("v1", "outcome"),
    [
        ({"channel": "web", "success": True}, "succeeded"),
        ({"channel": "web"}, "succeeded"),
        ({"channel": "web", "success": False}, "failed"),
        ({"channel": "web", "success": "no"}, "failed"),  # as version 1's model took it
        ({"channel": "web", "success": 1}, "succeeded"),
    ],
)
def test_a_v1_login_becomes_an_outcome(v1: dict[str, Any], outcome: str) -> None:
    assert upcast("customer.login", 1, v1) == {"channel": "web", "outcome": outcome}


def test_a_v1_login_keeps_its_other_fields_and_gains_no_auth_method() -> None:
    v1 = {
        "channel": "mobile",
        "success": False,
        "deviceId": "dev_1",
        "ipCountry": "FR",
        "location": {"country": "FR", "city": "Paris"},
    }
    given = dict(v1)
    v2 = upcast("customer.login", 1, v1)
    assert v1 == given  # the argument is not changed
    assert v2 == {**{k: v for k, v in v1.items() if k != "success"}, "outcome": "failed"}
    login = CustomerLogin.model_validate(v2)
    assert login.outcome is LoginOutcome.FAILED and login.auth_method is None
    assert login.model_fields_set == {"channel", "outcome", "device_id", "ip_country", "location"}


def test_the_current_version_is_returned_as_it_is() -> None:
    v2 = {"channel": "web", "outcome": "locked"}
    assert upcast("customer.login", 2, v2) is v2


@pytest.mark.parametrize(
    ("v1", "message"),
    [
        ({"channel": "web", "success": "maybe"}, "success must be true or false, not 'maybe'"),
        ({"channel": "web", "success": None}, "success must be true or false, not None"),
        ({"channel": "web", "outcome": "failed"}, "outcome is not a field of version 1"),
        ({"channel": "web", "authMethod": "otp"}, "authMethod is not a field of version 1"),
    ],
)
def test_a_v1_login_it_cannot_read_is_refused_naming_the_field(
    v1: dict[str, Any], message: str
) -> None:
    with pytest.raises(UpcastError, match=f"^customer.login version 1: {message}$") as caught:
        upcast("customer.login", 1, v1)
    assert (caught.value.event_type, caught.value.version) == ("customer.login", 1)


@pytest.mark.parametrize(
    ("event_type", "version", "message"),
    [
        (
            "customer.login",
            3,
            "customer.login version 3 is not supported: it is newer than the current 2 "
            "(this build reads versions 1 to 2)",
        ),
        (
            "customer.login",
            0,
            "customer.login version 0 is not supported: versions start at 1 "
            "(this build reads versions 1 to 2)",
        ),
        (
            "account.opened",
            2,
            "account.opened version 2 is not supported: it is newer than the current 1 "
            "(this build reads version 1)",
        ),
    ],
)
def test_a_version_this_build_cannot_read_is_refused_with_what_it_can(
    event_type: str, version: int, message: str
) -> None:
    with pytest.raises(UnsupportedVersionError) as caught:
        upcast(event_type, version, {})
    assert str(caught.value) == message
    assert (caught.value.event_type, caught.value.version) == (event_type, version)
    assert isinstance(caught.value, ValueError)


def test_a_missing_step_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upcasting, "UPCASTERS", {})
    assert supported_versions("customer.login") == range(2, 3)
    with pytest.raises(
        UnsupportedVersionError,
        match=r"customer.login version 1 is not supported: no upcaster from 1 to 2 "
        r"\(this build reads version 2\)",
    ):
        upcast("customer.login", 1, {"channel": "web"})


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownEventTypeError):
        upcast("customer.teleported", 1, {})
    with pytest.raises(UnknownEventTypeError):
        supported_versions("customer.teleported")
