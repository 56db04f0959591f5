"""Twin documents: every twin reads back equal to the one written."""

from __future__ import annotations

import orjson

from banktwin.domain.balance import MAX_RECENT
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import SubjectKind
from banktwin.domain.twin import fold
from banktwin.store.codec import decode_twin, encode_twin
from tests.factories import event, new_id, opened, posted, registered


def test_a_customer_with_every_kind_of_fact_reads_back_equal() -> None:
    cid, alert = new_id(), new_id()
    events = [
        registered(cid),
        event("customer.profile_updated", cid, {"email": "new@example.com"}, minutes=1),
        event("customer.device_seen", cid, {"deviceId": "dev_1", "platform": "ios"}),
        event("customer.login", cid, {"channel": "web", "deviceId": "dev_1"}, minutes=2),
        opened(cid, balance="100.00"),
        *[posted(cid, amount="1.00", minutes=3 + i) for i in range(MAX_RECENT + 3)],
        event("account.balance_changed", cid, {"accountId": "A2", "balance": "5.00"}),
        event("fraud.alert_status_changed", cid, {"alertId": alert, "status": "closed"}),
        event("credit.score_received", cid, {"score": 700, "bureau": "B"}),
        event(
            "fraud.reported",
            cid,
            {"transactionId": "TX1", "accountId": "ACC123", "kind": "dispute"},
            minutes=30,
        ),
    ]
    twin = fold(events)
    assert twin is not None
    account = twin.accounts[0]  # type: ignore[union-attr]
    assert account.book.folded_to is not None and account.book.recent
    assert decode_twin(SubjectKind.CUSTOMER, encode_twin(twin)) == twin


def test_a_customer_document_written_before_fraud_reports_still_reads() -> None:
    """Documents of the same format written before ``fraud.reported`` existed lack its fields:
    they read with none counted, so the format did not change."""
    cid = new_id()
    twin = fold([registered(cid), opened(cid), posted(cid, minutes=1)])
    assert isinstance(twin, CustomerTwin)
    doc = orjson.loads(encode_twin(twin))
    for name in ("fraud_reports", "fraud_report_count", "last_fraud_report_at"):
        del doc[name]

    old = decode_twin(SubjectKind.CUSTOMER, orjson.dumps(doc))
    assert isinstance(old, CustomerTwin)
    assert old == twin and old.fraud_report_count == 0 and old.last_fraud_report_at is None


def test_a_branch_and_a_loan_read_back_equal() -> None:
    bid, lid = new_id(), new_id()
    branch = fold(
        [
            event("branch.opened", bid, {"name": "Main", "location": {"country": "DE"}}),
            event("queue.joined", bid, {"ticketId": "T1", "service": "teller"}),
            event("queue.joined", bid, {"ticketId": "T2", "service": "teller"}),
            event("queue.served", bid, {"ticketId": "T1"}, minutes=5),
            event("queue.abandoned", bid, {"ticketId": "T9"}, minutes=5),
            event("branch.staff_checked_out", bid, {"staffId": "S1"}, minutes=6),
            event("branch.closed", bid, minutes=7),
        ]
    )
    assert branch is not None
    assert decode_twin(SubjectKind.BRANCH, encode_twin(branch)) == branch
    submission = {
        "customerId": new_id(),
        "product": "personal",
        "amount": "5000",
        "currency": "EUR",
        "termMonths": 24,
    }
    loan = fold(
        [
            event("loan.submitted", lid, submission),
            event("loan.stage_changed", lid, {"stage": "underwriting"}, minutes=600),
        ]
    )
    assert loan is not None
    assert decode_twin(SubjectKind.LOAN, encode_twin(loan)) == loan
