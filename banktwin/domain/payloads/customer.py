"""Payloads of customer events: profile, consent, behaviour and credit-bureau facts."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import EmailStr, Field, TypeAdapter, ValidationError, model_validator

from banktwin.domain.payloads.common import CountryCode, Location, Payload, ShortText
from banktwin.domain.sensitivity import personal

Address = Annotated[str, Field(min_length=1, max_length=300)]
DeviceId = Annotated[str, Field(min_length=1, max_length=128)]


class Segment(StrEnum):
    RETAIL = "retail"
    PREMIUM = "premium"
    PRIVATE = "private"
    SMALL_BUSINESS = "small_business"


class Consent(Payload):
    """Consent flags. ``processing`` is the seed's single consent bit."""

    processing: bool = False
    marketing: bool = False
    profiling: bool = False
    data_sharing: bool = False


class ConsentChange(Payload):
    """A partial change of consent flags: only the flags given change."""

    processing: bool | None = None
    marketing: bool | None = None
    profiling: bool | None = None
    data_sharing: bool | None = None


class CustomerRegistered(Payload):
    name: ShortText = personal()
    dob: date | None = personal(None)
    email: EmailStr | None = personal(None)
    address: Address | None = personal(None)
    phone: Annotated[str, Field(max_length=40)] | None = personal(None)
    country: CountryCode | None = None
    segment: Segment = Segment.RETAIL
    consent: Consent = Consent()


class CustomerProfileUpdated(Payload):
    """Only the fields given change; at least one must be given."""

    name: ShortText | None = personal(None)
    dob: date | None = personal(None)
    email: EmailStr | None = personal(None)
    address: Address | None = personal(None)
    phone: Annotated[str, Field(max_length=40)] | None = personal(None)
    country: CountryCode | None = None
    segment: Segment | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> CustomerProfileUpdated:
        if not self.model_fields_set:
            raise ValueError("a profile update must change at least one field")
        return self


class CustomerConsentChanged(Payload):
    consent: ConsentChange
    channel: ShortText | None = None


class LoginChannel(StrEnum):
    MOBILE = "mobile"
    WEB = "web"
    BRANCH = "branch"
    PHONE = "phone"


class LoginOutcome(StrEnum):
    """How a login attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Wrong credentials."""
    LOCKED = "locked"
    """Refused, and the account was locked (after repeated failures)."""
    CHALLENGED = "challenged"
    """A step-up (MFA) challenge was issued and not yet passed; passing it is a new login."""


class AuthMethod(StrEnum):
    """How the customer proved who they are."""

    PASSWORD = "password"
    BIOMETRIC = "biometric"
    OTP = "otp"
    PASSKEY = "passkey"


class CustomerLogin(Payload):
    """A login attempt. Version 2: ``outcome`` replaces version 1's ``success`` (see
    :func:`login_v1_to_v2`), and ``authMethod`` is new."""

    channel: LoginChannel
    outcome: LoginOutcome = LoginOutcome.SUCCEEDED
    auth_method: AuthMethod | None = None
    device_id: DeviceId | None = personal(None)
    ip_country: CountryCode | None = None
    location: Location | None = None


_V1_SUCCESS = TypeAdapter(bool)
_V2_LOGIN_FIELDS = ("outcome", "authMethod", "auth_method")


def login_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """``customer.login`` 1 → 2: ``success`` true (or absent) becomes ``outcome: succeeded``,
    false ``failed``; ``success`` is dropped and ``authMethod`` stays absent (version 1 did not
    say).

    Raises:
        ValueError: ``success`` is not a boolean as version 1 took it (``true``, ``"no"``, 0
            …), or the payload holds a version 2 field (a posted payload, not validated yet).
    """
    for name in _V2_LOGIN_FIELDS:
        if name in payload:
            raise ValueError(f"{name} is not a field of version 1")
    upgraded = {name: value for name, value in payload.items() if name != "success"}
    success = payload.get("success", True)
    if success is not True and success is not False:
        try:
            success = _V1_SUCCESS.validate_python(success)
        except ValidationError:
            raise ValueError(f"success must be true or false, not {success!r}") from None
    upgraded["outcome"] = (LoginOutcome.SUCCEEDED if success else LoginOutcome.FAILED).value
    return upgraded


class CustomerDeviceSeen(Payload):
    device_id: DeviceId = personal()
    platform: ShortText | None = None
    model: ShortText | None = None


class CreditScoreReceived(Payload):
    score: int = Field(ge=300, le=850)
    bureau: ShortText
    report_id: ShortText | None = None
    delinquencies: int = Field(0, ge=0)
