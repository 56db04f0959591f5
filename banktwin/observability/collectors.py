"""Figures computed when ``/metrics`` is scraped, from state every process can read: the log's
end offsets, each consumer's committed positions, the KPI engine's state and the connectors'
dead-letter table. Nothing is counted
in the consumer processes for them, so they are right wherever the consumers run (threads,
processes, another machine).

A family whose store does not answer (``UnavailableError``) is left out of that scrape, logged
at debug: the scrape itself never fails for it, and Prometheus sees the series go absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from banktwin.consumers.consumer import Consumer
from banktwin.domain.completeness import COMPLETENESS_TARGET
from banktwin.errors import UnavailableError
from banktwin.ingest.dead_letters import DeadLetterStore
from banktwin.kpis.reader import KpiReader

log = logging.getLogger(__name__)


class ConsumerCollector(Collector):
    """Per consumer: events applied (the sum of its committed positions) and its lag in events
    and seconds (:meth:`Consumer.lag_now`, as ``/readyz`` reports it)."""

    def __init__(self, consumers: Mapping[str, Consumer[Any]], now: datetime) -> None:
        self._consumers = consumers
        self._now = now

    def collect(self) -> Iterator[Metric]:
        applied = CounterMetricFamily(
            "banktwin_events_applied",
            "Events the consumer has applied and committed (the sum of its positions; a replay "
            "starts it again from 0).",
            labels=["consumer"],
        )
        lag_events = GaugeMetricFamily(
            "banktwin_consumer_lag_events",
            "Events in the log the consumer has not applied yet.",
            labels=["consumer"],
        )
        lag_seconds = GaugeMetricFamily(
            "banktwin_consumer_lag_seconds",
            "Age of the oldest event the consumer has not applied yet (0 when none).",
            labels=["consumer"],
        )
        for name, consumer in self._consumers.items():
            try:
                lag = consumer.lag_now(self._now)
                positions = consumer.engine.positions()
            except UnavailableError as exc:
                log.debug("metrics: consumer %s skipped: %s", name, exc)
                continue
            applied.add_metric([name], sum(positions.get(p, 0) for p in consumer.partitions))
            lag_events.add_metric([name], lag.events)
            lag_seconds.add_metric([name], lag.seconds)
        yield from (applied, lag_events, lag_seconds)


class KpiCollector(Collector):
    """Bank-wide KPIs (``GET /v1/kpis``): data completeness against its 95 % target, and the
    fraud alerts raised in the last full hour against their trailing 7-day hourly mean."""

    def __init__(self, kpis: KpiReader, now: datetime) -> None:
        self._kpis = kpis
        self._now = now

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "banktwin_data_completeness_target",
            "The data completeness the bank aims at (the seed's 95 %), as a ratio.",
            value=COMPLETENESS_TARGET / 100,
        )
        try:
            # The shortest windows: a scrape needs only the totals and the alert rate.
            report = self._kpis.report(self._now, minutes=1, hours=1)
        except UnavailableError as exc:
            log.debug("metrics: KPIs skipped: %s", exc)
            return
        completeness = GaugeMetricFamily(
            "banktwin_data_completeness_ratio",
            "Facts known about customers, as a share of what complete profiles hold, bank-wide "
            "(no sample before the first customer).",
        )
        if report.completeness.customers:
            completeness.add_metric([], report.completeness.percent / 100)
        yield completeness
        rate = report.fraud_alert_rate
        yield GaugeMetricFamily(
            "banktwin_fraud_alert_rate",
            "Fraud alerts raised in the last full hour.",
            value=rate.last_hour.alerts,
        )
        yield GaugeMetricFamily(
            "banktwin_fraud_alert_rate_baseline",
            "Mean fraud alerts raised per hour over the 7 days (168 full hours) before the last "
            "one, or over the hours there is data for.",
            value=rate.baseline,
        )


class DeadLetterCollector(Collector):
    """Per connector (``source``): the records it refused into the dead-letter table, all of
    them (replayed and discarded ones too, so the figure only grows and Prometheus's
    ``delta`` over it counts new ones)."""

    def __init__(self, dead_letters: Callable[[], DeadLetterStore], now: datetime) -> None:
        """``dead_letters`` gives the table (opening it may fail like reading it)."""
        self._dead_letters = dead_letters
        self._now = now

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "banktwin_dead_letters",
            "Records a stream connector refused into its dead-letter table (replayed and "
            "discarded ones included), by the connector's source name.",
            labels=["source"],
        )
        try:
            counts = self._dead_letters().counts(self._now)
        except UnavailableError as exc:
            log.debug("metrics: dead letters skipped: %s", exc)
            return
        for source, counted in counts.items():
            family.add_metric([source], counted.total)
        yield family
