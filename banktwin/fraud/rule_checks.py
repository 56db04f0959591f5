"""Load-time checks of a rule file that pydantic cannot do: YAML keys given twice, readable
field errors, and a probe of each CEL condition for type errors."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from banktwin.fraud.feature_names import FEATURE_KINDS, FeatureKind

FeatureValue = float | int | bool


class NotABooleanError(TypeError):
    """A condition gave something other than true or false."""


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def field_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each pydantic error, worded for the person editing the file."""
    found: list[tuple[str, str]] = []
    for detail in error.errors():
        # The only model-level check of a rule is "exactly one of score or action".
        field = ".".join(str(part) for part in detail["loc"]) or "score/action"
        if detail["type"] == "extra_forbidden":
            message = "unknown field"
        elif detail["type"] == "missing":
            message = "required field is missing"
        else:
            message = detail["msg"].removeprefix("Value error, ")
        found.append((field, message))
    return found


_PROBE_BASES = (1, 1000)
_MAX_PROBED_FLAGS = 6


def _probe_number(kind: FeatureKind, base: int, index: int) -> FeatureValue:
    # Distinct non-zero values per feature, so that `a / (b - c)` does not divide by zero or
    # compare a NaN (CEL raises on NaN comparisons) merely because the samples are equal.
    return base + index if kind == "count" else base + index + 0.5


def probe_condition(
    names: Sequence[str], matches: Callable[[Mapping[str, FeatureValue]], bool]
) -> str | None:
    """Evaluate the condition on typed sample values to find type errors at load.

    CEL here has no static type checker, and `&&` / `||` absorb an error when the other side
    decides, so the samples try every combination of the rule's flags (up to six) with small
    and with large numbers. A condition that mixes int and double, calls an unknown function
    or does not give a bool is caught when a sample reaches it; one that fails only on some
    values (a division by zero, an overflow) is left to be recorded at run time.
    """
    flags = [name for name in names if FEATURE_KINDS[name] == "flag"]
    if len(flags) <= _MAX_PROBED_FLAGS:
        flag_samples = list(itertools.product((False, True), repeat=len(flags)))
    else:
        flag_samples = [(False,) * len(flags), (True,) * len(flags)]
    for base in _PROBE_BASES:
        numbers = {
            name: _probe_number(FEATURE_KINDS[name], base, index)
            for index, name in enumerate(names)
            if name not in flags
        }
        for flag_values in flag_samples:
            features: dict[str, FeatureValue] = dict(zip(flags, flag_values, strict=True))
            features.update(numbers)
            try:
                matches(features)
            except (ZeroDivisionError, OverflowError):
                continue
            except NotABooleanError as error:
                return f"must be a boolean condition: {error}"
            except Exception as error:
                return f"type error: {first_line(error)}"
    return None


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
