"""The fraud alert lifecycle: every legal and illegal change, decided on the alert's events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from banktwin.domain.alert_lifecycle import (
    TARGETS,
    TRANSITIONS,
    AlertHistory,
    ChangeRequest,
    IllegalTransition,
    alert_history,
    change_event_id,
    decide_change,
    replayed,
)
from banktwin.domain.alert_rules import alert_status
from banktwin.domain.customer import CustomerTwin
from banktwin.domain.events import Event
from banktwin.domain.payloads.fraud_report import FraudReported
from banktwin.domain.payloads.insight import AlertStatus, FraudAlertStatusChanged
from banktwin.domain.twin import fold
from tests.factories import T0, event, new_id, posted, registered

S = AlertStatus
LEGAL = {
    (S.OPEN, S.INVESTIGATING),
    (S.INVESTIGATING, S.CONFIRMED_FRAUD),
    (S.INVESTIGATING, S.FALSE_POSITIVE),
    (S.CONFIRMED_FRAUD, S.CLOSED),
    (S.FALSE_POSITIVE, S.CLOSED),
}
PATH_TO = {
    S.OPEN: [],
    S.INVESTIGATING: [S.INVESTIGATING],
    S.CONFIRMED_FRAUD: [S.INVESTIGATING, S.CONFIRMED_FRAUD],
    S.FALSE_POSITIVE: [S.INVESTIGATING, S.FALSE_POSITIVE],
    S.CLOSED: [S.INVESTIGATING, S.CONFIRMED_FRAUD, S.CLOSED],
}
"""A legal way to each status."""
NOW = T0 + timedelta(hours=1)


def raised(customer: str, alert: str, transaction: str = "TX1", minutes: float = 0) -> Event:
    payload = {
        "alertId": alert,
        "transactionId": transaction,
        "severity": "high",
        "score": 0.9,
        "reasons": ["burst"],
        "ruleIds": ["R1"],
    }
    return event("fraud.alert_raised", customer, payload, minutes=minutes)


def changed(customer: str, alert: str, status: str, minutes: float, **extra: str) -> Event:
    payload = {"alertId": alert, "status": status, **extra}
    return event("fraud.alert_status_changed", customer, payload, minutes=minutes)


def history_in(status: AlertStatus, customer: str, alert: str) -> tuple[AlertHistory, list[Event]]:
    """An alert brought to ``status`` by legal changes (a minute apart)."""
    events = [registered(customer), raised(customer, alert)]
    events += [
        changed(customer, alert, s.value, minutes=i + 1) for i, s in enumerate(PATH_TO[status])
    ]
    history = alert_history(alert, events)
    assert history is not None and history.alert.status == status.value
    return history, events


def request(status: AlertStatus, analyst: str = "ana", note: str | None = "why") -> ChangeRequest:
    return ChangeRequest(status, analyst, note)


def test_the_lifecycle_is_the_issue_s_chain() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert set(TRANSITIONS) == set(AlertStatus)
    assert S.OPEN not in TARGETS


@pytest.mark.parametrize("current", list(AlertStatus))
@pytest.mark.parametrize("target", list(AlertStatus))
def test_every_change_is_granted_or_refused_as_the_lifecycle_says(
    current: AlertStatus, target: AlertStatus
) -> None:
    customer, alert = new_id(), new_id()
    history, events = history_in(current, customer, alert)
    if (current, target) not in LEGAL:
        with pytest.raises(IllegalTransition) as refused:
            decide_change(history, request(target), now=NOW, source="api-client")
        assert refused.value.current is current and refused.value.requested is target
        assert refused.value.allowed == sorted(TRANSITIONS[current], key=list(S).index)
        assert f"is {current.value}" in str(refused.value)
        return
    decision = decide_change(history, request(target), now=NOW, source="api-client")
    change = decision.events[0]
    assert change.type == "fraud.alert_status_changed" and change.subject_id == customer
    assert change.occurred_at == NOW and change.source == "api-client"
    assert change.payload == FraudAlertStatusChanged(
        alert_id=alert, status=target, note="why", analyst="ana"
    )
    assert change.event_id == change_event_id(alert, history.version, target, "ana")
    after = decision.after
    assert after.alert.status == target.value and after.alert.updated_at == NOW
    assert after.version == history.version + 1 == len(PATH_TO[current]) + 2
    assert [c.status for c in after.changes] == [s.value for s in PATH_TO[current]] + [target.value]
    assert after.changes[-1].analyst == "ana" and after.changes[-1].note == "why"
    # What the decision says is what the log then makes of the alert, and what the twin shows.
    assert alert_history(alert, [*events, *decision.events]) == after
    twin = fold([*events, *decision.events])
    assert isinstance(twin, CustomerTwin)
    assert alert_status(twin, alert) == (target.value, NOW)


def test_messages_name_the_way_on_or_the_end() -> None:
    customer, alert = new_id(), new_id()
    history, _ = history_in(S.OPEN, customer, alert)
    with pytest.raises(IllegalTransition, match="is open: it can go to investigating, not closed"):
        decide_change(history, request(S.CLOSED), now=NOW, source="c")
    history, _ = history_in(S.INVESTIGATING, customer, alert)
    with pytest.raises(IllegalTransition, match="confirmed_fraud or false_positive, not closed"):
        decide_change(history, request(S.CLOSED), now=NOW, source="c")
    history, _ = history_in(S.CLOSED, customer, alert)
    with pytest.raises(IllegalTransition, match="it is closed, which is final"):
        decide_change(history, request(S.CLOSED), now=NOW, source="c")


def test_the_history_is_the_alert_s_own_events_and_counts_them() -> None:
    customer, alert, other = new_id(), new_id(), new_id()
    events = [
        registered(customer),
        changed(customer, alert, "investigating", minutes=-5),  # before its raise
        raised(customer, other),
        raised(customer, alert, minutes=-10),
        changed(customer, other, "investigating", minutes=1),
        posted(customer, transaction_id="TX9"),
    ]
    history = alert_history(alert, events)
    assert history is not None
    assert history.version == 2 and history.last_event_id == events[3].event_id
    assert history.alert.status == "investigating" and history.alert.transaction_id == "TX1"
    assert [c.status for c in history.changes] == ["investigating"]
    assert history.label_facts is None  # its transaction (TX1) was not posted
    assert alert_history(new_id(), events) is None
    assert alert_history(alert, [changed(customer, alert, "closed", minutes=1)]) is None


def test_the_current_status_follows_the_twin_s_rule_not_the_log_order() -> None:
    """Settling is final: an 'investigating' logged after (or occurring after) a verdict
    posted by another engine does not reopen the alert."""
    customer, alert = new_id(), new_id()
    events = [
        raised(customer, alert),
        changed(customer, alert, "false_positive", minutes=2),
        changed(customer, alert, "investigating", minutes=5),
    ]
    history = alert_history(alert, events)
    assert history is not None and history.version == 3
    assert (history.alert.status, history.alert.updated_at) == (
        "false_positive",
        T0 + timedelta(minutes=2),
    )
    assert decide_change(history, request(S.CLOSED), now=NOW, source="c").after.version == 4


def test_a_change_never_sorts_before_the_alert_s_latest_event() -> None:
    customer, alert = new_id(), new_id()
    ahead = NOW + timedelta(minutes=3)  # posted by a source whose clock runs ahead
    events = [raised(customer, alert), changed(customer, alert, "investigating", minutes=63)]
    history = alert_history(alert, events)
    assert history is not None and history.latest_at == ahead
    decision = decide_change(history, request(S.CONFIRMED_FRAUD), now=NOW, source="c")
    assert decision.events[0].occurred_at == ahead
    twin = fold([*events, *decision.events])
    assert isinstance(twin, CustomerTwin)
    assert alert_status(twin, alert) == ("confirmed_fraud", ahead)


def test_a_confirmed_fraud_is_also_a_label_of_its_transaction() -> None:
    customer, alert = new_id(), new_id()
    txn = posted(customer, transaction_id="TX1", account_id="ACC7", minutes=-30)
    _, events = history_in(S.INVESTIGATING, customer, alert)
    history = alert_history(alert, [txn, *events])
    assert history is not None
    decision = decide_change(history, request(S.CONFIRMED_FRAUD), now=NOW, source="c")
    change, label = decision.events
    assert label.type == "fraud.reported" and label.subject_id == customer
    assert label.occurred_at == NOW  # when the bank learned it
    assert label.payload == FraudReported.model_validate(
        {
            "transactionId": "TX1",
            "accountId": "ACC7",
            "kind": "confirmed_by_bank",
            "cardToken": "tok_0123456789abcdef",
            "transactionOccurredAt": txn.occurred_at,
        }
    )
    assert label.event_id not in (change.event_id, None)
    assert alert_history(alert, [txn, *events, change, label]) == decision.after  # no lifecycle
    twin = fold([txn, *events, change, label])
    assert isinstance(twin, CustomerTwin) and twin.fraud_report_count == 1
    # A false positive is no report; nor is a verdict on a transaction the log does not hold.
    fp = decide_change(history, request(S.FALSE_POSITIVE), now=NOW, source="c")
    assert [e.type for e in fp.events] == ["fraud.alert_status_changed"]
    unknown, _ = history_in(S.INVESTIGATING, customer, new_id())
    confirmed = decide_change(unknown, request(S.CONFIRMED_FRAUD), now=NOW, source="c")
    assert [e.type for e in confirmed.events] == ["fraud.alert_status_changed"]


def test_event_ids_are_fixed_by_what_was_decided_on() -> None:
    alert = new_id()
    first = change_event_id(alert, 1, S.INVESTIGATING, "ana")
    assert first == change_event_id(alert, 1, S.INVESTIGATING, "ana")
    others = {
        change_event_id(alert, 2, S.INVESTIGATING, "ana"),
        change_event_id(alert, 1, S.CLOSED, "ana"),
        change_event_id(alert, 1, S.INVESTIGATING, "bob"),
        change_event_id(new_id(), 1, S.INVESTIGATING, "ana"),
    }
    assert first not in others and len(others) == 4


def test_a_retried_request_is_recognised_until_the_alert_moves_again() -> None:
    customer, alert = new_id(), new_id()
    history, events = history_in(S.OPEN, customer, alert)
    decision = decide_change(history, request(S.INVESTIGATING), now=NOW, source="c")
    assert not replayed(history, request(S.INVESTIGATING))
    logged = alert_history(alert, [*events, *decision.events])
    assert logged is not None
    assert replayed(logged, request(S.INVESTIGATING))
    assert not replayed(logged, request(S.INVESTIGATING, analyst="bob"))  # another analyst
    assert not replayed(logged, request(S.FALSE_POSITIVE))
    later = changed(customer, alert, "false_positive", minutes=90)
    moved = alert_history(alert, [*events, *decision.events, later])
    assert moved is not None and not replayed(moved, request(S.INVESTIGATING))
