"""What the alert rules measure, read from the running system.

:class:`Measures` is the port the evaluator reads through; :class:`SystemMeasures` reads the
consumers' lag from the log and their committed positions (right from any process), the
fraud-alert rate from the KPIs, model drift from the last day the risk engine measured
(its worst PSI, keyed by model version), and per connector the records it dead-lettered in the
last 15 minutes, from the dead-letter table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from banktwin.alerting import ALERTING
from banktwin.consumers.consumer import Consumer
from banktwin.consumers.engine import Checkpoint
from banktwin.domain.operational_alerts import Measurement
from banktwin.errors import UnavailableError
from banktwin.ingest.dead_letters import DeadLetterStore
from banktwin.kpis.reader import KpiReader
from banktwin.store.kv import KeyValueStore, prefix_end

if TYPE_CHECKING:
    from banktwin.risk.engine import DriftRecord

log = logging.getLogger(__name__)

MOVED_PREFIX = "moved/"
"""Keys of when each consumer's positions last moved (the stall timer)."""
BANK = "bank"
"""The key of a measure of the bank as a whole."""
DEAD_LETTERS_WINDOW = timedelta(minutes=15)
"""How far back ``dead_letters_growing`` counts a source's new dead letters."""


class Measures(Protocol):
    """Everything the alert rules look at, measured now."""

    def measure(self, now: datetime) -> list[Measurement]:
        """One measurement per rule and key that could be read (a measure that cannot be
        read is left out: the rule keeps its state until it can)."""
        ...


class SystemMeasures:
    """Consumer lag and stalls from the log and the stored positions; the fraud-alert rate
    from the KPIs; model drift; the connectors' new dead letters."""

    def __init__(
        self,
        consumers: Mapping[str, Consumer[Any]],
        kpis: KpiReader | None,
        drift: Callable[[], DriftRecord | None] | None = None,
        kv: KeyValueStore | None = None,
        *,
        dead_letters: DeadLetterStore | None = None,
    ) -> None:
        """``drift`` reads the last day of drift measured (``None`` before the first);
        ``kv`` keeps when each consumer was last seen moving, so a restarted evaluator does
        not give a stalled consumer its 10 minutes again; ``dead_letters`` is the connectors'
        dead-letter table."""
        self._consumers = consumers
        self._dead_letters = dead_letters
        self._kpis = kpis
        self._drift = drift
        self._kv = kv
        self._moved: dict[str, tuple[dict[int, int], datetime]] = {}
        """Per consumer, its positions when last seen moving, and when."""
        self._loaded = kv is None

    def measure(self, now: datetime) -> list[Measurement]:
        measured: list[Measurement] = []
        for name, consumer in self._consumers.items():
            try:
                lag = consumer.lag_now(now)
                positions = consumer.engine.positions()
            except UnavailableError as exc:
                log.debug("alerting: cannot measure consumer %s: %s", name, exc)
                continue
            measured.append(Measurement("ingestion_lag", name, lag.seconds, now))
            measured.append(
                Measurement("consumer_stalled", name, self._still_for(name, positions, now), now)
                if lag.events
                else Measurement("consumer_stalled", name, 0.0, now)
            )
        if self._kpis is not None:
            try:
                rate = self._kpis.fraud_alert_rate(now)
            except UnavailableError as exc:
                log.debug("alerting: cannot read the fraud-alert rate: %s", exc)
            else:
                ratio = rate.ratio if rate.ratio is not None else 0.0
                measured.append(Measurement("fraud_alert_rate", BANK, round(ratio, 3), now))
        if self._drift is not None:
            measured.extend(self._drift_measures(now))
        if self._dead_letters is not None:
            measured.extend(self._dead_letter_measures(now))
        return measured

    def _dead_letter_measures(self, now: datetime) -> list[Measurement]:
        """Per source with any dead letter, how many it received in the last 15 minutes (0
        once they are older: a firing alert resolves)."""
        assert self._dead_letters is not None
        try:
            counts = self._dead_letters.counts(now - DEAD_LETTERS_WINDOW)
        except UnavailableError as exc:
            log.debug("alerting: cannot count dead letters: %s", exc)
            return []
        return [
            Measurement("dead_letters_growing", source, counted.since, now)
            for source, counted in counts.items()
        ]

    def _drift_measures(self, now: datetime) -> list[Measurement]:
        """The worst PSI of the last day measured, when enough scores were seen to judge it
        (a day of too few is not measured at all: the rule keeps its state)."""
        assert self._drift is not None
        try:
            latest = self._drift()
        except UnavailableError as exc:
            log.debug("alerting: cannot read model drift: %s", exc)
            return []
        if latest is None:
            return []
        return [Measurement("model_drift", latest.model_name, latest.worst_psi, now)]

    def _still_for(self, name: str, positions: dict[int, int], now: datetime) -> float:
        """Seconds since ``name``'s positions last moved, as this deployment has seen them."""
        self._load()
        seen = self._moved.get(name)
        if seen is None or seen[0] != positions:
            self._moved[name] = (positions, now)
            self._save(name)
            return 0.0
        return round((now - seen[1]).total_seconds(), 3)

    def _load(self) -> None:
        if self._loaded or self._kv is None:
            return
        try:
            stored = self._kv.scan(ALERTING, MOVED_PREFIX, prefix_end(MOVED_PREFIX))
        except UnavailableError as exc:
            log.debug("alerting: cannot read when consumers last moved: %s", exc)
            return
        for key, raw in stored:
            moved = msgspec.msgpack.decode(raw, type=_Moved)
            self._moved[key.removeprefix(MOVED_PREFIX)] = (moved.positions, moved.at)
        self._loaded = True

    def _save(self, name: str) -> None:
        if self._kv is None:
            return
        positions, at = self._moved[name]
        raw = msgspec.msgpack.encode(_Moved(positions, at))
        try:
            self._kv.commit(Checkpoint(ALERTING, {}, {}), {f"{MOVED_PREFIX}{name}": raw})
        except UnavailableError as exc:  # measured again at the next evaluation
            log.debug("alerting: cannot keep when %s last moved: %s", name, exc)


class _Moved(msgspec.Struct, frozen=True):
    positions: dict[int, int]
    at: datetime
