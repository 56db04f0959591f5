"""One line per event for a customer's timeline: what happened, with personal and card data
masked (never an e-mail, a phone number, a card token, a device id, a name, an address or a
full date of birth), checked on the events of a simulated bank and on each masking rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from banktwin.api.event_summaries import (
    MAX_SUMMARY,
    fields_summary,
    mask_email,
    mask_phone,
    mask_tail,
    summarize,
)
from banktwin.domain.events import EVENT_TYPES, Event, SubjectKind
from banktwin.domain.sensitivity import sensitive_fields
from banktwin.sim import SimConfig, Simulation
from tests.factories import event, new_id, posted, registered

BANK = SimConfig(customers=12, branches=1, seed=5, history_days=3, fraud_rate=0.2)


def secrets_of(e: Event) -> list[str]:
    """The marked values of an event's payload, as text (the forms a leak would take)."""
    marked = sensitive_fields(type(e.payload))
    wire = e.payload.model_dump(by_alias=True, mode="json")
    found = []
    for name in marked:
        value = wire.get(name)
        if value not in (None, ""):
            found.append(str(value))
    return found


@pytest.fixture(scope="module")
def customer_events() -> list[Event]:
    events = [
        e
        for batch in Simulation(BANK).backfill(end=datetime(2025, 3, 5, tzinfo=UTC))
        for e in batch
        if e.subject_kind is SubjectKind.CUSTOMER
    ]
    assert {"customer.registered", "transaction.posted", "customer.login"} <= {
        e.type for e in events
    }
    return events


def test_no_summary_of_a_simulated_bank_holds_a_marked_value(customer_events: list[Event]) -> None:
    leaks = []
    marked = 0
    for e in customer_events:
        summary = summarize(e)
        assert 0 < len(summary) <= MAX_SUMMARY
        for secret in secrets_of(e):
            marked += 1
            if len(secret) >= 4 and secret in summary:
                leaks.append((e.type, secret, summary))
    assert marked > 100  # the bank has personal and card data to hide
    assert leaks == []


def test_a_registration_says_which_facts_were_given_and_masks_them() -> None:
    summary = summarize(registered(new_id()))
    assert summary.startswith("registered: name given, born 1986, email j•••@example.com")
    assert "address given" in summary and "phone •••• 00" in summary
    for secret in ("Jane", "1986-07-12", "jane@", "Main St", "555 0100"):
        assert secret not in summary


def test_a_transaction_shows_amount_channel_and_place_and_masks_the_card() -> None:
    summary = summarize(posted(new_id(), amount="42.50"))
    assert summary == (
        "debit 42.50 EUR via card_present at Corner Grocery (DE), account ACC123, card ••••cdef"
    )


@pytest.mark.parametrize(
    ("type_", "payload", "expected"),
    [
        (
            "customer.login",
            {"channel": "mobile", "outcome": "failed", "deviceId": "device-12345678"},
            "login via mobile: failed, device ••••78",
        ),
        (
            "customer.device_seen",
            {"deviceId": "abcdef123456", "platform": "ios"},
            "device ••••56 seen (ios)",
        ),
        (
            "customer.profile_updated",
            {"phone": "+44 20 7946 0958", "segment": "premium"},
            "profile updated: phone •••• 58, segment premium",
        ),
        (
            "fraud.alert_status_changed",
            {
                "alertId": "0192b6e0-0000-7000-8000-000000000001",
                "status": "investigating",
                "analyst": "ana",
                "note": "calling",
            },
            "alert 0192b6e0 investigating by ana: calling",
        ),
        (
            "risk.score_updated",
            {
                "scoreId": "0192b6e0-0000-7000-9000-000000000001",
                "score": 0.4213,
                "modelVersion": "RiskScore/2",
                "reasons": [{"feature": "utilization", "contribution": 0.3}],
            },
            "risk score 0.421 (model RiskScore/2); top factor utilization",
        ),
        (
            "fraud.reported",
            {
                "transactionId": "TX9",
                "accountId": "A1",
                "kind": "dispute",
                "cardToken": "tok_0123456789abcdef",
            },
            "transaction TX9 reported as fraud (dispute), card ••••cdef",
        ),
        (
            "credit.payment_missed",
            {"facilityId": "LN1", "amountDue": "120.00", "currency": "EUR", "daysPastDue": 31},
            "payment missed on LN1: 120.00 EUR due, 31 days past due",
        ),
        (
            "account.balance_changed",
            {"accountId": "ACC1", "balance": "10.00"},
            "account ACC1 balance 10.00",
        ),
        (
            "customer.consent_changed",
            {"consent": {"marketing": True, "profiling": False}},
            "consent changed: marketing on, profiling off",
        ),
    ],
)
def test_each_kind_of_event_reads_as_one_line(
    type_: str, payload: dict[str, object], expected: str
) -> None:
    assert expected in summarize(event(type_, new_id(), payload))


def test_an_event_type_without_a_summary_of_its_own_lists_its_fields_masked() -> None:
    """A customer event type without its own summary (none today: a branch one stands in)."""
    joined = event("queue.joined", new_id(), {"ticketId": "T1", "service": "teller"})
    assert summarize(joined) == "ticketId T1, service teller"


def test_an_event_with_nothing_to_list_is_named_by_its_type() -> None:
    """Types without a summary of their own list their fields; with none given, the type."""
    spec = EVENT_TYPES["branch.closed"]
    assert summarize(event(spec.type, new_id(), {})) == "branch.closed"


def test_the_masks() -> None:
    assert mask_email("jane.doe@example.com") == "j•••@example.com"
    assert mask_email("no-at-sign") == "n•••@•••"
    assert mask_phone("+1 555 0100") == "•••• 00" and mask_phone("none") == "•••"
    assert mask_tail("tok_0123456789abcdef") == "••••cdef"
    assert mask_tail("short") == "••••t" and mask_tail("abc") == "•••"


def test_nested_fields_are_masked_too_and_long_summaries_are_cut() -> None:
    login = event(
        "customer.login",
        new_id(),
        {"channel": "web", "location": {"country": "DE", "city": "Berlin"}},
    )
    assert fields_summary(login.payload) == "channel web, location (country DE, city Berlin)"
    long = event("customer.registered", new_id(), {"name": "A", "country": "DE"})
    assert len(summarize(long)) < MAX_SUMMARY
    reasons = [f"reason number {n} of many" for n in range(20)]
    alert = event(
        "fraud.alert_raised",
        new_id(),
        {"alertId": new_id(), "transactionId": "TX1", "severity": "high", "reasons": reasons},
    )
    cut = summarize(alert)
    assert len(cut) == MAX_SUMMARY and cut.endswith("…")
