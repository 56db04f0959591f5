"""Pydantic's validation errors as the intake's field errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from banktwin.intake.errors import FieldError


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("payload", "location", "country")`` → ``payload.location.country``; list indexes
    as ``[3]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def field_errors(errors: Iterable[Any], prefix: str = "") -> list[FieldError]:
    """Pydantic's ``ValidationError.errors()`` as field errors under ``prefix``, with the
    location parts that are not field names (function validators') dropped."""
    found = []
    for err in errors:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        found.append(FieldError(field_path(loc, prefix) or prefix or "body", err["msg"]))
    return found
