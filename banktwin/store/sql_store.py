"""The projector half of the SQL state stores, and how they move between twin generations.

A process writes one generation, its *target* (:func:`banktwin.store.generations.target`),
chosen when the store is opened: the newest generation of the build's twin format, created
(beside the active one) if there is none. Every commit first reads the generations (a handful
of rows) and refuses with :class:`~banktwin.errors.ConflictError` if the target was superseded
(dropped, or a newer one of its format switched in): the consumer then re-reads its positions,
which are the new target's. A commit to a generation being built that brings it to the end of
the log on every partition makes it active in the same transaction; the generations it makes
obsolete are dropped right after, in a transaction of their own.

The SQLite and PostgreSQL adapters supply the transactions, the locking of positions and the
writing of rows; the statements about generations are :mod:`banktwin.store.sql_generations`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from banktwin.errors import ConflictError
from banktwin.store import positions, sql_generations
from banktwin.store.generations import (
    ACTIVE,
    BUILDING,
    DROPPED,
    RETIRED,
    TwinGeneration,
    active,
    caught_up,
    may_create,
    may_switch,
    new_state,
    not_ready,
    obsolete_at_switch,
    positions_key,
    superseded,
    target,
)
from banktwin.store.port import TWIN_CONSUMER, GenerationStatus, ProjectionChanges
from banktwin.store.sql_reader import SqlTwinReader

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Switched:
    """A switch just committed: the generation now active and what it made obsolete."""

    active: TwinGeneration
    retired: TwinGeneration | None
    obsolete: list[TwinGeneration]


class SqlStateStore(SqlTwinReader):
    """The generation-aware projector side shared by the SQL adapters."""

    mark: str = "?"

    def _start_generations(self, twin_format: str) -> None:
        """Settle this process's target (creating its build's generation if the store has
        none); call once the schema is migrated."""
        self._twin_format = twin_format
        self._target: TwinGeneration | None = None
        self._warned_no_switch: set[int] = set()
        self._settle_target()

    # --- adapter hooks ------------------------------------------------------------------

    @abstractmethod
    def _transaction(self, what: str, work: Callable[[Any], T], *, schema: bool = False) -> T:
        """Run ``work(conn)`` in one write transaction (``schema``: one that creates or drops
        tables, serialised with the other processes' schema changes); driver errors become
        ``UnavailableError`` naming ``what``."""

    @abstractmethod
    def _lock_positions(self, conn: Any, key: str) -> dict[int, int]:
        """In a write transaction: the positions stored under ``key``, locked until it ends."""

    @abstractmethod
    def _write_rows(self, conn: Any, changes: ProjectionChanges, suffix: str, key: str) -> None:
        """Write a batch's twins and rows into the tables named with ``suffix`` and its end
        positions under ``key``."""

    @abstractmethod
    def _tables_ddl(self, suffix: str) -> Iterable[str]:
        """The statements creating a generation's tables."""

    @abstractmethod
    def _drop_tables(self, generation: TwinGeneration) -> Iterable[str]:
        """The statements dropping (generation 1: emptying) a generation's tables."""

    # --- the target ---------------------------------------------------------------------

    def _settle_target(self) -> TwinGeneration | None:
        """Choose (and if need be create) the generation this process writes."""
        seen = self._generations()
        found = target(seen, self._twin_format)
        if found is None and may_create(seen, self._twin_format):
            found = self._transaction(
                "create a twin generation", self._create_if_missing, schema=True
            )
        self._target = found
        self._look_again()
        return found

    def _create_if_missing(self, conn: Any) -> TwinGeneration | None:
        seen = sql_generations.load(conn, self._read_time)  # again, under the lock
        found = target(seen, self._twin_format)
        if found is None and may_create(seen, self._twin_format):
            found = self._create(conn, seen)
        return found

    def _create(self, conn: Any, seen: list[TwinGeneration]) -> TwinGeneration:
        return sql_generations.create(
            conn,
            self.mark,
            self._time_param,
            seen,
            self._twin_format,
            new_state(seen),
            self._tables_ddl,
        )

    def _current_target(self) -> TwinGeneration | None:
        found = self._target
        return found if found is not None else self._settle_target()

    def _required_target(self) -> TwinGeneration:
        found = self._current_target()
        if found is None:
            raise not_ready(self._generations(), self._twin_format)
        return found

    def rebuilding(self) -> bool:
        found = self._target
        return found is not None and found.state == BUILDING

    # --- projector side -----------------------------------------------------------------

    def positions(self, consumer: str) -> dict[int, int]:
        found = self._current_target()
        if found is None:
            return {}
        rows = self._fetch(
            "read projection positions",
            positions.select_sql("?"),
            (positions_key(consumer, found.number),),
        )
        return {int(p): int(o) for p, o in rows}

    def commit(self, changes: ProjectionChanges) -> None:
        mine = self._required_target()

        def check_and_write(conn: Any) -> _Switched | None:
            seen = sql_generations.load(conn, self._read_time)
            if superseded(seen, mine.number):
                self._target = None  # the next positions() reads the new target's
                raise ConflictError(
                    f"twin generation {mine.number} was replaced: starting again from the "
                    "positions of the generation that replaced it"
                )
            current = next(g for g in seen if g.number == mine.number)
            self._target = current  # switched by another process, say: no longer building
            key = positions_key(changes.consumer, current.number)
            stored = self._lock_positions(conn, key)
            positions.check_positions(changes.consumer, stored, changes.start)
            self._write_rows(conn, changes, current.suffix, key)
            if current.state != BUILDING or changes.log_end is None:
                return None
            return self._switch_if_caught_up(
                conn, seen, current, {**stored, **changes.end}, changes.log_end
            )

        self._after(self._transaction("commit projections", check_and_write))

    def switch_if_caught_up(self, consumer: str, log_end: Mapping[int, int]) -> bool:
        mine = self._target
        if mine is None or mine.state != BUILDING:
            return False
        seen = self._generations()
        current = next((g for g in seen if g.number == mine.number), None)
        if current is None or current.state != BUILDING:
            self._target = None if superseded(seen, mine.number) else current
            self._look_again()
            return False
        key = positions_key(consumer, mine.number)
        done = caught_up(self._reached(mine.number), self.positions(consumer), log_end)
        if not set(log_end) <= done:
            return False  # a read-only look: the write lock only to switch

        def switch(conn: Any) -> _Switched | None:
            seen = sql_generations.load(conn, self._read_time)
            current = next((g for g in seen if g.number == mine.number), None)
            if current is None or current.state != BUILDING:
                return None
            stored = self._lock_positions(conn, key)
            return self._switch_if_caught_up(conn, seen, current, stored, log_end)

        switched = self._transaction("switch twin generations", switch)
        self._after(switched)
        return switched is not None

    def _reached(self, generation: int) -> set[int]:
        rows = self._fetch(
            "read a generation's progress",
            "SELECT partition_id FROM twin_generation_caught_up WHERE generation = ?",
            (generation,),
        )
        return {int(p) for (p,) in rows}

    def _switch_if_caught_up(
        self,
        conn: Any,
        seen: list[TwinGeneration],
        building: TwinGeneration,
        at: Mapping[int, int],
        log_end: Mapping[int, int],
    ) -> _Switched | None:
        before = sql_generations.reached(conn, self.mark, building.number)
        done = caught_up(before, at, log_end)
        sql_generations.record_reached(conn, self.mark, building.number, done - before)
        if not set(log_end) <= done:
            return None
        if not may_switch(seen, building):
            if building.number not in self._warned_no_switch:
                self._warned_no_switch.add(building.number)
                log.warning(
                    "twin generation %d has caught up but stays building: the active one has "
                    "a newer format",
                    building.number,
                )
            return None
        if not sql_generations.activate(conn, self.mark, self._time_param, building):
            return None
        return _Switched(
            replace(building, state=ACTIVE, completed_at=datetime.now(UTC)),
            active(seen),
            obsolete_at_switch(seen, building),
        )

    def _after(self, switched: _Switched | None) -> None:
        """After a switch committed: serve and write the new generation here at once, and
        drop what it made obsolete (a failure there is only logged: the next switch or
        ``banktwin projections --drop-retired`` drops them)."""
        if switched is None:
            return
        if self._target is not None and self._target.number == switched.active.number:
            self._target = switched.active
        self._look_again()
        retired = switched.retired
        log.info(
            "twin generation %d (format %s) is active%s",
            switched.active.number,
            switched.active.twin_format,
            "" if retired is None else f"; generation {retired.number} retired",
        )
        if switched.obsolete:
            try:
                self._drop(switched.obsolete)
            except Exception:
                log.exception("could not drop obsolete twin generations")

    def _drop(self, generations: list[TwinGeneration]) -> list[int]:
        def drop_all(conn: Any) -> list[int]:
            return [
                g.number
                for g in generations
                if sql_generations.drop(conn, self.mark, self._time_param, g, self._drop_tables)
            ]

        return self._transaction("drop twin generations", drop_all, schema=True)

    def reset(self, consumer: str = TWIN_CONSUMER) -> None:
        """Start a new generation of this build's format beside the one readers are served
        (dropping one of the same format still being built); the projector then fills it
        from the log and readers switch to it when it has caught up. A store serving no
        generation gets it as the active one at once."""

        def start_over(conn: Any) -> TwinGeneration:
            seen = sql_generations.load(conn, self._read_time)
            for g in seen:
                if g.state == BUILDING and g.twin_format == self._twin_format:
                    sql_generations.drop(conn, self.mark, self._time_param, g, self._drop_tables)
            seen = sql_generations.load(conn, self._read_time)
            if not may_create(seen, self._twin_format):
                raise not_ready(seen, self._twin_format)
            return self._create(conn, seen)

        made = self._transaction("start a twin generation", start_over, schema=True)
        self._target = made
        self._look_again()

    # --- administration -----------------------------------------------------------------

    def generations(self, consumer: str = TWIN_CONSUMER) -> list[GenerationStatus]:
        return [
            GenerationStatus(
                g,
                {}
                if g.state == DROPPED
                else {
                    int(p): int(o)
                    for p, o in self._fetch(
                        "read projection positions",
                        positions.select_sql("?"),
                        (positions_key(consumer, g.number),),
                    )
                },
            )
            for g in self._generations()
        ]

    def drop_retired(self) -> list[int]:
        return self._drop([g for g in self._generations() if g.state == RETIRED])
