"""Payloads of customer events: profile, consent, behaviour and credit-bureau facts."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, Field, model_validator

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


class CustomerLogin(Payload):
    channel: LoginChannel
    success: bool = True
    device_id: DeviceId | None = personal(None)
    ip_country: CountryCode | None = None
    location: Location | None = None


class CustomerDeviceSeen(Payload):
    device_id: DeviceId = personal()
    platform: ShortText | None = None
    model: ShortText | None = None


class CreditScoreReceived(Payload):
    score: int = Field(ge=300, le=850)
    bureau: ShortText
    report_id: ShortText | None = None
    delinquencies: int = Field(0, ge=0)
