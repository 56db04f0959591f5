"""Reading what this test process's metrics hold (they count across tests: compare before and
after)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from banktwin.observability.instruments import instruments

FAMILIES = {  # every family GET /metrics exposes, even before its first sample
    "banktwin_http_request_duration_seconds",
    "banktwin_events_appended",
    "banktwin_events_applied",
    "banktwin_consumer_lag_events",
    "banktwin_consumer_lag_seconds",
    "banktwin_consumer_last_commit_timestamp_seconds",
    "banktwin_dead_letters",
    "banktwin_fraud_scoring_seconds",
    "banktwin_fraud_alert_rate",
    "banktwin_fraud_alert_rate_baseline",
    "banktwin_data_completeness_ratio",
    "banktwin_data_completeness_target",
    "banktwin_model_drift_ratio",
    "banktwin_job_duration_seconds",
}
"""The metric families of banktwin's exposition (counters without their ``_total``)."""


def sample(name: str, **labels: str) -> float:
    """The value of a sample of this process's metrics (0 when it has none yet)."""
    return instruments().registry.get_sample_value(name, labels) or 0.0


def parsed(exposition: bytes | str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """An exposition, parsed by prometheus_client's own parser: per sample name, the value of
    each label set (a malformed exposition raises)."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, {})
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found
