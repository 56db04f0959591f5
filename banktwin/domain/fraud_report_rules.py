"""How fraud reports (the fraud engine's labels) change the customer twin.

A report is identified by its transaction and kind: a dispute repeated (a customer calling
twice, a source sending again under another event id) is one report, while a dispute and
then a chargeback of the same transaction are two. The count of distinct reports adds up, the
time of the newest report is a maximum, and each reported transaction is kept as a mark with
the time it was first known, so every arrival order gives the same twin (docs/events.md).
"""

from __future__ import annotations

from typing import cast

from banktwin.domain.customer import Changes, CustomerRule, CustomerTwin, FraudReportMark
from banktwin.domain.events import Event
from banktwin.domain.payloads.fraud_report import FraudReported

MAX_FRAUD_REPORTS = 100
"""Reports kept per customer (the ones known last): beyond it, the first known is forgotten,
and a repeat of it arriving later counts as a new report."""


def _fraud_reported(c: CustomerTwin, e: Event) -> Changes:
    p = cast(FraudReported, e.payload)
    at = e.occurred_at
    changes: Changes = {}
    if c.last_fraud_report_at is None or at > c.last_fraud_report_at:
        changes["last_fraud_report_at"] = at
    marks = c.fraud_reports
    identity = (p.transaction_id, p.kind.value)
    for i, mark in enumerate(marks):
        if (mark.transaction_id, mark.kind) == identity:  # reported already: not counted again
            if at < mark.reported_at:
                changes["fraud_reports"] = (
                    *marks[:i],
                    mark._replace(reported_at=at),
                    *marks[i + 1 :],
                )
            return changes
    listed = sorted([*marks, FraudReportMark(*identity, at)])
    if len(listed) > MAX_FRAUD_REPORTS:
        listed.remove(min(listed, key=lambda m: (m.reported_at, m.transaction_id, m.kind)))
    changes["fraud_reports"] = tuple(listed)
    changes["fraud_report_count"] = c.fraud_report_count + 1
    return changes


FRAUD_REPORT_RULES: dict[str, CustomerRule] = {"fraud.reported": _fraud_reported}
"""The rule for each fraud report event type."""
