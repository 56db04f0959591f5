"""The twin generations' rows in a SQL store (SQLite and PostgreSQL alike).

``twin_generations`` records each generation (:mod:`banktwin.store.generations`);
``twin_generation_caught_up`` the partitions a building generation has had at the log's end.
Functions here run inside the caller's transaction on a DB-API connection or cursor
(``execute`` returning a cursor); ``mark`` is its parameter placeholder and ``time`` turns a
datetime into what the adapter stores. Every change of state is conditional on the state it
expects, so a process acting on what it read a moment ago never undoes another's change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from banktwin.store.generations import (
    ACTIVE,
    BUILDING,
    DROPPED,
    LEGACY,
    RETIRED,
    UNRECORDED_FORMAT,
    TwinGeneration,
    next_number,
    positions_key,
)
from banktwin.store.port import TWIN_CONSUMER

log = logging.getLogger(__name__)

Time = Callable[[datetime], Any]

TWIN_PROJECTION_TABLES = (
    "customers",
    "branches",
    "loans",
    "accounts",
    "transactions",
    "fraud_alerts",
)
"""The tables every generation has, under its suffix (``customers_g2``)."""


def alert_indexes_ddl(suffix: str) -> list[str]:
    """The indexes of a generation's alerts table that a list's criteria use beyond status
    (a customer's alerts, a severity's), newest raised first as the list is ordered. A new
    generation's tables come with them; migration 3 adds them to the tables made before."""
    table = f"fraud_alerts{suffix}"
    return [
        f"CREATE INDEX IF NOT EXISTS fraud_alerts_by_customer{suffix} "
        f"ON {table} (customer_id, raised_at DESC, alert_id DESC)",
        f"CREATE INDEX IF NOT EXISTS fraud_alerts_by_severity{suffix} "
        f"ON {table} (severity, raised_at DESC, alert_id DESC)",
    ]


def standing_suffixes(conn: Any) -> list[str]:
    """The suffixes of every generation whose tables exist: generation 1's plain tables
    (always: dropping generation 1 empties them) and each later one not dropped."""
    rows = conn.execute(
        "SELECT generation FROM twin_generations WHERE state <> 'dropped' ORDER BY generation"
    ).fetchall()
    return [""] + [f"_g{int(n)}" for (n,) in rows if int(n) != LEGACY]


def generations_ddl(text: str, time: str) -> list[str]:
    """Migration 2's tables, in an adapter's types for text and time."""
    return [
        f"""CREATE TABLE IF NOT EXISTS twin_generations (
            generation   integer NOT NULL PRIMARY KEY,
            twin_format  {text} NOT NULL,
            state        {text} NOT NULL,
            created_at   {time} NOT NULL,
            completed_at {time},
            retired_at   {time}
        )""",
        # Backstops of what the writers decide under their locks: one active generation,
        # one building per format.
        "CREATE UNIQUE INDEX IF NOT EXISTS twin_generations_one_active "
        "ON twin_generations (state) WHERE state = 'active'",
        "CREATE UNIQUE INDEX IF NOT EXISTS twin_generations_one_building "
        "ON twin_generations (twin_format) WHERE state = 'building'",
        """CREATE TABLE IF NOT EXISTS twin_generation_caught_up (
            generation   integer NOT NULL,
            partition_id integer NOT NULL,
            PRIMARY KEY (generation, partition_id)
        )""",
    ]


SELECT_GENERATIONS = (
    "SELECT generation, twin_format, state, created_at, completed_at, retired_at "
    "FROM twin_generations ORDER BY generation"
)


def generation_from_row(row: Sequence[Any], read_time: Callable[[Any], datetime]) -> TwinGeneration:
    number, twin_format, state, created, completed, retired = row
    return TwinGeneration(
        int(number),
        twin_format,
        state,
        read_time(created),
        None if completed is None else read_time(completed),
        None if retired is None else read_time(retired),
    )


def load(conn: Any, read_time: Callable[[Any], datetime]) -> list[TwinGeneration]:
    return [generation_from_row(r, read_time) for r in conn.execute(SELECT_GENERATIONS)]


def adopt_legacy(conn: Any, mark: str, time: Time) -> None:
    """Record the plain tables as generation 1 (active, in the format ``store_meta`` names)
    if a build before generations projected into them. Their ``twin_format`` key is left as
    it is: such a build may still run, and it empties the tables if the key changes."""
    row = conn.execute("SELECT value FROM store_meta WHERE key = 'twin_format'").fetchone()
    projected = conn.execute(
        f"SELECT 1 FROM projection_positions WHERE consumer = {mark} LIMIT 1", (TWIN_CONSUMER,)
    ).fetchone()
    if row is None and projected is None:
        return  # a new store: nothing to keep serving
    now = time(datetime.now(UTC))
    conn.execute(
        "INSERT INTO twin_generations (generation, twin_format, state, created_at, completed_at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        (LEGACY, UNRECORDED_FORMAT if row is None else row[0], ACTIVE, now, now),
    )


