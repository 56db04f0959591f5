"""The completeness facts followed from events (what the KPI consumer keeps) are the facts the
customer twin has, for any history of a customer folded in any order (hypothesis generates
the histories, at times from a few minutes so that instants shared are common, and the
orders)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.domain.completeness import (
    ALL_FACTS,
    COMPLETENESS_CHECKS,
    FACT_BITS,
    NO_FACTS,
    facts_after,
    missing_facts,
)
from banktwin.domain.customer import CustomerTwin
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


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_facts_followed_from_events_are_the_twins_facts(data: st.DataObject) -> None:
    kinds = st.one_of(registrations(), profile_updates(), simple_events)
    drawn = data.draw(st.lists(kinds, max_size=12))
    minutes = st.integers(0, 3)
    events = [event(t, CUSTOMER, p, minutes=data.draw(minutes)) for t, p in drawn]
    facts = NO_FACTS
    for e in data.draw(st.permutations(events)):
        facts = facts_after(facts, e)
    mask = facts.mask
    twin = fold(sorted(events, key=lambda e: e.occurred_at))
    assert isinstance(twin, CustomerTwin | None)
    missing = set(COMPLETENESS_CHECKS) if twin is None else set(missing_facts(twin))
    assert {fact for fact, bit in FACT_BITS.items() if not mask & bit} == missing
    assert (mask == ALL_FACTS) == (not missing)
