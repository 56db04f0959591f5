"""Opening the same event log again and again, on every adapter (for the contract tests), and
making a log as a build before recorded partitioners left it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest

from banktwin.adapters import open_event_log
from banktwin.domain.events import Event
from banktwin.log.codec import encode_payload, utc_text
from banktwin.log.port import EventLog, partition_for, subject_hash
from tests.factories import T0

PARTITIONS = 3
ADAPTERS = ["memory", "sqlite", "postgres"]

LogFactory = Callable[[], EventLog]


def log_url(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if adapter == "memory":
        return f"memory://?partitions={PARTITIONS}"
    if adapter == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}?partitions={PARTITIONS}"
    base: str = request.getfixturevalue("postgres_url")
    return f"{base}&partitions={PARTITIONS}"


def log_factories(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[LogFactory]:
    """Yields a factory opening the same log again each call (as a restarted process would;
    the in-memory log is one object), and closes every log it opened afterwards."""
    url = log_url(adapter, request, tmp_path)
    opened: list[EventLog] = []
    shared = open_event_log(url) if adapter == "memory" else None

    def factory() -> EventLog:
        log = shared or open_event_log(url)
        opened.append(log)
        return log

    yield factory
    for log in opened:
        log.close()


def postgres_parts(url: str) -> tuple[str, str]:
    """The connection URL and the schema of a ``postgres_url`` fixture value."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), schema


def eventually(condition: Callable[[], bool], within_s: float = 2.0) -> bool:
    """Poll ``condition`` until it holds or the deadline passes."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


class Calls:
    """A watcher counting its calls."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.count += 1


def _old_rows(events: Sequence[Event], partitions: int) -> list[tuple[Event, int, int]]:
    """Each event with the partition and offset a build before murmur2 gave it."""
    next_offset = dict.fromkeys(range(partitions), 0)
    placed = []
    for e in events:
        partition = partition_for(e.subject_id, partitions)
        placed.append((e, partition, next_offset[partition]))
        next_offset[partition] += 1
    return placed


def make_old_sqlite_log(path: Path, events: Sequence[Event]) -> None:
    """A SQLite log as a build before recorded partitioners left it: no 'partitioner' in
    ``log_meta``, events placed by ``crc32(subject) mod n``."""
    open_event_log(f"sqlite:///{path}?partitions={PARTITIONS}").close()  # the same tables
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM log_meta WHERE key = 'partitioner'")
        conn.executemany(
            "INSERT INTO event_log (partition_id, log_offset, event_id, subject_id, "
            "subject_hash, type, version, occurred_at, recorded_at, source, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (partition, offset, bytes.fromhex(e.event_id.replace("-", "")), e.subject_id,
                 subject_hash(e.subject_id), e.type, e.version, utc_text(e.occurred_at),
                 utc_text(T0), e.source, encode_payload(e.payload))
                for e, partition, offset in _old_rows(events, PARTITIONS)
            ],
        )  # fmt: skip
    conn.close()


def make_old_postgres_log(postgres_url: str, events: Sequence[Event]) -> None:
    """The PostgreSQL log of :func:`make_old_sqlite_log`."""
    open_event_log(f"{postgres_url}&partitions={PARTITIONS}").close()
    url, schema = postgres_parts(postgres_url)
    rows = _old_rows(events, PARTITIONS)
    with psycopg.connect(url, options=f"-c search_path={schema}") as conn:
        conn.execute("DELETE FROM log_meta WHERE key = 'partitioner'")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO event_log (partition_id, log_offset, event_id, subject_id, type, "
                "version, occurred_at, recorded_at, source, payload) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (partition, offset, e.event_id, e.subject_id, e.type, e.version,
                     e.occurred_at, T0, e.source, encode_payload(e.payload).decode())
                    for e, partition, offset in rows
                ],
            )  # fmt: skip
        for partition in range(PARTITIONS):
            conn.execute(
                "UPDATE log_partitions SET next_offset = %s WHERE partition_id = %s",
                (sum(1 for _, p, _ in rows if p == partition), partition),
            )
