"""Building blocks shared by every event payload: the base model and constrained types."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel


class Payload(BaseModel):
    """Base of every event payload: immutable, camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


def canonical_uuid(value: str) -> str:
    """Lower-case, hyphenated form of a UUID; raises ``ValueError`` for anything else."""
    return str(uuid.UUID(value))


UuidStr = Annotated[
    str, AfterValidator(canonical_uuid), WithJsonSchema({"type": "string", "format": "uuid"})
]
"""A UUID kept as its canonical string, the form ids take everywhere in the twin."""

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.:\-]*$")]
"""A source system's key (account, transaction, terminal, staff, ticket): 1 to 64 safe chars."""

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """Two decimal places, as the seed's DECIMAL(18,2): ``14523.5`` becomes ``14523.50``."""
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=2, allow_inf_nan=False),
    AfterValidator(to_cents),
]
"""An amount of money, DECIMAL(18,2) as in the seed's schema; never a float."""

PositiveMoney = Annotated[
    Decimal, Field(gt=0, max_digits=18, decimal_places=2), AfterValidator(to_cents)
]

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
"""ISO 4217 alphabetic code."""

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["DE"])]
"""ISO 3166-1 alpha-2 code."""

ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class Location(Payload):
    """Where something happened (a merchant, a branch, a login)."""

    country: CountryCode
    city: ShortText | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
