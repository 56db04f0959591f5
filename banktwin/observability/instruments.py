"""The metrics banktwin counts as it works (names are a contract: alert rules and dashboards
read them; ``docs/operations.md`` lists them).

They are built on first use, not at import: in multiprocess mode a metric writes to a file in
``PROMETHEUS_MULTIPROC_DIR`` as soon as it exists, so the directory must be chosen first
(:mod:`banktwin.observability.multiprocess`). Figures that any process can compute from the
log and the stores (lag, events applied, KPIs) are not counted here but at scrape time
(:mod:`banktwin.observability.collectors`), and so are the connectors' dead letters, counted
in their table. Labels take values from small closed sets only (route templates, event types,
client ids, consumer names, job names, connector names): never an id, a name or anything else
about a customer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.metrics import MetricWrapperBase

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: a twin read takes about a millisecond, a batch of 2,000 events tens of them."""
SCORING_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1)
"""Seconds per debit: the fraud engine scores one in tens of microseconds."""
JOB_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)


@dataclass(frozen=True)
class Instruments:
    """The metrics of this process, registered in ``registry`` (the one exposed when there is
    no multiprocess directory)."""

    registry: CollectorRegistry
    http_request_duration: Histogram
    events_appended: Counter
    consumer_last_commit: Gauge
    fraud_scoring: Histogram
    job_duration: Histogram
    model_drift: Gauge

    def all(self) -> list[MetricWrapperBase]:
        """Every metric, in declaration order."""
        return [getattr(self, f.name) for f in fields(self) if f.name != "registry"]


@cache
def instruments() -> Instruments:
    """This process's metrics, built on first use (after the multiprocess directory is set)."""
    # The ``_created`` series exist only without a multiprocess directory: leave them out, so a
    # scrape has the same series whichever way the process runs.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    return Instruments(
        registry=registry,
        http_request_duration=Histogram(
            "banktwin_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template (or 'unmatched'), method and "
            "status.",
            ["route", "method", "status"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        ),
        events_appended=Counter(
            "banktwin_events_appended",
            "Events appended to the log through the API's intake (not duplicates), by type and "
            "by the OAuth client that posted them (or the connector that read them).",
            ["type", "source"],
            registry=registry,
        ),
        consumer_last_commit=Gauge(
            "banktwin_consumer_last_commit_timestamp_seconds",
            "Unix time of the consumer's last commit (or of its start by serve, if it has not "
            "committed since).",
            ["consumer"],
            # Set in whichever process commits; the newest time wins, and a process that died
            # keeps its last value: a consumer crashing in a loop still looks stalled.
            multiprocess_mode="max",
            registry=registry,
        ),
        fraud_scoring=Histogram(
            "banktwin_fraud_scoring_seconds",
            "Seconds the fraud engine spends per debit it scores (one observation per batch: "
            "the batch's time divided by its debits).",
            buckets=SCORING_BUCKETS,
            registry=registry,
        ),
        job_duration=Histogram(
            "banktwin_job_duration_seconds",
            "Duration of a completed batch job, by task (fraud_train, replay). Not `job`: "
            "Prometheus gives every scraped series a `job` label of its own.",
            ["task"],
            buckets=JOB_BUCKETS,
            registry=registry,
        ),
        model_drift=Gauge(
            "banktwin_model_drift_ratio",
            "Drift of a model's inputs or scores against its training data (0.12 is 12 %). No "
            "drift check sets it yet.",
            ["model"],
            multiprocess_mode="mostrecent",
            registry=registry,
        ),
    )
