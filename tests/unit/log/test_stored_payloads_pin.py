"""The fast construction of stored payloads is pinned to the pydantic it was written for.

``stored_payloads`` builds models by writing pydantic's instance slots itself. These tests fail
loudly when pydantic changes under it: another major, a slot added or renamed, or a model
built that way that differs in any way from the one ``model_validate`` builds.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from pydantic import BaseModel

from banktwin.domain.events import EVENT_TYPES
from banktwin.domain.payloads.common import Payload
from banktwin.log.codec import decode_payload, encode_payload
from banktwin.log.stored_payloads import (
    PYDANTIC_MAJOR,
    UnsupportedPydanticError,
    check_pydantic_major,
)
from tests.unit.log.test_stored_payloads import EVERY_FIELD

WRITTEN_SLOTS = (
    "__dict__",
    "__pydantic_fields_set__",
    "__pydantic_extra__",
    "__pydantic_private__",
)
"""What ``_ModelDecoder.model_of`` sets on a model it builds: every slot of pydantic 2's
``BaseModel``."""


def test_the_installed_pydantic_is_the_major_the_construction_was_written_for() -> None:
    installed = pydantic.VERSION.split(".", 1)[0]
    assert installed == str(PYDANTIC_MAJOR), (
        f"pydantic {pydantic.VERSION} is installed; banktwin.log.stored_payloads writes the "
        f"internals of pydantic {PYDANTIC_MAJOR} models: port it before upgrading"
    )


@pytest.mark.parametrize("version", ["1.10.17", "3.0.0", "3.0.0a1", "10.0"])
def test_another_major_is_refused_with_what_to_do(version: str) -> None:
    with pytest.raises(UnsupportedPydanticError, match=rf"pydantic {version} is installed"):
        check_pydantic_major(version)


def test_any_release_of_the_major_is_accepted() -> None:
    for version in ("2.0", "2.11.0", "2.14.4", "2.99.0b1"):
        check_pydantic_major(version)


def test_the_slots_written_are_all_the_slots_pydantic_has() -> None:
    assert BaseModel.__slots__ == WRITTEN_SLOTS
    for spec in EVENT_TYPES.values():
        # No payload model adds private attributes or slots of its own (they would be unset).
        assert not spec.payload.__private_attributes__, spec.type
        assert all(
            "__slots__" not in vars(cls) or not vars(cls)["__slots__"]
            for cls in spec.payload.__mro__
            if cls not in (BaseModel, object)
        ), spec.type


def _state(model: Payload) -> dict[str, Any]:
    """Everything pydantic keeps on an instance, and what it makes of it."""
    return {
        **{slot: getattr(model, slot) for slot in WRITTEN_SLOTS},
        "model_fields_set": model.model_fields_set,
        "model_dump": model.model_dump(),
        "model_dump_json": model.model_dump_json(by_alias=True),
        "model_dump_unset": model.model_dump(exclude_unset=True, by_alias=True),
    }


def _hash(model: Payload) -> int | str:
    try:
        return hash(model)
    except TypeError as exc:  # a field holds a list
        return str(exc)


def _examples(event_type: str) -> list[dict[str, Any]]:
    model = EVENT_TYPES[event_type].payload
    every = EVERY_FIELD[event_type]
    aliases = {(f.alias or n): f for n, f in model.model_fields.items()}
    required = {k: v for k, v in every.items() if aliases[k].is_required()}
    if event_type == "customer.profile_updated":
        required = {"country": "DE"}  # it must change something
    return [every, required]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_fast_construction_builds_what_validation_builds(event_type: str) -> None:
    spec = EVENT_TYPES[event_type]
    for raw in _examples(event_type):
        validated = spec.payload.model_validate(raw)
        built = decode_payload(event_type, spec.version, encode_payload(validated))
        assert type(built) is type(validated)
        assert built == validated
        assert _state(built) == _state(validated)
        assert _hash(built) == _hash(validated)  # frozen models hash their fields
        # What a model does with its state works the same on one built this way.
        assert built.model_copy(update={}) == validated.model_copy(update={})
        assert spec.payload.model_validate(built.model_dump()) == validated
        with pytest.raises(pydantic.ValidationError):
            built.__setattr__(next(iter(spec.payload.model_fields)), None)  # still frozen
