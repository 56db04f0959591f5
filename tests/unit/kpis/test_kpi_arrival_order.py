"""The KPIs that arrival order cannot fool: for generated histories of a few customers, folding
any permutation of the events through the KPI aggregates gives the totals that folding them in
time order gives, each customer's facts are the facts the twin has, each alert is counted
raised once, in the hour of its earliest raise, and settled once, with its newest verdict, and
each customer counts once in the risk-score distribution, with the score the twin has
(hypothesis generates the histories and the permutations).

Events per minute (by the log's recording time) and the hourly history (taken as the
watermark passes an hour) are by arrival, so they are not compared (docs/events.md, "Arrival
order"). Times are drawn from a few minutes, across an hour, so that events at one instant are
common.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from banktwin.consumers.consumer import Consumer
from banktwin.domain.completeness import COMPLETENESS_CHECKS, FACT_BITS, missing_facts
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event
from banktwin.domain.payloads.insight import FraudAlertRaised, FraudAlertStatusChanged
from banktwin.domain.twin import fold
from banktwin.kpis import documents as docs
from banktwin.kpis.aggregates import (
    PartitionKpis,
    Totals,
    TransactionKey,
    TransactionSums,
    hour_of,
)
from banktwin.kpis.engine import KPI_CONSUMER, KpiEngine
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import T0, event

CUSTOMERS = (
    "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1a",
    "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1b",
    "0192b6e0-4c2a-7b3e-9a1d-6f5e4d3c2b1c",
)
SEVERITIES = ("low", "medium", "high", "critical")

Drawn = tuple[str, dict[str, Any]]
"""An event's type and wire payload, before it is given a subject and a time."""

maybe_dob = st.one_of(st.none(), st.just("1986-07-12"))
maybe_email = st.one_of(st.none(), st.sampled_from(["jane@example.com", "jd@example.org"]))
maybe_address = st.one_of(st.none(), st.sampled_from(["1 Main St", "2 High St"]))
maybe_phone = st.one_of(st.none(), st.sampled_from(["", "+1 555 0100"]))


@st.composite
def registrations(draw: st.DrawFn) -> Drawn:
    return "customer.registered", {
        "name": draw(st.sampled_from(["Jane Doe", "J"])),
        "dob": draw(maybe_dob),
        "email": draw(maybe_email),
        "address": draw(maybe_address),
        "phone": draw(maybe_phone),
        "consent": {"processing": draw(st.booleans())},
    }


@st.composite
def profile_updates(draw: st.DrawFn) -> Drawn:
    options: dict[str, st.SearchStrategy[Any]] = {
        "name": st.sampled_from(["Jane Roe", None]),
        "dob": maybe_dob,
        "email": maybe_email,
        "address": maybe_address,
        "phone": maybe_phone,
        "segment": st.sampled_from(["retail", "premium"]),
    }
    chosen = draw(st.sets(st.sampled_from(sorted(options)), min_size=1))
    return "customer.profile_updated", {name: draw(options[name]) for name in chosen}


@st.composite
def transactions(draw: st.DrawFn) -> Drawn:
    return "transaction.posted", {
        "transactionId": f"T{draw(st.integers(0, 10**6))}",
        "accountId": draw(st.sampled_from(["A1", "A2"])),
        "amount": draw(st.sampled_from(["0.01", "5.00", "12.34"])),
        "currency": draw(st.sampled_from(["EUR", "USD"])),
        "direction": draw(st.sampled_from(["debit", "credit"])),
        "channel": draw(st.sampled_from(["atm", "ecommerce"])),
    }


RISK_SCORES = (0.0, 0.05, 0.1, 0.3, 0.7, 0.95, 1.0)


@st.composite
def risk_scores(draw: st.DrawFn) -> Drawn:
    """A risk score, from a few (a score id names one score): two at one instant are common."""
    n = draw(st.integers(0, len(RISK_SCORES) - 1))
    return "risk.score_updated", {
        "scoreId": f"0192b6e0-0000-7000-9000-00000000000{n}",
        "score": RISK_SCORES[n],
        "modelVersion": "RiskScore/1",
    }


others = st.sampled_from(
    [
        ("customer.consent_changed", {"consent": {"marketing": True}}),
        ("credit.score_received", {"score": 700, "bureau": "Experian"}),
        ("account.opened", {"accountId": "A1", "type": "savings", "currency": "EUR"}),
        ("account.status_changed", {"accountId": "A2", "status": "frozen"}),
        ("customer.login", {"channel": "web"}),
    ]
)


def alert_id(customer: int, n: int) -> str:
    return f"0192b6e0-0000-7000-8000-0000000000{customer}{n}"


