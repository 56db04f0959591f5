"""The event vocabulary: wire names, payload validation and sensitivity markers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from banktwin.domain.events import EVENT_TYPES, SubjectKind, UnknownEventTypeError, spec_for
from banktwin.domain.payloads.account import TransactionPosted
from banktwin.domain.payloads.customer import CustomerProfileUpdated, CustomerRegistered
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.domain.sensitivity import Sensitivity, sensitive_fields

SEED_VOCABULARY = {
    "customer.registered",
    "customer.profile_updated",
    "customer.consent_changed",
    "account.opened",
    "account.balance_changed",
    "account.status_changed",
    "transaction.posted",
    "customer.login",
    "customer.device_seen",
    "credit.score_received",
    "branch.opened",
    "branch.closed",
    "branch.staff_checked_in",
    "branch.staff_checked_out",
    "branch.service_availability_changed",
    "queue.joined",
    "queue.served",
    "queue.abandoned",
    "loan.submitted",
    "loan.stage_changed",
    "loan.decided",
    "risk.score_updated",
    "fraud.alert_raised",
    "fraud.alert_status_changed",
}


def test_every_wire_name_of_the_issue_is_in_the_vocabulary() -> None:
    assert set(EVENT_TYPES) >= SEED_VOCABULARY


def test_subjects_by_family() -> None:
    assert spec_for("transaction.posted").subject is SubjectKind.CUSTOMER
    assert spec_for("queue.joined").subject is SubjectKind.BRANCH
    assert spec_for("loan.decided").subject is SubjectKind.LOAN
    with pytest.raises(UnknownEventTypeError):
        spec_for("customer.teleported")


def test_personal_and_card_fields_are_marked() -> None:
    assert sensitive_fields(CustomerRegistered) == {
        "name": Sensitivity.PERSONAL,
        "dob": Sensitivity.PERSONAL,
        "email": Sensitivity.PERSONAL,
        "address": Sensitivity.PERSONAL,
        "phone": Sensitivity.PERSONAL,
    }
    assert sensitive_fields(TransactionPosted) == {
        "cardToken": Sensitivity.CARD,
        "deviceId": Sensitivity.PERSONAL,
    }
    schema = TransactionPosted.model_json_schema()
    assert schema["properties"]["cardToken"]["x-sensitivity"] == "card"


def test_payloads_refuse_unknown_fields_floats_for_money_precision_and_bad_codes() -> None:
    base = {
        "transactionId": "T1",
        "accountId": "A",
        "amount": "1.00",
        "currency": "EUR",
        "channel": "atm",
    }
    TransactionPosted.model_validate(base)
    for bad in (
        {"amount": "1.001"},
        {"amount": "0"},
        {"currency": "eur"},
        {"pan": "4111"},
        {"channel": "carrier_pigeon"},
    ):
        with pytest.raises(ValidationError):
            TransactionPosted.model_validate({**base, **bad})


def test_an_empty_profile_update_is_refused() -> None:
    with pytest.raises(ValidationError):
        CustomerProfileUpdated.model_validate({})


def test_a_fraud_report_names_its_transaction_and_keeps_the_fraud_time_in_utc() -> None:
    spec = spec_for("fraud.reported")
    assert (spec.subject, spec.version, spec.projector_only) == (SubjectKind.CUSTOMER, 1, False)
    assert sensitive_fields(FraudReported) == {"cardToken": Sensitivity.CARD}
    base = {"transactionId": "TX1", "accountId": "ACC1", "kind": "chargeback"}
    report = FraudReported.model_validate(
        {**base, "transactionOccurredAt": "2025-09-15T16:00:00+02:00", "reasonCode": "10.4"}
    )
    assert report.transaction_occurred_at == datetime(2025, 9, 15, 14, 0, tzinfo=UTC)
    assert report.transaction_occurred_at.tzinfo is UTC
    for bad in (
        {"kind": "rumour"},
        {"transactionOccurredAt": "2025-09-15T16:00:00"},  # no offset
        {"reasonCode": "not a code"},
        {"transactionId": ""},
    ):
        with pytest.raises(ValidationError):
            FraudReported.model_validate({**base, **bad})
