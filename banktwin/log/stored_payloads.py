"""Typed payloads from the JSON the log holds, without validating them a second time.

Every payload in the log passed its model's validation on the way in (the edge validates,
the projector derives from validated state), and the log is only written by banktwin. Reading
it back is the projector's hottest step, and pydantic's validation (patterns, bounds, decimal
digits, after-validators) cost more than applying the event. So each payload model gets a
twin :class:`msgspec.Struct` with the same fields, aliases and value types (no constraints):
msgspec parses the JSON straight into it in C (decimal text to ``Decimal``, enum values to
members, times, nested objects), and the model is then constructed from the struct's fields
as ``model_construct`` does. Fields the JSON leaves out decode as ``UNSET``, which is how the
model's ``model_fields_set`` comes out as validation would make it (partial updates rely on
it). A test decodes every payload of a simulated bank both ways and requires equal models,
with equal ``model_fields_set``.

For a posted transaction this is 6.4 → about 2 µs per payload (docs/performance.md).

Building a model this way writes pydantic's own instance slots, which are not an API: the
module refuses to load with a pydantic major other than the one it was written for
(:data:`PYDANTIC_MAJOR`), and ``tests/unit/log/test_stored_payloads_pin.py`` checks the slots
it writes are all the slots pydantic has.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import msgspec
import pydantic
from msgspec import UNSET, UnsetType
from pydantic import EmailStr

from banktwin.domain.payloads.common import Payload

Convert = Callable[[Any], Any]

_set = object.__setattr__
_as_dict = msgspec.structs.asdict
_SCALARS = (str, int, float, bool, Decimal, datetime, date)


class StoredPayloadError(ValueError):
    """A stored payload does not fit the model of this build (written by another version?)."""


PYDANTIC_MAJOR = 2
"""The pydantic major whose instance slots :meth:`_ModelDecoder.model_of` writes."""


class UnsupportedPydanticError(ImportError):
    """The installed pydantic is not the major the fast construction was written for."""


def check_pydantic_major(version: str = pydantic.VERSION) -> None:
    """Refuse a pydantic of another major than :data:`PYDANTIC_MAJOR`.

    Raises:
        UnsupportedPydanticError: naming both versions and what to do.
    """
    major = version.split(".", 1)[0]
    if major != str(PYDANTIC_MAJOR):
        raise UnsupportedPydanticError(
            f"banktwin.log.stored_payloads builds pydantic {PYDANTIC_MAJOR} models through "
            f"their internal slots, and pydantic {version} is installed: install "
            f"pydantic>={PYDANTIC_MAJOR},<{PYDANTIC_MAJOR + 1}, or port model_of to it (and "
            "raise PYDANTIC_MAJOR once tests/unit/log/test_stored_payloads_pin.py passes)"
        )


# At import: another major may keep a model's state elsewhere, and the models built here
# would be wrong without any error until much later.
check_pydantic_major()


def _wire_type(annotation: Any) -> tuple[Any, Convert | None]:
    """The type msgspec decodes a field's JSON value to, and how to turn that value into the
    model's (``None``: as decoded; only nested payload models need converting)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _wire_type(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(options) < len(get_args(annotation))
        if len(options) == 1:
            wire, convert = _wire_type(options[0])
            return (wire | None if optional else wire), convert
        if all(a in (str, int, float, bool) for a in options):
            return annotation, None  # a union of JSON scalars decodes as its own type
        raise TypeError(f"no stored-payload decoding for the union {annotation!r}")
    if origin is list:
        item, convert_item = _wire_type(get_args(annotation)[0])
        if convert_item is None:
            return list[item], None  # type: ignore[valid-type]
        return list[item], lambda values: [convert_item(v) for v in values]  # type: ignore[valid-type]
    if origin is dict:
        key, value = get_args(annotation)
        wire_value, convert_value = _wire_type(value)
        if convert_value is None:
            return dict[key, wire_value], None  # type: ignore[valid-type]
        return (
            dict[key, wire_value],  # type: ignore[valid-type]
            lambda pairs: {k: convert_value(v) for k, v in pairs.items()},
        )
    if annotation is EmailStr:
        return str, None
    if isinstance(annotation, type):
        if issubclass(annotation, Payload):
            nested = _ModelDecoder(annotation, nested=True)
            return nested.struct, nested.shared_model_of if nested.shareable else nested.model_of
        if issubclass(annotation, Enum) or annotation in _SCALARS:
            return annotation, None
    raise TypeError(f"no stored-payload decoding for {annotation!r}")


