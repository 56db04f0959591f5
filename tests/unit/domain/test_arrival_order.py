"""Rules that any arrival order cannot fool: for generated histories of a customer, a branch and a
loan application, folding any permutation of the events gives the twin that folding them in time
order gives (hypothesis generates the histories and the permutations).

Histories stay within the twins' documented bounds (docs/events.md, "Arrival order"): fewer
transactions per account than ``MAX_RECENT``, fewer devices than ``KNOWN_DEVICES``, and so on.
Times are drawn from a few minutes so that events at the same instant are common.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.domain.balance import MAX_RECENT
from banktwin.domain.behaviour_rules import KNOWN_DEVICES
from banktwin.domain.events import Event
from banktwin.domain.loan import LoanTwin
from banktwin.domain.twin import Twin, apply, fold
from tests.factories import T0, event

CUSTOMER = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a"
BRANCH = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1b"
LOAN = "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1c"
ALERTS = (
    "0192b6e0-0000-7000-8000-00000000000a",
    "0192b6e0-0000-7000-8000-00000000000b",
    "0192b6e0-0000-7000-8000-00000000000c",
)
ACCOUNTS = ("A1", "A2", "A3")
DEVICES = ("dev_1", "dev_2", "dev_3", "dev_4")
assert len(DEVICES) < KNOWN_DEVICES

Drawn = tuple[str, dict[str, Any]]
"""An event's type and wire payload, before it is given a time."""

maybe = st.one_of
text = st.sampled_from(["Jane Doe", "J. Doe", "Jo"])
countries = st.sampled_from(["DE", "FR", "RO"])
money = st.sampled_from(["0.00", "5.00", "12.34", "100.00", "-20.00"])
positive_money = st.sampled_from(["0.01", "5.00", "12.34", "99.99"])
flags = st.fixed_dictionaries(
    {},
    optional={
        "processing": st.booleans(),
        "marketing": st.booleans(),
        "profiling": st.booleans(),
        "dataSharing": st.booleans(),
    },
)
profile_fields: dict[str, st.SearchStrategy[Any]] = {
    "name": text,
    "dob": maybe(st.none(), st.sampled_from(["1986-07-12", "1990-01-01"])),
    "email": maybe(st.none(), st.sampled_from(["jane@example.com", "jd@example.org"])),
    "address": maybe(st.none(), st.sampled_from(["1 Main St", "2 High St"])),
    "phone": maybe(st.none(), st.sampled_from(["", "+1 555 0100"])),
    "country": maybe(st.none(), countries),
    "segment": st.sampled_from(["retail", "premium"]),
}


@st.composite
def registrations(draw: st.DrawFn) -> Drawn:
    payload = {name: draw(strategy) for name, strategy in profile_fields.items()}
    payload["consent"] = draw(flags)
    return "customer.registered", payload


@st.composite
def profile_updates(draw: st.DrawFn) -> Drawn:
    names = draw(st.sets(st.sampled_from(sorted(profile_fields)), min_size=1))
    payload = {name: draw(profile_fields[name]) for name in names}
    if "segment" in payload and draw(st.booleans()):
        payload["segment"] = None
    return "customer.profile_updated", payload


@st.composite
def consent_changes(draw: st.DrawFn) -> Drawn:
    return "customer.consent_changed", {"consent": draw(flags)}


@st.composite
def logins(draw: st.DrawFn) -> Drawn:
    payload: dict[str, Any] = {
        "channel": draw(st.sampled_from(["mobile", "web", "branch"])),
        "outcome": draw(st.sampled_from(["succeeded", "failed", "locked", "challenged"])),
    }
    if draw(st.booleans()):
        payload["deviceId"] = draw(st.sampled_from(DEVICES))
    if draw(st.booleans()):
        payload["ipCountry"] = draw(countries)
    elif draw(st.booleans()):
        payload["location"] = {"country": draw(countries)}
    return "customer.login", payload


@st.composite
def device_sightings(draw: st.DrawFn) -> Drawn:
    payload = {"deviceId": draw(st.sampled_from(DEVICES))}
    if draw(st.booleans()):
        payload["platform"] = draw(st.sampled_from(["ios", "android"]))
    return "customer.device_seen", payload


