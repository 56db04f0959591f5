"""What the alert rules measure, read from the running system.

:class:`Measures` is the port the evaluator reads through; :class:`SystemMeasures` reads the
consumers' lag from the log and their committed positions (right from any process), and the
fraud-alert rate from the KPIs. Model drift and dead letters have no source yet: the risk-model
and connector issues will add theirs here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from banktwin.consumers.consumer import Consumer
from banktwin.domain.operational_alerts import Measurement
from banktwin.errors import UnavailableError
from banktwin.kpis.reader import KpiReader

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

    def __init__(self, consumers: Mapping[str, Consumer[Any]], kpis: KpiReader | None) -> None:
        self._consumers = consumers
        self._kpis = kpis
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
        return measured

    def _still_for(self, name: str, positions: dict[int, int], now: datetime) -> float:
        """Seconds since ``name``'s positions last moved, as this process has seen them."""
        seen = self._moved.get(name)
        if seen is None or seen[0] != positions:
            self._moved[name] = (positions, now)
            return 0.0
        return round((now - seen[1]).total_seconds(), 3)
