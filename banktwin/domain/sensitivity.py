"""Markers for personal and card data in event schemas.

GDPR erasure will encrypt personal fields per customer (erasure = deleting the key) and PCI
tokenization replaces card data at the edge, so every schema says which of its fields are
which. The marker travels in the JSON schema as ``x-sensitivity`` so the OpenAPI page, the
lakehouse export and the masking layer all read the same fact.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Sensitivity(StrEnum):
    """How a field must be protected."""

    PERSONAL = "personal"
    """Identifies a person (GDPR): name, date of birth, email, address, phone, device ids."""
    CARD = "card"
    """Card data (PCI DSS): only ever a token inside the twin."""


SENSITIVITY_KEY = "x-sensitivity"


def personal(default: Any = ..., **kwargs: Any) -> Any:
    """A pydantic ``Field`` holding personal data."""
    return Field(default, json_schema_extra={SENSITIVITY_KEY: Sensitivity.PERSONAL.value}, **kwargs)


def card_data(default: Any = ..., **kwargs: Any) -> Any:
    """A pydantic ``Field`` holding card data (a token once tokenization is in place)."""
    return Field(default, json_schema_extra={SENSITIVITY_KEY: Sensitivity.CARD.value}, **kwargs)


def sensitive_fields(model: type[BaseModel]) -> dict[str, Sensitivity]:
    """Wire names (camelCase) of a payload's marked fields, with their sensitivity.

    Args:
        model: a payload model class.

    Returns:
        ``{"email": Sensitivity.PERSONAL, ...}`` for the marked top-level fields.
    """
    found: dict[str, Sensitivity] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and SENSITIVITY_KEY in extra:
            found[info.alias or name] = Sensitivity(str(extra[SENSITIVITY_KEY]))
    return found
