"""Fraud reports in the customer twin: counted once per transaction and kind, in any order."""

from __future__ import annotations

from datetime import timedelta

from banktwin.domain.customer import CustomerTwin, FraudReportMark
from banktwin.domain.events import Event
from banktwin.domain.fraud_report_rules import MAX_FRAUD_REPORTS
from banktwin.domain.twin import fold
from tests.factories import T0, event, new_id, registered

CID = new_id()


def report(transaction_id: str, kind: str = "dispute", minutes: float = 0) -> Event:
    payload = {
        "transactionId": transaction_id,
        "accountId": "ACC1",
        "kind": kind,
        "transactionOccurredAt": "2025-09-10T09:30:00+02:00",
    }
    return event("fraud.reported", CID, payload, minutes=minutes)


def customer(*events: Event) -> CustomerTwin:
    twin = fold(events)
    assert isinstance(twin, CustomerTwin)
    return twin


def test_a_report_is_counted_with_its_transaction_and_time() -> None:
    c = customer(registered(CID), report("TX1", minutes=5))

    assert c.fraud_report_count == 1
    assert c.fraud_reports == (FraudReportMark("TX1", "dispute", T0 + timedelta(minutes=5)),)
    assert c.last_fraud_report_at == T0 + timedelta(minutes=5)
    assert c.events_applied == 2


def test_a_report_repeated_counts_once_from_the_time_it_was_first_known() -> None:
    c = customer(report("TX1", minutes=9), report("TX1", minutes=3), report("TX1", minutes=6))

    assert c.fraud_report_count == 1
    assert c.fraud_reports == (FraudReportMark("TX1", "dispute", T0 + timedelta(minutes=3)),)
    assert c.last_fraud_report_at == T0 + timedelta(minutes=9)  # the newest report, repeats too
    assert c.events_applied == 3


def test_a_dispute_then_a_chargeback_of_one_transaction_are_two_reports() -> None:
    c = customer(report("TX2", "chargeback", 20), report("TX2", "dispute", 1), report("TX1"))

    assert c.fraud_report_count == 3
    assert [(m.transaction_id, m.kind) for m in c.fraud_reports] == [
        ("TX1", "dispute"),
        ("TX2", "chargeback"),
        ("TX2", "dispute"),
    ]


def test_a_report_of_a_customer_not_registered_yet_still_counts() -> None:
    c = customer(report("TX1"))

    assert not c.registered and c.fraud_report_count == 1


def test_the_newest_reports_are_kept_and_the_first_known_forgotten() -> None:
    many = [report(f"TX{i}", minutes=i) for i in range(MAX_FRAUD_REPORTS + 1)]
    c = customer(*many)

    assert c.fraud_report_count == MAX_FRAUD_REPORTS + 1
    assert len(c.fraud_reports) == MAX_FRAUD_REPORTS
    assert "TX0" not in {m.transaction_id for m in c.fraud_reports}
    again = customer(*many, report("TX0", minutes=200))  # forgotten: counts as news (bounded)
    assert again.fraud_report_count == MAX_FRAUD_REPORTS + 2