@st.composite
def openings(draw: st.DrawFn) -> Drawn:
    return "account.opened", {
        "accountId": draw(st.sampled_from(ACCOUNTS)),
        "type": draw(st.sampled_from(["checking", "savings"])),
        "currency": draw(st.sampled_from(["EUR", "USD"])),
        "balance": draw(money),
        "status": draw(st.sampled_from(["active", "frozen"])),
    }


@st.composite
def balance_changes(draw: st.DrawFn) -> Drawn:
    account = draw(st.sampled_from(ACCOUNTS))
    return "account.balance_changed", {"accountId": account, "balance": draw(money)}


@st.composite
def status_changes(draw: st.DrawFn) -> Drawn:
    status = draw(st.sampled_from(["active", "frozen", "dormant", "closed"]))
    return "account.status_changed", {
        "accountId": draw(st.sampled_from(ACCOUNTS)),
        "status": status,
    }


@st.composite
def transactions(draw: st.DrawFn) -> Drawn:
    payload: dict[str, Any] = {
        "transactionId": f"T{draw(st.integers(0, 10**6))}",
        "accountId": draw(st.sampled_from(ACCOUNTS)),
        "amount": draw(positive_money),
        "currency": draw(st.sampled_from(["EUR", "USD"])),
        "direction": draw(st.sampled_from(["debit", "credit"])),
        "channel": draw(st.sampled_from(["card_present", "ecommerce", "atm", "mobile"])),
    }
    if draw(st.booleans()):
        payload["location"] = {"country": draw(countries)}
    if draw(st.booleans()):
        payload["deviceId"] = draw(st.sampled_from(DEVICES))
    return "transaction.posted", payload


@st.composite
def credit_scores(draw: st.DrawFn) -> Drawn:
    return "credit.score_received", {
        "score": draw(st.sampled_from([600, 720])),
        "bureau": draw(st.sampled_from(["Experian", "Equifax"])),
        "delinquencies": draw(st.integers(0, 2)),
    }


@st.composite
def risk_scores(draw: st.DrawFn) -> Drawn:
    return "risk.score_updated", {
        "scoreId": str(draw(st.uuids())),
        "score": draw(st.sampled_from([0.1, 0.5, 0.9])),
        "modelVersion": "RiskScore_v3",
        "reasons": [{"feature": "spend_7d", "contribution": 0.3, "value": 1200}],
    }


@st.composite
def alert_status_changes(draw: st.DrawFn) -> Drawn:
    status = draw(
        st.sampled_from(["open", "investigating", "confirmed_fraud", "false_positive", "closed"])
    )
    return "fraud.alert_status_changed", {
        "alertId": draw(st.sampled_from(ALERTS)),
        "status": status,
    }


@st.composite
def fraud_reports(draw: st.DrawFn) -> Drawn:
    """Reports of a few transactions, so repeats (and a transaction reported two ways) are
    common."""
    payload: dict[str, Any] = {
        "transactionId": draw(st.sampled_from(["T1", "T2", "T3"])),
        "accountId": draw(st.sampled_from(ACCOUNTS)),
        "kind": draw(st.sampled_from(["dispute", "chargeback", "confirmed_by_bank"])),
    }
    if draw(st.booleans()):
        payload["cardToken"] = "tok_0123456789"
    if draw(st.booleans()):
        payload["transactionOccurredAt"] = "2025-09-15T13:00:00Z"
    if draw(st.booleans()):
        payload["reasonCode"] = draw(st.sampled_from(["card_testing", "10.4"]))
    return "fraud.reported", payload


def raised(alert_id: str, severity: str) -> Drawn:
    return "fraud.alert_raised", {
        "alertId": alert_id,
        "transactionId": "T1",
        "severity": severity,
        "score": 0.9,
        "reasons": ["new device"],
        "ruleIds": ["R1"],
    }


@st.composite
def timed(draw: st.DrawFn, drawn: list[Drawn], subject: str, minutes: int = 30) -> list[Event]:
    """The drawn events at times from a few minutes (instants shared are common)."""
    return [
        event(kind, subject, payload, minutes=draw(st.integers(0, minutes)))
        for kind, payload in drawn
    ]


