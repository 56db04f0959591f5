"""Stored payloads decode to exactly the models validation would build."""

from __future__ import annotations

from typing import Any

import pytest

from banktwin.domain.events import EVENT_TYPES
from banktwin.domain.payloads.account import AccountOpened
from banktwin.domain.payloads.branch import QueueAbandoned
from banktwin.domain.payloads.common import Payload
from banktwin.log.codec import decode_payload, encode_payload
from banktwin.log.stored_payloads import StoredPayloadDecoder, StoredPayloadError
from tests.unit.sim.sim_fixtures import END, SMALL, make_backfill

UUID = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"
LOCATION = {"country": "DE", "city": "Berlin", "latitude": 52, "longitude": 13.4}
ADDRESS = "Unter den Linden 1, 10117 Berlin"
EVERY_FIELD: dict[str, dict[str, Any]] = {
    "customer.registered": {
        "name": "Ada Lovelace",
        "dob": "1815-12-10",
        "email": "ada@example.org",
        "address": ADDRESS,
        "phone": "+44 20 0000 0000",
        "country": "GB",
        "segment": "private",
        "consent": {"processing": True, "marketing": False},
    },
    "customer.profile_updated": {"email": None, "segment": "retail", "address": ADDRESS},
    "customer.consent_changed": {"consent": {"marketing": True}, "channel": "app"},
    "customer.login": {
        "channel": "mobile",
        "outcome": "locked",
        "authMethod": "otp",
        "deviceId": "dev_1",
        "ipCountry": "FR",
        "location": LOCATION,
    },
    "customer.device_seen": {"deviceId": "dev_1", "platform": "ios", "model": "15"},
    "credit.score_received": {"score": 712, "bureau": "B", "reportId": "r1", "delinquencies": 1},
    "credit.payment_missed": {
        "facilityId": "ACC2",
        "amountDue": "310.4",
        "currency": "EUR",
        "daysPastDue": 31,
        "product": "personal",
    },
    "credit.payment_made": {
        "facilityId": "ACC2",
        "amount": "620.8",
        "currency": "EUR",
        "late": True,
        "daysPastDue": 0,
        "product": "personal",
    },
    "credit.defaulted": {
        "facilityId": "ACC2",
        "outstanding": "9310.5",
        "currency": "EUR",
        "daysPastDue": 90,
        "product": "auto",
    },
    "credit.charged_off": {
        "facilityId": "ACC2",
        "amount": "9310.5",
        "currency": "EUR",
        "daysPastDue": 150,
        "product": "mortgage",
    },
    "account.opened": {
        "accountId": "ACC1",
        "type": "savings",
        "currency": "EUR",
        "balance": "10.5",
        "status": "frozen",
    },
    "account.balance_changed": {"accountId": "ACC1", "balance": "-3.20", "reason": "cdc"},
    "account.status_changed": {"accountId": "ACC1", "status": "closed", "reason": "asked"},
    "transaction.posted": {
        "transactionId": "TX1",
        "accountId": "ACC1",
        "amount": "12.3",
        "currency": "EUR",
        "direction": "credit",
        "channel": "ecommerce",
        "merchant": "Shop",
        "merchantCategory": "5411",
        "terminalId": "T1",
        "location": LOCATION,
        "cardToken": "tok_0123456789",
        "deviceId": "dev_1",
        "description": "refund",
    },
    "risk.score_updated": {
        "scoreId": UUID,
        "score": 0.25,
        "modelVersion": "m1",
        "reasons": [
            {"feature": "velocity", "contribution": 0.1, "value": 3},
            {"feature": "country", "contribution": 0.05, "value": "FR"},
            {"feature": "amount", "contribution": 0.1, "value": 1.5},
        ],
    },
    "fraud.alert_raised": {
        "alertId": UUID,
        "transactionId": "TX1",
        "severity": "high",
        "score": 0.9,
        "reasons": ["new device"],
        "ruleIds": ["R1"],
    },
    "fraud.alert_status_changed": {
        "alertId": UUID,
        "status": "confirmed_fraud",
        "note": "called",
        "analyst": "kim",
    },
    "fraud.reported": {
        "transactionId": "TX1",
        "accountId": "ACC1",
        "kind": "chargeback",
        "cardToken": "tok_0123456789",
        "transactionOccurredAt": "2025-09-15T16:00:00.5+02:00",
        "reasonCode": "compromised_card",
    },
    "branch.opened": {
        "name": "Mitte",
        "address": ADDRESS,
        "location": LOCATION,
        "openHours": {"mon": "09:00-17:00"},
        "services": [{"service": "teller", "avgHandlingMinutes": 5}],
        "capacity": 40,
    },
    "branch.closed": {"reason": "evening"},
    "branch.staff_checked_in": {"staffId": "S1", "services": ["teller"]},
    "branch.staff_checked_out": {"staffId": "S1"},
    "branch.service_availability_changed": {
        "service": "teller",
        "available": False,
        "reason": "x",
    },
    "queue.joined": {"ticketId": "Q1", "service": "teller", "customerId": "C1"},
    "queue.served": {"ticketId": "Q1", "staffId": "S1"},
    "queue.abandoned": {"ticketId": "Q1"},
    "loan.submitted": {
        "customerId": UUID,
        "product": "mortgage",
        "amount": "250000",
        "currency": "EUR",
        "termMonths": 240,
        "channel": "branch",
        "branchId": UUID,
    },
    "loan.stage_changed": {"stage": "underwriting", "note": "docs in"},
    "loan.decided": {
        "decision": "approved",
        "reason": "ok",
        "approvedAmount": "200000.5",
        "interestRate": 3,
    },
    "loan.sla_breached": {"stage": "underwriting", "slaHours": 48, "hoursInStage": 50.5},
    "ops.alert_fired": {
        "rule": "ingestion_lag",
        "key": "twin",
        "severity": "page",
        "value": 412.5,
        "threshold": 300,
        "summary": "consumer twin is 412.5 s behind the log (threshold 300 s)",
        "since": "2026-11-30T12:00:00+01:00",
    },
    "ops.alert_resolved": {"rule": "ingestion_lag", "key": "twin", "value": 3},
    "model.drift_measured": {
        "modelName": "RiskScore",
        "modelVersion": "RiskScore/2",
        "day": "2026-03-01",
        "rows": 1800,
        "scorePsi": 0.03,
        "worstInput": "outflow_90d",
        "worstPsi": 0.14,
        "features": {"outflow_90d": 0.14, "liquid_balance": 0.02},
        "threshold": 0.1,
        "drifted": True,
    },
    "fraud.entity_hop": {
        "transactionId": "TX-1",
        "customerId": "c1",
        "entity": "merchant",
        "terminalId": "TERM1",
        "merchant": "Corner Grocery",
        "merchantCategory": "5411",
        "features": {"amount": 52.0, "cust_txn_count_1d": 3, "is_night": True, "zero": 0.0},
    },
    "fraud.entity_label": {
        "transactionId": "TX-1",
        "entity": "terminal",
        "transactionAt": "2026-11-30T12:00:00+00:00",
    },
}


