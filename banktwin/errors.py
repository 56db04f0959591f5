"""The project's own error types. Adapters map driver errors (sqlite3, psycopg, Kafka) to these,
so callers never depend on which adapter is configured."""

from __future__ import annotations


class BanktwinError(Exception):
    """Base of every error banktwin raises on purpose."""


class NotFoundError(BanktwinError):
    """The thing asked for does not exist."""


class ConflictError(BanktwinError):
    """A concurrent writer got there first (for example two projectors on one store)."""


class VersionConflictError(ConflictError):
    """An append named the version of a subject it was decided on, and the subject has moved
    since (another event of it was logged): nothing was appended. Read again and decide again."""

    def __init__(self, subject_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"subject {subject_id} is at version {actual}, not {expected}: it changed since "
            "the decision was made; read it again and retry"
        )
        self.subject_id = subject_id
        self.expected = expected
        self.actual = actual


class UnavailableError(BanktwinError):
    """A backing service (database, broker) cannot be reached or refused the operation."""


class ConfigurationError(BanktwinError):
    """Settings are missing or invalid; the message names the setting and the fix."""
