"""Events posted with an older ``version`` of their type: upcast to the current one."""

from __future__ import annotations

from typing import Any

from banktwin.domain.events import EventSpec
from banktwin.domain.upcasting import UnsupportedVersionError, UpcastError, supported_versions
from banktwin.domain.upcasting import upcast as upcast_payload
from banktwin.intake.errors import FieldError, IntakeError


def current_payload(
    spec: EventSpec, version: int | None, payload: dict[str, Any], where: str = ""
) -> dict[str, Any]:
    """The payload's JSON object as the type's current version (itself if ``version`` is the
    current one or not given); validate it with the current model.

    Args:
        spec: the event's type.
        version: the version the producer says the payload is in.
        payload: its JSON object (left unchanged).
        where: field-path prefix for errors (``[3].`` inside a batch).

    Raises:
        IntakeError: naming ``version`` when no chain of upcasters leads from it to the current
            version (it is newer, or too old), or ``payload`` when the upcaster cannot read it.
    """
    if version is None or version == spec.version:
        return payload
    try:
        return upcast_payload(spec.type, version, payload)
    except UnsupportedVersionError:
        raise IntakeError([FieldError(f"{where}version", _unsupported(spec, version))]) from None
    except UpcastError as exc:
        raise IntakeError([FieldError(f"{where}payload", str(exc))]) from None


def _unsupported(spec: EventSpec, version: int) -> str:
    readable = supported_versions(spec.type)
    message = f"{spec.type} has version {spec.version}; {version} is not supported"
    if len(readable) > 1:
        message += f" (send a version from {readable[0]} to {readable[-1]})"
    return message