def _same(validated: Payload, stored: Payload) -> None:
    assert type(stored) is type(validated)
    assert stored == validated
    assert stored.model_fields_set == validated.model_fields_set
    assert encode_payload(stored) == encode_payload(validated)
    for name in type(validated).model_fields:
        value, expected = getattr(stored, name), getattr(validated, name)
        assert type(value) is type(expected), name  # 52 stays the float 52.0, not an int


def test_every_event_type_has_a_full_example() -> None:
    assert set(EVERY_FIELD) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_field_decodes_as_validation_would(event_type: str) -> None:
    spec = EVENT_TYPES[event_type]
    validated = spec.payload.model_validate(EVERY_FIELD[event_type])
    _same(validated, decode_payload(event_type, spec.version, encode_payload(validated)))


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_defaults_decode_as_validation_would(event_type: str) -> None:
    spec = EVENT_TYPES[event_type]
    model = spec.payload
    required = {
        k: v
        for k, v in EVERY_FIELD[event_type].items()
        if model.model_fields[_name(model, k)].is_required()
    }
    if event_type == "customer.profile_updated":
        required = {"country": "DE"}  # it must change something
    validated = model.model_validate(required)
    _same(validated, decode_payload(event_type, spec.version, encode_payload(validated)))


def _name(model: type[Payload], alias: str) -> str:
    return next(n for n, f in model.model_fields.items() if (f.alias or n) == alias)


def test_a_simulated_bank_decodes_as_validation_would() -> None:
    batches, _, _ = make_backfill(SMALL, END)
    for event in (e for batch in batches for e in batch):
        data = encode_payload(event.payload)
        validated = EVENT_TYPES[event.type].payload.model_validate_json(data)
        _same(validated, decode_payload(event.type, event.version, data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[1]", "QueueAbandoned: Expected `object`, got `array`"),
        (b"{", "QueueAbandoned: Input data was truncated"),
        (b'{"ticketId": "Q1", "color": "red"}', "unknown field `color`"),
        (b"{}", "missing required field `ticketId`"),
    ],
)
def test_what_does_not_fit_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(StoredPayloadError, match=message):
        StoredPayloadDecoder(QueueAbandoned).decode(data)


def test_a_value_that_does_not_convert_is_refused_with_the_reason() -> None:
    message = r"AccountOpened: Invalid enum value 'bank vault' - at `\$.type`"
    with pytest.raises(StoredPayloadError, match=message):
        StoredPayloadDecoder(AccountOpened).decode(
            b'{"accountId": "A1", "type": "bank vault", "currency": "EUR"}'
        )


def test_payloads_sharing_a_fields_set_stay_independent_when_copied() -> None:
    data = b'{"accountId": "A1", "type": "savings", "currency": "EUR"}'
    first = decode_payload("account.opened", 1, data)
    second = decode_payload("account.opened", 1, data)
    assert first.model_fields_set is second.model_fields_set  # one set per shape
    changed = first.model_copy(update={"status": "frozen"})
    assert "status" in changed.model_fields_set
    assert "status" not in first.model_fields_set and "status" not in second.model_fields_set