@st.composite
def customer_histories(draw: st.DrawFn) -> list[Event]:
    kinds = st.one_of(
        registrations(),
        profile_updates(),
        consent_changes(),
        logins(),
        device_sightings(),
        openings(),
        balance_changes(),
        status_changes(),
        transactions(),
        credit_scores(),
        risk_scores(),
        alert_status_changes(),
        fraud_reports(),
    )
    drawn = draw(st.lists(kinds, min_size=1, max_size=MAX_RECENT))  # an account's are exact
    alerts = draw(st.lists(st.sampled_from(ALERTS), unique=True))  # an alert is raised once
    severity = st.sampled_from(["low", "high"])
    drawn += [raised(alert_id, draw(severity)) for alert_id in alerts]
    return draw(timed(drawn, CUSTOMER, minutes=20))


def in_time_order(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.occurred_at)


def assert_order_proof(events: list[Event], permutation: list[Event]) -> Twin:
    twin = fold(in_time_order(events))
    assert fold(permutation) == twin
    assert fold(reversed(in_time_order(events))) == twin
    assert twin is not None
    return twin


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_customer_twin_is_the_same_in_any_order(data: st.DataObject) -> None:
    events = data.draw(customer_histories())
    assert_order_proof(events, data.draw(st.permutations(events)))


@st.composite
def account_histories(draw: st.DrawFn) -> list[Event]:
    kinds = st.one_of(openings(), balance_changes(), status_changes(), transactions())
    weighted = st.one_of(kinds, transactions())  # transactions are most of a real history
    return draw(timed(draw(st.lists(weighted, min_size=1, max_size=MAX_RECENT)), CUSTOMER, 8))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_accounts_and_spending_are_the_same_in_any_order(data: st.DataObject) -> None:
    """Accounts, balances and spending alone, with many events at one instant."""
    events = data.draw(account_histories())
    assert_order_proof(events, data.draw(st.permutations(events)))


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_many_transactions_and_late_anchors_are_exact_while_the_anchor_is_outside_the_folded(
    data: st.DataObject,
) -> None:
    """More transactions than the book keeps one by one: still exact when every absolute
    balance comes before all of the account's transactions or after them."""
    count = MAX_RECENT + 8
    amounts = data.draw(st.lists(positive_money, min_size=count, max_size=count))
    directions = data.draw(st.lists(st.sampled_from(["debit", "credit"]), min_size=count))
    events = [
        event(
            "transaction.posted",
            CUSTOMER,
            {
                "transactionId": f"T{i}",
                "accountId": "A1",
                "amount": amount,
                "currency": "EUR",
                "direction": direction,
                "channel": "atm",
            },
            minutes=10 + data.draw(st.integers(0, 20)),
        )
        for i, (amount, direction) in enumerate(zip(amounts, directions, strict=False))
    ]
    opening = {"accountId": "A1", "type": "checking", "currency": "EUR", "balance": "50.00"}
    events.append(event("account.opened", CUSTOMER, opening, minutes=data.draw(st.integers(0, 10))))
    change = {"accountId": "A1", "balance": data.draw(money)}
    later = data.draw(st.sampled_from([5, 30, 40]))
    events.append(event("account.balance_changed", CUSTOMER, change, minutes=later))
    assert_order_proof(events, data.draw(st.permutations(events)))


