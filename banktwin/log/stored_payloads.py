"""Typed payloads from the JSON the log holds, without validating them a second time.

Every payload in the log passed its model's validation on the way in (the edge validates,
the projector derives from validated state), and the log is only written by banktwin. Reading
it back is the projector's hottest step, and pydantic's validation (patterns, bounds, decimal
digits, after-validators) cost more than applying the event. So the JSON is parsed by msgspec
and each field only *converted* to the type its annotation names (decimal text to
``Decimal``, enum values to members, nested objects to their models), then the model is
constructed as ``model_construct`` does. A test decodes every payload of a simulated bank
both ways and requires equal models, with equal ``model_fields_set``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, NoReturn, Union, get_args, get_origin

import msgspec
from pydantic import EmailStr

from banktwin.domain.payloads.common import Payload

Convert = Callable[[Any], Any]

_PARSE_JSON = msgspec.json.Decoder()
_set = object.__setattr__
_REQUIRED = object()
"""Placeholder of a required field in the template (always overwritten: it was stored)."""


class StoredPayloadError(ValueError):
    """A stored payload does not fit the model of this build (written by another version?)."""


def _converter(annotation: Any) -> Convert | None:
    """How to turn the JSON value of a field into its Python value; ``None``: as parsed."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _converter(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _converter(options[0])  # None stays None: the caller never converts a null
        if all(a in (str, int, float, bool) for a in options):
            return None  # a union of JSON scalars (str | float | int) parses as its own type
        raise TypeError(f"no stored-payload decoding for the union {annotation!r}")
    if origin is list:
        item = _converter(get_args(annotation)[0])
        return None if item is None else lambda values: [item(v) for v in values]
    if origin is dict:
        value = _converter(get_args(annotation)[1])
        return None if value is None else lambda pairs: {k: value(v) for k, v in pairs.items()}
    if annotation is EmailStr:
        return None
    if isinstance(annotation, type):
        if issubclass(annotation, Payload):
            return _ModelDecoder(annotation)
        if issubclass(annotation, Enum):
            return annotation._value2member_map_.__getitem__
        if annotation in (str, int, bool):
            return None
        simple: dict[type, Convert] = {
            Decimal: Decimal,
            float: float,
            datetime: datetime.fromisoformat,
            date: date.fromisoformat,
        }
        if annotation in simple:
            return simple[annotation]
    raise TypeError(f"no stored-payload decoding for {annotation!r}")


class _ModelDecoder:
    """Builds one payload model from its parsed JSON object."""

    def __init__(self, model: type[Payload]) -> None:
        self._model = model
        self._by_alias: dict[str, tuple[str, Convert | None]] = {}
        self._template: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Any]] = {}
        self._required = frozenset(n for n, f in model.model_fields.items() if f.is_required())
        for name, field in model.model_fields.items():
            self._by_alias[field.alias or name] = (name, _converter(field.annotation))
            if field.default_factory is not None:
                self._factories[name] = field.default_factory  # type: ignore[assignment]
                self._template[name] = _REQUIRED
            else:
                self._template[name] = _REQUIRED if field.is_required() else field.default

    def __call__(self, data: dict[str, Any]) -> Payload:
        values = self._template.copy()  # the fields in declaration order, as pydantic keeps them
        fields_set = set()
        try:
            for key, value in data.items():
                name, convert = self._by_alias[key]
                values[name] = value if convert is None or value is None else convert(value)
                fields_set.add(name)
        except KeyError as exc:  # an unknown field, or a value no enum member has
            self._refuse(data, exc)
        except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            raise StoredPayloadError(f"{self._model.__name__}: cannot read {exc!r}") from None
        if not self._required <= fields_set:
            self._refuse(data, None)
        for name, factory in self._factories.items():
            if name not in fields_set:
                values[name] = factory()
        payload = self._model.__new__(self._model)
        _set(payload, "__dict__", values)
        _set(payload, "__pydantic_fields_set__", fields_set)
        _set(payload, "__pydantic_extra__", None)
        _set(payload, "__pydantic_private__", None)
        return payload

    def _refuse(self, data: dict[str, Any], error: Exception | None) -> NoReturn:
        model = self._model.__name__
        unknown = [k for k in data if k not in self._by_alias]
        if unknown:
            raise StoredPayloadError(f"{model}: unknown field {unknown[0]!r}")
        missing = sorted(self._required - {self._by_alias[k][0] for k in data})
        if missing:
            raise StoredPayloadError(f"{model}: {missing[0]!r} is missing")
        raise StoredPayloadError(f"{model}: cannot read {error!r}")


class StoredPayloadDecoder:
    """Decodes the stored JSON of one payload model."""

    def __init__(self, model: type[Payload]) -> None:
        self._build = _ModelDecoder(model)

    def decode(self, data: bytes | str) -> Payload:
        """The payload ``data`` holds.

        Raises:
            StoredPayloadError: ``data`` is not a JSON object of this model's fields.
        """
        try:
            parsed = _PARSE_JSON.decode(data)
        except msgspec.DecodeError as exc:
            raise StoredPayloadError(f"stored payload is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise StoredPayloadError("stored payload is not a JSON object")
        return self._build(parsed)
