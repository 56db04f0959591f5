"""Older payload versions, turned into the current one.

A payload type's version goes up when its schema changes in a way a reader must know about (a
field renamed, replaced or given another meaning). The log is never rewritten: an event keeps
the version it was stored with, and each step from one version to the next is an **upcaster**,
a pure function of the payload's JSON object (wire, camelCase names). Reading an older event
(the projector, replay, as-of reads) or taking one posted with an older ``version`` chains the
steps up to the type's current version, and the current model validates the result.

The upcasters live next to their payloads; this registry lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from banktwin.domain.events import spec_for
from banktwin.domain.payloads.customer import login_v1_to_v2

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""One step: a payload's JSON object at version ``n`` to the object at ``n + 1``. It returns a
new object (its argument is left as it was). Numbers with a fraction may arrive as ``Decimal``
(as JSON is parsed for payloads, exactly)."""

UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("customer.login", 1): login_v1_to_v2,
}
"""The step from each (event type, version) to the next version."""


class UnsupportedVersionError(ValueError):
    """This build cannot turn the version into the current one: it is newer than the current
    (written by a later build?), below 1, or a step from it is missing."""

    def __init__(self, event_type: str, version: int, reason: str) -> None:
        super().__init__(f"{event_type} version {version} is not supported: {reason}")
        self.event_type = event_type
        self.version = version


class UpcastError(ValueError):
    """An older payload does not hold what its version allowed, in a field its upcaster reads
    (only a posted payload, not validated yet, can be one). The message names the field."""

    def __init__(self, event_type: str, version: int, reason: str) -> None:
        super().__init__(f"{event_type} version {version}: {reason}")
        self.event_type = event_type
        self.version = version


def supported_versions(event_type: str) -> range:
    """The versions of ``event_type`` this build reads: from the oldest that a complete chain
    of upcasters leads from, to the current one.

    Raises:
        UnknownEventTypeError: the type is not in the vocabulary.
    """
    current = spec_for(event_type).version
    oldest = current
    while oldest > 1 and (event_type, oldest - 1) in UPCASTERS:
        oldest -= 1
    return range(oldest, current + 1)


def upcast(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of a ``version`` payload of ``event_type``, as the current version.

    At the current version the payload is returned as it is; otherwise each upcaster from
    ``version`` up is applied in turn. The result is not validated: validate it with the
    type's current model (``EVENT_TYPES[event_type].payload``).

    Args:
        event_type: a wire name of the vocabulary.
        version: the version ``payload`` was written in.
        payload: the payload's JSON object (camelCase names); not changed.

    Raises:
        UnknownEventTypeError: the type is not in the vocabulary.
        UnsupportedVersionError: ``version`` is newer than the current one, below 1, or has
            no complete chain of upcasters to it (the message says which).
        UpcastError: a field an upcaster reads holds what ``version`` did not allow.
    """
    current = spec_for(event_type).version
    if version == current:
        return payload
    supported = f"this build reads {_span(supported_versions(event_type))}"
    if version > current:
        raise UnsupportedVersionError(
            event_type, version, f"it is newer than the current {current} ({supported})"
        )
    if version < 1:
        raise UnsupportedVersionError(event_type, version, f"versions start at 1 ({supported})")
    for step_from in range(version, current):
        step = UPCASTERS.get((event_type, step_from))
        if step is None:
            raise UnsupportedVersionError(
                event_type,
                version,
                f"no upcaster from {step_from} to {step_from + 1} ({supported})",
            )
        try:
            payload = step(payload)
        except ValueError as exc:
            raise UpcastError(event_type, version, str(exc)) from exc
    return payload


def _span(versions: range) -> str:
    first, last = versions[0], versions[-1]
    return f"version {first}" if first == last else f"versions {first} to {last}"
