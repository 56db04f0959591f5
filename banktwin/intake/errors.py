"""What the intake refuses, in terms every transport can report: the HTTP API answers them as
problem+json, a connector dead-letters the record with them (:mod:`banktwin.ingest`)."""

from __future__ import annotations

from dataclasses import dataclass

from banktwin.errors import BanktwinError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: where it is in the input (``payload.amount``; inside a batch
    ``[3].payload.amount``) and what is wrong with it."""

    field: str
    message: str


def summarize(errors: list[FieldError], what: str) -> str:
    """One line for a list of field errors: ``invalid request: payload.amount: … (and 2
    more)``."""
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid {what}: {first.field}: {first.message}{more}"


class IntakeError(BanktwinError):
    """The input holds invalid events: none of it may be logged.

    Attributes:
        errors: every bad field found (at least one).
        what: what was refused, for the summary: ``request``, or ``batch (3 events, none
            logged)``.
    """

    def __init__(self, errors: list[FieldError], what: str = "request") -> None:
        if not errors:
            raise ValueError("an IntakeError names at least one field")
        super().__init__(summarize(errors, what))
        self.errors = errors
        self.what = what


class MalformedJsonError(BanktwinError):
    """The input is not JSON (or a line of NDJSON is not); the message says where and why."""
