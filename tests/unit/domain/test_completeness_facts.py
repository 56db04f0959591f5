"""The completeness facts followed from events (what the KPI consumer keeps) are the facts the
customer twin has, for any history of a customer (hypothesis generates them)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.domain.completeness import (
    ALL_FACTS,
    COMPLETENESS_CHECKS,
    FACT_BITS,
    facts_after,
    missing_facts,
)
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event
from banktwin.domain.twin import fold
from tests.factories import event

CUSTOMER = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"

maybe_text = st.one_of(st.none(), st.sampled_from(["x", "Jane Doe", "1 Main St"]))
maybe_email = st.one_of(st.none(), st.just("jane@example.com"))
maybe_dob = st.one_of(st.none(), st.just("1986-07-12"))
maybe_phone = st.one_of(st.none(), st.sampled_from(["", "+1 555 0100"]))


@st.composite
def registrations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    payload = {
        "name": draw(st.sampled_from(["Jane Doe", "J"])),
        "dob": draw(maybe_dob),
        "email": draw(maybe_email),
        "address": draw(maybe_text),
        "phone": draw(maybe_phone),
    }
    return "customer.registered", payload


@st.composite
def profile_updates(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    options = {
        "name": st.sampled_from(["Jane Roe", None]),
        "dob": maybe_dob,
        "email": maybe_email,
        "address": maybe_text,
        "phone": maybe_phone,
        "segment": st.sampled_from(["retail", "premium"]),
    }
    chosen = draw(st.sets(st.sampled_from(sorted(options)), min_size=1))
    return "customer.profile_updated", {k: draw(options[k]) for k in chosen}


simple_events = st.sampled_from(
    [
        ("customer.consent_changed", {"consent": {"marketing": True}}),
        ("credit.score_received", {"score": 700, "bureau": "Experian"}),
        ("account.opened", {"accountId": "A1", "type": "savings", "currency": "EUR"}),
        ("account.balance_changed", {"accountId": "A2", "balance": "5.00"}),
        ("account.status_changed", {"accountId": "A3", "status": "frozen"}),
        (
            "transaction.posted",
            {
                "transactionId": "T1",
                "accountId": "A4",
                "amount": "1.00",
                "currency": "EUR",
                "channel": "atm",
            },
        ),
        ("customer.login", {"channel": "web"}),
        ("customer.device_seen", {"deviceId": "d1"}),
    ]
)


def as_events(drawn: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    return [event(t, CUSTOMER, p, minutes=i) for i, (t, p) in enumerate(drawn)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(registrations(), profile_updates(), simple_events), max_size=12))
def test_facts_followed_from_events_are_the_twins_facts(
    drawn: list[tuple[str, dict[str, Any]]],
) -> None:
    events = as_events(drawn)
    mask = 0
    for e in events:
        mask = facts_after(mask, e)
    twin = fold(events)
    assert isinstance(twin, CustomerTwin | None)
    missing = set(COMPLETENESS_CHECKS) if twin is None else set(missing_facts(twin))
    assert {fact for fact, bit in FACT_BITS.items() if not mask & bit} == missing
    assert (mask == ALL_FACTS) == (not missing)
