"""Choose an adapter by URL: the only place that knows which classes exist.

| URL                                   | event log           | state store          |
|---------------------------------------|---------------------|----------------------|
| ``sqlite:///var/twin.db``             | SqliteEventLog      | SqliteStateStore     |
| ``postgresql://user@host:5432/db``    | PostgresEventLog    | PostgresStateStore   |
| ``memory://``                         | InMemoryEventLog    | InMemoryStateStore   |

The key-value state store of engines without tables of their own (KPIs) lives where the state
store does: ``SqliteKeyValueStore``, ``PostgresKeyValueStore``, ``InMemoryKeyValueStore``; so
does the connectors' dead-letter table: ``SqliteDeadLetterStore``, ``PostgresDeadLetterStore``,
``InMemoryDeadLetterStore``.

The consumers' commit announcements reach the processes sharing the state store:
``SqliteAnnouncementChannel``, ``PostgresAnnouncementChannel``, or none (``memory://``).

Query parameters: ``partitions=N`` (log, fixed when the log is created), ``schema=NAME``
(PostgreSQL schema to use, created if missing).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from banktwin.consumers.announcements import CommitAnnouncer
from banktwin.errors import ConfigurationError
from banktwin.ingest.dead_letters import DeadLetterStore
from banktwin.log.port import EventLog
from banktwin.store.kv import KeyValueStore
from banktwin.store.port import StateStore


def _options(url: str) -> tuple[str, str, dict[str, str]]:
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return parts.scheme, bare, options


def _sqlite_path(url: str) -> Path:
    # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
    path = urlsplit(url).path
    if not path or path == "/":
        raise ConfigurationError(f"{url!r} names no file; use sqlite:///var/twin.db")
    return Path(path[1:])


def _partitions(options: dict[str, str], default: int) -> int:
    raw = options.get("partitions", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 1024:
        raise ConfigurationError(f"partitions={raw!r}: use a whole number from 1 to 1024")
    return int(raw)


def open_event_log(url: str) -> EventLog:
    """The event log a URL names.

    Raises:
        ConfigurationError: unknown scheme or bad option.
        UnavailableError: the backing service cannot be reached.
    """
    scheme, bare, options = _options(url)
    if scheme == "sqlite":
        from banktwin.log.sqlite import DEFAULT_PARTITIONS, SqliteEventLog

        return SqliteEventLog(
            _sqlite_path(url), partitions=_partitions(options, DEFAULT_PARTITIONS)
        )
    if scheme in ("postgresql", "postgres"):
        from banktwin.log.postgres import PostgresEventLog

        return PostgresEventLog(
            bare, partitions=_partitions(options, 8), schema=options.get("schema")
        )
    if scheme == "memory":
        from banktwin.log.memory import InMemoryEventLog

        return InMemoryEventLog(partitions=_partitions(options, 1))
    raise ConfigurationError(
        f"BANKTWIN_LOG_URL scheme {scheme!r} is not supported: use sqlite, postgresql or memory"
    )


def open_state_store(url: str) -> StateStore:
    """The state store a URL names (same errors as :func:`open_event_log`)."""
    scheme, bare, options = _options(url)
    if scheme == "sqlite":
        from banktwin.store.sqlite import SqliteStateStore

        return SqliteStateStore(_sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from banktwin.store.postgres import PostgresStateStore

        return PostgresStateStore(bare, schema=options.get("schema"))
    if scheme == "memory":
        from banktwin.store.memory import InMemoryStateStore

        return InMemoryStateStore()
    raise ConfigurationError(
        f"BANKTWIN_STORE_URL scheme {scheme!r} is not supported: use sqlite, postgresql or memory"
    )


def open_commit_announcer(url: str) -> CommitAnnouncer:
    """The announcer of the commits of consumers whose state is at the state store's URL (same
    errors as :func:`open_event_log`; it connects to nothing until it is used)."""
    from banktwin.consumers.announcement_channels import ChannelAnnouncer

    scheme, bare, options = _options(url)
    if scheme == "sqlite":
        from banktwin.consumers.sqlite_announcements import SqliteAnnouncementChannel

        return ChannelAnnouncer(SqliteAnnouncementChannel(_sqlite_path(url)))
    if scheme in ("postgresql", "postgres"):
        from banktwin.consumers.postgres_announcements import PostgresAnnouncementChannel

        return ChannelAnnouncer(PostgresAnnouncementChannel(bare, options.get("schema")))
    if scheme == "memory":
        return ChannelAnnouncer()
    raise ConfigurationError(
        f"BANKTWIN_STORE_URL scheme {scheme!r} is not supported: use sqlite, postgresql or memory"
    )


def open_kv_store(url: str) -> KeyValueStore:
    """The key-value state store at the state store's URL (same errors as
    :func:`open_event_log`)."""
    scheme, bare, options = _options(url)
    if scheme == "sqlite":
        from banktwin.store.kv_sqlite import SqliteKeyValueStore

        return SqliteKeyValueStore(_sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from banktwin.store.kv_postgres import PostgresKeyValueStore

        return PostgresKeyValueStore(bare, schema=options.get("schema"))
    if scheme == "memory":
        from banktwin.store.kv_memory import InMemoryKeyValueStore

        return InMemoryKeyValueStore()
    raise ConfigurationError(
        f"BANKTWIN_STORE_URL scheme {scheme!r} is not supported: use sqlite, postgresql or memory"
    )


def open_dead_letter_store(url: str) -> DeadLetterStore:
    """The connectors' dead-letter table at the state store's URL (same errors as
    :func:`open_event_log`)."""
    scheme, bare, options = _options(url)
    if scheme == "sqlite":
        from banktwin.ingest.dead_letters_sqlite import SqliteDeadLetterStore

        return SqliteDeadLetterStore(_sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from banktwin.ingest.dead_letters_postgres import PostgresDeadLetterStore

        return PostgresDeadLetterStore(bare, schema=options.get("schema"))
    if scheme == "memory":
        from banktwin.ingest.dead_letters_memory import InMemoryDeadLetterStore

        return InMemoryDeadLetterStore()
    raise ConfigurationError(
        f"BANKTWIN_STORE_URL scheme {scheme!r} is not supported: use sqlite, postgresql or memory"
    )