@st.composite
def branch_histories(draw: st.DrawFn) -> list[Event]:
    services = st.sampled_from(["teller", "advisory"])
    staff = st.sampled_from(["S1", "S2", "S3"])
    opening = st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["Main St", "High St"]),
            "address": st.sampled_from(["1 Main St", "2 High St"]),
            "location": st.sampled_from(
                [{"country": "DE", "city": "Berlin"}, {"country": "FR", "latitude": 48.8}]
            ),
            "openHours": st.sampled_from([{"mon": "09:00-17:00"}, {"sat": "10:00-13:00"}]),
            "services": st.lists(
                st.fixed_dictionaries(
                    {"service": services, "avgHandlingMinutes": st.sampled_from([6, 30])}
                ),
                max_size=2,
            ),
            "capacity": st.sampled_from([10, 20]),
        },
    )
    kinds: st.SearchStrategy[Drawn] = st.one_of(
        st.tuples(st.just("branch.opened"), opening),
        st.just(("branch.closed", {})),
        st.tuples(
            st.just("branch.staff_checked_in"),
            st.fixed_dictionaries({"staffId": staff, "services": st.lists(services, max_size=1)}),
        ),
        st.tuples(st.just("branch.staff_checked_out"), st.fixed_dictionaries({"staffId": staff})),
        st.tuples(
            st.just("branch.service_availability_changed"),
            st.fixed_dictionaries({"service": services, "available": st.booleans()}),
        ),
    )
    drawn: list[Drawn] = list(draw(st.lists(kinds, max_size=12)))
    for i in range(draw(st.integers(0, 8))):  # tickets: a join and at most one departure
        ticket = f"Q{i}"
        if draw(st.booleans()):
            drawn.append(("queue.joined", {"ticketId": ticket, "service": draw(services)}))
        departure = draw(st.sampled_from([None, "queue.served", "queue.abandoned"]))
        if departure is not None:
            drawn.append((departure, {"ticketId": ticket}))
    return draw(timed(drawn, BRANCH, minutes=20)) if drawn else []


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_branch_twin_is_the_same_in_any_order(data: st.DataObject) -> None:
    events = data.draw(branch_histories())
    if events:
        assert_order_proof(events, data.draw(st.permutations(events)))


@st.composite
def loan_histories(draw: st.DrawFn) -> list[Event]:
    submission = st.fixed_dictionaries(
        {
            "customerId": st.just(CUSTOMER),
            "product": st.sampled_from(["personal", "auto"]),
            "amount": st.sampled_from(["5000", "7500"]),
            "currency": st.just("EUR"),
            "termMonths": st.sampled_from([12, 24]),
        }
    )
    stages = ["document_check", "credit_check", "underwriting", "approval", "disbursed"]
    decision = st.fixed_dictionaries(
        {"decision": st.sampled_from(["approved", "rejected"])},
        optional={"approvedAmount": st.sampled_from(["4500", "5000"])},
    )
    kinds = st.one_of(
        st.tuples(st.just("loan.submitted"), submission),
        st.tuples(
            st.just("loan.stage_changed"), st.fixed_dictionaries({"stage": st.sampled_from(stages)})
        ),
        st.tuples(st.just("loan.decided"), decision),
    )
    drawn = draw(st.lists(kinds, min_size=1, max_size=10))
    hours = [draw(st.integers(0, 40)) for _ in drawn]  # stage SLAs are 4 to 72 hours
    return [
        event(kind, LOAN, payload, at=T0 + timedelta(hours=h))
        for (kind, payload), h in zip(drawn, hours, strict=True)
    ]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_loan_twin_is_the_same_in_any_order(data: st.DataObject) -> None:
    events = data.draw(loan_histories())
    loan = assert_order_proof(events, data.draw(st.permutations(events)))
    assert isinstance(loan, LoanTwin)
    assert loan.sla_breaches == sum(v.sla_breached for v in loan.history)


@settings(max_examples=50, deadline=None)
@given(loan_histories())
def test_in_time_order_a_breach_is_derived_for_each_late_visit(events: list[Event]) -> None:
    """The derived breaches depend on arrival (docs/events.md); in time order there is one per
    late visit, and applying them changes nothing but the twin's version."""
    state: Twin | None = None
    derived: list[Event] = []
    for e in in_time_order(events):
        state, more = apply(state, e)
        derived += more
    assert isinstance(state, LoanTwin)
    late = [(v.stage, v.left_at) for v in state.history if v.sla_breached]
    assert sorted((d.payload.stage.value, d.occurred_at) for d in derived) == sorted(late)  # type: ignore[attr-defined]
    after = fold(derived, state)
    assert isinstance(after, LoanTwin)
    assert after.history == state.history and after.sla_breaches == state.sla_breaches
