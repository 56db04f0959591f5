"""One scrape: this process's metrics, or every process's from the multiprocess directory, and
the figures computed at scrape time, in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from banktwin.observability.instruments import Instruments, instruments
from banktwin.observability.multiprocess import metrics_dir

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text format every Prometheus reads (``version=0.0.4``)."""


class CountedMetrics(Collector):
    """The instruments' families as counted: by every process that wrote to ``directory``, or by
    this one. A family nothing has written yet is still listed (its ``HELP`` and ``TYPE``, no
    samples), so a scrape always names every metric banktwin has."""

    def __init__(self, counted: Instruments, directory: str | None) -> None:
        self._counted = counted
        self._directory = directory

    def collect(self) -> Iterator[Metric]:
        source: Collector = (
            self._counted.registry
            if self._directory is None
            else MultiProcessCollector(None, path=self._directory)  # type: ignore[no-untyped-call]
        )
        seen = set()
        for family in source.collect():
            seen.add(family.name)
            yield family
        for metric in self._counted.all():
            for family in metric.describe():
                if family.name not in seen:
                    yield family


def render_metrics(scrape_time: Iterable[Collector] = ()) -> bytes:
    """The exposition of this process's (or every process's) metrics and of ``scrape_time``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CountedMetrics(instruments(), metrics_dir()))
    for collector in scrape_time:
        registry.register(collector)
    return generate_latest(registry)
