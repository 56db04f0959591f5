"""Operational alerting: the seed's thresholds evaluated inside banktwin (no Prometheus
needed), each firing and resolution appended to the log (:mod:`.evaluator`) and delivered to
webhooks (:mod:`.webhooks`)."""

ALERTING = "alerting"
"""The name the evaluator and the webhook sender keep their keys under in the key-value
store."""
