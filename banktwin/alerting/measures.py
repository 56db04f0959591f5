"""What the alert rules measure, read from the running system.

:class:`Measures` is the port the evaluator reads through; :class:`SystemMeasures` reads the
consumers' lag from the log and their committed positions (right from any process), the
fraud-alert rate from the KPIs, and model drift from the last day the risk engine measured
(its worst PSI, keyed by model version). Dead letters have no source yet: the connectors will
add theirs here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from banktwin.consumers.consumer import Consumer
from banktwin.domain.operational_alerts import Measurement
from banktwin.errors import UnavailableError
from banktwin.kpis.reader import KpiReader

if TYPE_CHECKING:
    from banktwin.risk.engine import DriftRecord

log = logging.getLogger(__name__)

BANK = "bank"
"""The key of a measure of the bank as a whole."""


class Measures(Protocol):
    """Everything the alert rules look at, measured now."""

    def measure(self, now: datetime) -> list[Measurement]:
        """One measurement per rule and key that could be read (a measure that cannot be
        read is left out: the rule keeps its state until it can)."""
        ...


class SystemMeasures:
    """Consumer lag and stalls from the log and the stored positions; the fraud-alert rate
    from the KPIs."""

    def __init__(
        self,
        consumers: Mapping[str, Consumer[Any]],
        kpis: KpiReader | None,
        drift: Callable[[], DriftRecord | None] | None = None,
    ) -> None:
        """``drift`` reads the last day of drift measured (``None`` before the first)."""
        self._consumers = consumers
        self._kpis = kpis
        self._drift = drift
        self._moved: dict[str, tuple[dict[int, int], datetime]] = {}
        """Per consumer, its positions when last seen moving, and when."""

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
        return measured

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
        """Seconds since ``name``'s positions last moved, as this process has seen them."""
        seen = self._moved.get(name)
        if seen is None or seen[0] != positions:
            self._moved[name] = (positions, now)
            return 0.0
        return round((now - seen[1]).total_seconds(), 3)