@st.composite
def alert_events(draw: st.DrawFn, customer: int) -> list[Drawn]:
    """Alerts raised (some twice, as a source may resend, maybe stamped at another time; an
    alert id names one raise) and status changes, some for alerts never raised."""
    drawn: list[Drawn] = []
    for n in draw(st.lists(st.integers(0, 3), unique=True, max_size=3)):
        raise_ = (
            "fraud.alert_raised",
            {
                "alertId": alert_id(customer, n),
                "transactionId": "T1",
                "severity": draw(st.sampled_from(SEVERITIES)),
            },
        )
        drawn += [raise_] * draw(st.integers(1, 2))
    statuses = st.sampled_from(
        ["open", "investigating", "confirmed_fraud", "false_positive", "closed"]
    )
    for n in draw(st.lists(st.integers(0, 4), max_size=4)):
        drawn.append(
            (
                "fraud.alert_status_changed",
                {"alertId": alert_id(customer, n), "status": draw(statuses)},
            )
        )
    return drawn


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """A few customers' events at times from a few minutes across 14:00."""
    kinds = st.one_of(registrations(), profile_updates(), transactions(), others, risk_scores())
    events = []
    for i, customer in enumerate(CUSTOMERS[: draw(st.integers(1, len(CUSTOMERS)))]):
        drawn = draw(st.lists(kinds, max_size=10)) + draw(alert_events(i))
        events += [
            event(kind, customer, payload, minutes=draw(st.integers(-2, 2)))
            for kind, payload in drawn
        ]
    return events


@dataclass(frozen=True)
class Figures:
    """What the KPIs say in any arrival order (not the figures that are by arrival)."""

    totals: Totals
    open_alerts: dict[str, int]
    transactions_per_hour: dict[str, dict[TransactionKey, TransactionSums]]
    missing: dict[str, set[str]]
    """Per customer, the facts it does not have."""
    alerts_raised_per_hour: dict[str, dict[str, int]]
    """By hour and severity, without zeros."""


def missing_of(mask: int) -> set[str]:
    return {fact for fact, bit in FACT_BITS.items() if not mask & bit}


def without_zeros(counts: dict[str, int]) -> dict[str, int]:
    return {severity: n for severity, n in counts.items() if n}