def create(
    conn: Any,
    mark: str,
    time: Time,
    generations: Sequence[TwinGeneration],
    twin_format: str,
    state: str,
    tables_ddl: Callable[[str], Iterable[str]],
) -> TwinGeneration:
    """Record a new generation and create its tables (run under the schema lock)."""
    now = datetime.now(UTC)
    made = TwinGeneration(
        next_number(generations), twin_format, state, now, now if state == ACTIVE else None
    )
    conn.execute(
        "INSERT INTO twin_generations (generation, twin_format, state, created_at, completed_at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        (made.number, twin_format, state, time(now), None if state != ACTIVE else time(now)),
    )
    for statement in tables_ddl(made.suffix):
        conn.execute(statement)
    log.info("twin generation %d (format %s) created, %s", made.number, twin_format, state)
    return made


def reached(conn: Any, mark: str, generation: int) -> set[int]:
    rows = conn.execute(
        f"SELECT partition_id FROM twin_generation_caught_up WHERE generation = {mark}",
        (generation,),
    ).fetchall()
    return {int(p) for (p,) in rows}


def record_reached(conn: Any, mark: str, generation: int, partitions: Iterable[int]) -> None:
    for partition in sorted(partitions):
        conn.execute(
            "INSERT INTO twin_generation_caught_up (generation, partition_id) "
            f"VALUES ({mark}, {mark}) ON CONFLICT DO NOTHING",
            (generation, partition),
        )


def activate(conn: Any, mark: str, time: Time, new: TwinGeneration) -> bool:
    """Make the building generation ``new`` active and retire the active one. Returns False
    (changing nothing) if ``new`` is no longer building: another process switched first."""
    now = time(datetime.now(UTC))
    still_building = conn.execute(
        f"SELECT 1 FROM twin_generations WHERE generation = {mark} AND state = {mark}",
        (new.number, BUILDING),
    ).fetchone()
    if still_building is None:
        return False
    # Retire first: at no point are two generations active (a unique index says so).
    conn.execute(
        f"UPDATE twin_generations SET state = {mark}, retired_at = {mark} WHERE state = {mark}",
        (RETIRED, now, ACTIVE),
    )
    updated = conn.execute(
        f"UPDATE twin_generations SET state = {mark}, completed_at = {mark} "
        f"WHERE generation = {mark} AND state = {mark}",
        (ACTIVE, now, new.number, BUILDING),
    )
    return bool(updated.rowcount)


def drop(
    conn: Any,
    mark: str,
    time: Time,
    generation: TwinGeneration,
    drop_tables: Callable[[TwinGeneration], Iterable[str]],
) -> bool:
    """Drop a generation's tables (for generation 1, empty them), positions and marks, if it
    is still in the state it was seen in. Returns whether it was dropped."""
    updated = conn.execute(
        f"UPDATE twin_generations SET state = {mark}, retired_at = COALESCE(retired_at, {mark}) "
        f"WHERE generation = {mark} AND state = {mark}",
        (DROPPED, time(datetime.now(UTC)), generation.number, generation.state),
    )
    if not updated.rowcount:
        return False
    for statement in drop_tables(generation):
        conn.execute(statement)
    if generation.number == LEGACY:
        conn.execute(f"DELETE FROM projection_positions WHERE consumer = {mark}", (TWIN_CONSUMER,))
    else:
        conn.execute(
            f"DELETE FROM projection_positions WHERE consumer LIKE {mark}",
            ("%" + positions_key("", generation.number),),
        )
    conn.execute(
        f"DELETE FROM twin_generation_caught_up WHERE generation = {mark}", (generation.number,)
    )
    log.info(
        "twin generation %d (format %s, %s) dropped",
        generation.number,
        generation.twin_format,
        generation.state,
    )
    return True


def drop_statements(generation: TwinGeneration, empty_table: str) -> list[str]:
    """Generation 1's tables are emptied (``empty_table`` is ``DELETE FROM {}`` or
    ``TRUNCATE {}``): they are the schema of version 1, and a build before generations
    still creates and reads them. A later generation's tables are dropped."""
    if generation.number == LEGACY:
        return [empty_table.format(t) for t in TWIN_PROJECTION_TABLES]
    return [f"DROP TABLE IF EXISTS {t}{generation.suffix}" for t in TWIN_PROJECTION_TABLES]
