"""The project's own error types. Adapters map driver errors (sqlite3, psycopg, Kafka) to these,
so callers never depend on which adapter is configured."""

from __future__ import annotations


class BanktwinError(Exception):
    """Base of every error banktwin raises on purpose."""


class NotFoundError(BanktwinError):
    """The thing asked for does not exist."""


class ConflictError(BanktwinError):
    """A concurrent writer got there first (for example two projectors on one store)."""


class UnavailableError(BanktwinError):
    """A backing service (database, broker) cannot be reached or refused the operation."""


class ConfigurationError(BanktwinError):
    """Settings are missing or invalid; the message names the setting and the fix."""