SHARED_MODELS = 4096
"""Most distinct values of one nested model a decoder keeps to hand out again."""


class _ModelDecoder:
    """Decodes one payload model: its struct twin, and the model built from a decoded one.

    Nested models of scalar fields (a transaction's ``Location``) repeat from event to event
    (a merchant's terminal is always in the same place): equal values decode to one shared
    model, which is safe as payload models are frozen. A posted transaction decodes in half
    the time, and a projector's batch holds fewer objects.
    """

    def __init__(self, model: type[Payload], *, nested: bool = False) -> None:
        self._model = model
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        self._converters: list[tuple[str, Convert]] = []
        self._defaults: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Any]] = {}
        for name, field in model.model_fields.items():
            wire, convert = _wire_type(field.annotation)
            if convert is not None:
                self._converters.append((name, convert))
            rename[name] = field.alias or name
            if field.is_required():
                fields.append((name, wire))
            else:
                fields.append((name, wire | UnsetType, UNSET))
                if field.default_factory is not None:
                    self._factories[name] = field.default_factory  # type: ignore[assignment]
                else:
                    self._defaults[name] = field.default
        self._optional = tuple(self._defaults) + tuple(self._factories)
        self._names = tuple(model.model_fields)
        self.shareable = nested and not self._converters and not self._factories
        """Fields of immutable, hashable values only: a decoded value can key the model."""
        self._shared: dict[msgspec.Struct, Payload] = {}
        self._shapes: dict[tuple[str, ...], _Shape] = {}
        self.struct: type[msgspec.Struct] = msgspec.defstruct(
            f"Stored{model.__name__}",
            fields,
            kw_only=True,  # the model's declaration order, required fields or not
            rename=rename,
            forbid_unknown_fields=True,
            frozen=self.shareable,  # hashable, by value (UNSET and None differ)
        )

    def shared_model_of(self, decoded: msgspec.Struct) -> Payload:
        """:meth:`model_of`, the same model object for equal values."""
        model = self._shared.get(decoded)
        if model is None:
            if len(self._shared) >= SHARED_MODELS:
                self._shared.clear()
            model = self._shared[decoded] = self.model_of(decoded)
        return model

    def model_of(self, decoded: msgspec.Struct) -> Payload:
        """The model whose fields ``decoded`` holds (``UNSET``: left out of the JSON)."""
        values = _as_dict(decoded)  # the fields in declaration order, as pydantic keeps them
        unset = tuple([name for name in self._optional if values[name] is UNSET])
        shape = self._shapes.get(unset)
        if shape is None:
            shape = self._shapes[unset] = self._shape(unset)
        if shape.defaults:
            values.update(shape.defaults)
        for name, factory in shape.factories:
            values[name] = factory()
        for name, convert in shape.converters:
            value = values[name]
            if value is not None:
                values[name] = convert(value)
        payload = self._model.__new__(self._model)
        _set(payload, "__dict__", values)
        _set(payload, "__pydantic_fields_set__", shape.fields_set)  # shared: see _Shape
        _set(payload, "__pydantic_extra__", None)
        _set(payload, "__pydantic_private__", None)
        return payload

    def _shape(self, unset: tuple[str, ...]) -> _Shape:
        return _Shape(
            defaults={n: self._defaults[n] for n in unset if n in self._defaults},
            factories=[(n, self._factories[n]) for n in unset if n in self._factories],
            converters=[(n, c) for n, c in self._converters if n not in unset],
            fields_set=set(self._names).difference(unset),
        )


class _Shape(NamedTuple):
    """What decoding does for one set of fields left out of the JSON.

    Every payload of the shape shares its ``fields_set``: payload models are frozen, and
    pydantic copies the set before it changes one (``model_copy(update=…)``).
    """

    defaults: dict[str, Any]
    factories: list[tuple[str, Callable[[], Any]]]
    converters: list[tuple[str, Convert]]
    fields_set: set[str]


class StoredPayloadDecoder:
    """Decodes the stored JSON of one payload model."""

    def __init__(self, model: type[Payload]) -> None:
        self._model = model
        self._build = _ModelDecoder(model)
        self._parse = msgspec.json.Decoder(self._build.struct)

    def decode(self, data: bytes | str) -> Payload:
        """The payload ``data`` holds.

        Raises:
            StoredPayloadError: ``data`` is not a JSON object of this model's fields (the
                message names the field).
        """
        try:
            decoded = self._parse.decode(data)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
            raise StoredPayloadError(f"{self._model.__name__}: {exc}") from None
        return self._build.model_of(decoded)