def raised_without_zeros(per_hour: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    kept = {hour: without_zeros(counts) for hour, counts in per_hour.items()}
    return {hour: counts for hour, counts in kept.items() if counts}


def raised_per_hour(events: list[Event]) -> dict[str, dict[str, int]]:
    """Each alert raised, by the hour of its earliest raise and its severity."""
    earliest: dict[str, tuple[datetime, str]] = {}
    for e in events:
        p = e.payload
        if isinstance(p, FraudAlertRaised):
            raise_ = (e.occurred_at, p.severity.value)
            earliest[p.alert_id] = min(earliest.get(p.alert_id, raise_), raise_)
    counts: dict[str, dict[str, int]] = {}
    for at, severity in earliest.values():
        per_severity = counts.setdefault(hour_of(at), {})
        per_severity[severity] = per_severity.get(severity, 0) + 1
    return counts


def counted(events: list[Event]) -> Figures:
    """The events folded through one partition's aggregates, in the order given (each one
    recorded as it arrives)."""
    kpis = PartitionKpis(Totals())
    for i, e in enumerate(events):
        kpis.count(replace(e, recorded_at=T0 + timedelta(seconds=i)))
    kpis.close_batch()
    totals = replace(kpis.totals, open_alerts={})
    missing = {
        c: missing_of(facts.mask) for c, facts in kpis.customers.items() if facts is not None
    }
    return Figures(
        totals,
        without_zeros(kpis.totals.open_alerts),
        kpis.transactions_per_hour,
        missing,
        raised_without_zeros(kpis.alerts_raised_per_hour),
    )


def twins_figures(
    events: list[Event],
) -> tuple[dict[str, int], dict[str, set[str]], list[int]]:
    """Open alerts by severity, each customer's missing facts and the customers by the bucket
    of their risk score, as the twins have them."""
    open_alerts: dict[str, int] = {}
    missing = {}
    buckets = [0] * 10
    for customer in {e.subject_id for e in events}:
        twin = fold(sorted([e for e in events if e.subject_id == customer], key=by_time))
        assert isinstance(twin, CustomerTwin)
        missing[customer] = set(missing_facts(twin))
        for alert in twin.open_alerts:
            open_alerts[alert.severity] = open_alerts.get(alert.severity, 0) + 1
        if twin.risk is not None:
            buckets[min(int(twin.risk.score * 10), 9)] += 1
    return open_alerts, missing, buckets


def outcomes_of(events: list[Event]) -> tuple[int, dict[str, int]]:
    """Alerts raised, and the settled ones by outcome: each raised alert's newest verdict
    (the later; at one instant the one further along the lifecycle), or closed when it was
    settled without one."""
    raised = {e.payload.alert_id for e in events if isinstance(e.payload, FraudAlertRaised)}
    outcomes: dict[str, int] = {}
    for alert in raised:
        statuses = [
            (e.occurred_at, LIFECYCLE.index(e.payload.status.value), e.payload.status.value)
            for e in events
            if isinstance(e.payload, FraudAlertStatusChanged) and e.payload.alert_id == alert
        ]
        settled = [s for s in statuses if s[2] not in ("open", "investigating")]
        if not settled:
            continue
        verdicts = [s for s in settled if s[2] in ("confirmed_fraud", "false_positive")]
        outcome = max(verdicts)[2] if verdicts else "closed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return len(raised), outcomes


LIFECYCLE = ["open", "investigating", "confirmed_fraud", "false_positive", "closed"]


def by_time(e: Event) -> Any:
    return e.occurred_at


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_kpis_are_the_same_in_any_order_and_agree_with_the_twins(
    data: st.DataObject,
) -> None:
    events = data.draw(histories())
    in_time_order = counted(sorted(events, key=by_time))
    assert counted(data.draw(st.permutations(events))) == in_time_order
    assert counted(sorted(events, key=by_time, reverse=True)) == in_time_order

    open_alerts, missing, risk_buckets = twins_figures(events)
    assert in_time_order.open_alerts == open_alerts
    assert in_time_order.alerts_raised_per_hour == raised_per_hour(events)
    assert in_time_order.missing == missing
    totals = in_time_order.totals
    assert totals.risk_buckets == risk_buckets
    assert (totals.alerts_raised, totals.outcomes) == outcomes_of(events)
    assert totals.customers == len(missing)
    assert totals.facts == sum(len(COMPLETENESS_CHECKS) - len(m) for m in missing.values())
    assert totals.complete_customers == sum(1 for m in missing.values() if not m)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_the_stored_kpis_are_the_same_in_any_order_whatever_the_commits(
    data: st.DataObject,
) -> None:
    """Through the engine and the key-value store, committing every few events: each customer's
    facts and each alert's state are stored and read back between batches."""
    events = data.draw(histories())
    log = InMemoryEventLog(partitions=2)
    log.append(data.draw(st.permutations(events)))
    kv = InMemoryKeyValueStore()
    batch_size = data.draw(st.integers(1, 5))
    Consumer(log, KpiEngine(kv), batch_size=batch_size, catch_up_commit_s=0).run_until_caught_up()

    expected = counted(sorted(events, key=by_time))
    stored = kv.scan(KPI_CONSUMER, "", "\uffff")
    totals = Totals()
    open_alerts: dict[str, int] = {}
    missing = {}
    raised: dict[str, dict[str, int]] = {}
    outcomes: dict[str, int] = {}
    for stored_key, raw in stored:
        _, name = docs.split_key(stored_key)
        if name == docs.TOTALS:
            t = docs.decode_totals(raw)
            totals.customers += t.customers
            totals.facts += t.facts
            totals.complete_customers += t.complete_customers
            for severity, n in t.open_alerts.items():
                open_alerts[severity] = open_alerts.get(severity, 0) + n
            totals.alerts_raised += t.alerts_raised
            for outcome, n in t.outcomes.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
            for bucket, n in enumerate(t.risk_buckets):
                totals.risk_buckets[bucket] += n
        elif name.startswith(docs.CUSTOMER):
            missing[name.removeprefix(docs.CUSTOMER)] = missing_of(docs.decode_facts(raw).mask)
        elif name.startswith(docs.RAISED):
            per_severity = raised.setdefault(name.removeprefix(docs.RAISED), {})
            for severity, n in docs.decode_raised_counts(raw).items():
                assert n > 0, "a stored count is never 0 nor below"
                per_severity[severity] = per_severity.get(severity, 0) + n
    assert missing == expected.missing
    assert raised == expected.alerts_raised_per_hour
    assert totals.risk_buckets == expected.totals.risk_buckets
    assert (totals.alerts_raised, without_zeros(outcomes)) == (
        expected.totals.alerts_raised,
        expected.totals.outcomes,
    )
    assert without_zeros(open_alerts) == expected.open_alerts
    assert (totals.customers, totals.facts, totals.complete_customers) == (
        expected.totals.customers,
        expected.totals.facts,
        expected.totals.complete_customers,
    )
