"""Customer rules: profile, consent, accounts, transactions, behaviour, scores, alerts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from banktwin.domain.balance import BalanceBook
from banktwin.domain.completeness import data_completeness, missing_facts
from banktwin.domain.customer import Account, CustomerTwin
from banktwin.domain.customer_rules import (
    KNOWN_DEVICES,
    apply_customer_event,
)
from banktwin.domain.events import Event
from banktwin.domain.twin import apply, fold
from tests.factories import T0, event, new_id, opened, posted, registered


def customer(*events: Event) -> CustomerTwin:
    twin = fold(events)
    assert isinstance(twin, CustomerTwin)
    return twin


CID = new_id()


def test_registration_sets_profile_and_consent() -> None:
    c = customer(registered(CID))
    assert c.registered and c.name == "Jane Doe" and c.dob == date(1986, 7, 12)
    assert c.consent.processing and not c.consent.marketing and c.consent_recorded
    assert c.last_updated == T0 and c.events_applied == 1


def test_profile_update_changes_only_given_fields_and_null_clears() -> None:
    c = customer(
        registered(CID),
        event(
            "customer.profile_updated",
            CID,
            {"email": "new@example.com", "phone": None},
            minutes=1,
        ),
    )
    assert c.email == "new@example.com" and c.phone is None and c.name == "Jane Doe"


def test_consent_change_is_partial() -> None:
    c = customer(
        registered(CID), event("customer.consent_changed", CID, {"consent": {"marketing": True}})
    )
    assert c.consent.marketing and c.consent.processing


def test_posted_debit_moves_the_balance_and_credit_adds() -> None:
    c = customer(
        opened(CID, balance="100.00"),
        posted(CID, amount="30.25", minutes=1),
        posted(CID, amount="10.00", direction="credit", minutes=2),
    )
    assert c.accounts[0].balance == Decimal("79.75")
    assert c.transaction_count == 2


def test_balance_changed_sets_the_absolute_balance_and_status_changes() -> None:
    c = customer(
        opened(CID),
        event("account.balance_changed", CID, {"accountId": "ACC123", "balance": "14523.50"}),
        event("account.status_changed", CID, {"accountId": "ACC123", "status": "frozen"}),
    )
    assert c.accounts[0].balance == Decimal("14523.50") and c.accounts[0].status == "frozen"


def test_a_transaction_before_the_opening_is_inside_its_balance_one_after_moves_it() -> None:
    c = customer(
        posted(CID, amount="5.00"),
        posted(CID, amount="7.00", minutes=2),
        opened(CID, balance="100.00", minutes=1),  # arrives after both
    )
    account = c.accounts[0]
    assert account.type == "checking" and account.balance == Decimal("93.00")
    assert account.opened_at == T0 + timedelta(minutes=1)


def test_transactions_record_channels_countries_and_devices() -> None:
    e = event(
        "transaction.posted",
        CID,
        {
            "transactionId": "T1",
            "accountId": "A",
            "amount": "9.99",
            "currency": "EUR",
            "channel": "ecommerce",
            "deviceId": "dev_1",
            "location": {"country": "FR"},
        },
    )
    c = customer(e)
    assert dict(c.channel_counts) == {"ecommerce": 1}
    assert dict(c.country_counts) == {"FR": 1}
    assert c.behaviour.devices[0].device_id == "dev_1"


def test_logins_and_new_devices_are_behavioural_signals() -> None:
    c = customer(
        event("customer.device_seen", CID, {"deviceId": "dev_a", "platform": "ios"}),
        event("customer.login", CID, {"channel": "mobile", "deviceId": "dev_a"}, minutes=1),
        event("customer.login", CID, {"channel": "web", "outcome": "failed"}, minutes=2),
        event(
            "customer.login",
            CID,
            {"channel": "web", "deviceId": "dev_b", "ipCountry": "RO"},
            minutes=3,
        ),
    )
    b = c.behaviour
    assert (b.login_count, b.failed_login_count) == (2, 1)
    assert b.last_login_channel == "web" and b.last_login_country == "RO"
    assert [d.device_id for d in b.devices] == ["dev_b", "dev_a"]
    assert b.devices[1].platform == "ios"
    assert b.last_new_device_at == T0.replace(minute=3)


def login(outcome: str, minutes: float, **fields: str) -> Event:
    payload = {"channel": "mobile", "outcome": outcome, "authMethod": "password", **fields}
    return event("customer.login", CID, payload, minutes=minutes)


def test_a_succeeded_login_counts_as_a_login() -> None:
    b = customer(login("succeeded", 1, deviceId="dev_a", ipCountry="DE")).behaviour
    assert (b.login_count, b.failed_login_count, b.locked_out_at) == (1, 0, None)
    assert b.last_login_at == T0.replace(minute=1) and b.last_login_country == "DE"
    assert [d.device_id for d in b.devices] == ["dev_a"]


def test_a_failed_login_counts_as_a_failed_login_only() -> None:
    c = customer(login("succeeded", 1), login("failed", 2, deviceId="dev_b"))
    b = c.behaviour
    assert (b.login_count, b.failed_login_count, b.locked_out_at) == (1, 1, None)
    assert b.last_login_at == T0.replace(minute=1) and b.devices == ()
    assert c.last_updated == T0.replace(minute=2)


def test_a_lock_out_counts_as_a_failed_login_and_says_when() -> None:
    b = customer(login("failed", 1), login("failed", 2), login("locked", 3)).behaviour
    assert (b.login_count, b.failed_login_count) == (0, 3)
    assert b.locked_out_at == T0.replace(minute=3) and b.last_login_at is None


def test_an_earlier_lock_out_arriving_late_does_not_move_the_time_back() -> None:
    b = customer(login("locked", 30), login("locked", 10)).behaviour
    assert b.failed_login_count == 2 and b.locked_out_at == T0.replace(minute=30)


def test_a_challenge_not_yet_passed_changes_only_the_update_time() -> None:
    before = customer(login("succeeded", 1, deviceId="dev_a"))
    after = apply_customer_event(before, login("challenged", 5, deviceId="dev_new"))
    assert after.behaviour == before.behaviour
    assert after.last_updated == T0.replace(minute=5)
    assert after.events_applied == before.events_applied + 1


def test_a_known_device_moves_to_the_front_and_the_list_is_bounded() -> None:
    seen = [
        event("customer.device_seen", CID, {"deviceId": f"dev_{i}", "platform": "ios"}, minutes=i)
        for i in range(KNOWN_DEVICES + 2)
    ]
    again = event("customer.device_seen", CID, {"deviceId": "dev_5"}, minutes=30)
    late = event("customer.device_seen", CID, {"deviceId": "dev_5"}, minutes=20)
    b = customer(*seen, again, late).behaviour
    assert len(b.devices) == KNOWN_DEVICES
    assert [d.device_id for d in b.devices[:3]] == ["dev_5", "dev_11", "dev_10"]
    device = b.devices[0]
    assert device.platform == "ios"  # kept when a sighting does not name it
    assert (device.first_seen, device.last_seen) == (T0.replace(minute=5), T0.replace(minute=30))
    assert b.last_new_device_at == T0.replace(minute=11)


def test_an_older_credit_report_does_not_replace_a_newer_one() -> None:
    c = customer(
        event("credit.score_received", CID, {"score": 720, "bureau": "X"}, minutes=10),
        event("credit.score_received", CID, {"score": 600, "bureau": "X"}, minutes=5),
    )
    assert c.credit is not None and c.credit.score == 720


def test_risk_score_update_keeps_model_version_and_reasons() -> None:
    score_id = new_id()
    c = customer(
        event(
            "risk.score_updated",
            CID,
            {
                "scoreId": score_id,
                "score": 0.78,
                "modelVersion": "RiskScore_v3",
                "reasons": [{"feature": "spend_7d", "contribution": 0.3, "value": 1200}],
            },
        )
    )
    assert c.risk is not None and c.risk.score == 0.78 and c.risk.reasons[0].feature == "spend_7d"


def test_alerts_open_and_leave_the_open_list_when_settled() -> None:
    a1, a2 = new_id(), new_id()
    raised = [
        event("fraud.alert_raised", CID, {"alertId": a, "transactionId": "T1", "severity": "high"})
        for a in (a1, a2)
    ]
    c = customer(
        *raised,
        event("fraud.alert_status_changed", CID, {"alertId": a1, "status": "investigating"}),
        event("fraud.alert_status_changed", CID, {"alertId": a2, "status": "false_positive"}),
    )
    assert [(a.alert_id, a.status) for a in c.open_alerts] == [(a1, "investigating")]
    assert c.alert_count == 2


def test_completeness_counts_the_known_facts() -> None:
    bare = customer(event("customer.registered", CID, {"name": "X"}))
    assert missing_facts(bare) == ["dob", "email", "address", "phone", "accounts", "creditScore"]
    assert data_completeness(bare) == 25.0
    full = customer(
        registered(CID),
        opened(CID),
        event("credit.score_received", CID, {"score": 700, "bureau": "B"}),
    )
    assert data_completeness(full) == 100.0


def test_apply_is_pure_the_old_state_is_untouched() -> None:
    before = customer(opened(CID, balance="10.00"))
    after = apply_customer_event(before, posted(CID, amount="1.00"))
    assert before.accounts[0].balance == Decimal("10.00")
    assert after.accounts[0].balance == Decimal("9.00")


def test_customer_events_derive_nothing() -> None:
    _, derived = apply(None, registered(CID))
    assert derived == []


def test_a_late_event_changes_the_account_but_not_back_its_update_time() -> None:
    c = customer(
        opened(CID, balance="100.00"),
        posted(CID, amount="10.00", minutes=60),
        posted(CID, amount="1.00", minutes=30),  # arrives late
        event("account.status_changed", CID, {"accountId": "ACC123", "status": "frozen"}),
    )
    account = c.accounts[0]
    assert account.balance == Decimal("89.00") and account.status == "frozen"
    assert account.updated_at == T0 + timedelta(minutes=60)


def test_a_late_registration_does_not_overwrite_newer_profile_fields() -> None:
    update = event("customer.profile_updated", CID, {"email": "new@example.com"}, minutes=10)
    late = registered(CID, minutes=1)  # occurred before the update, arrives after it
    c = customer(update, late)
    assert c.email == "new@example.com" and c.name == "Jane Doe" and c.registered
    assert c.field_times.email == T0 + timedelta(minutes=10)
    assert c.field_times.name == T0 + timedelta(minutes=1)
    assert c.created_at == T0 + timedelta(minutes=1)


def test_a_late_profile_update_does_not_overwrite_a_newer_registration() -> None:
    late = event("customer.profile_updated", CID, {"phone": None, "country": "FR"}, minutes=1)
    c = customer(registered(CID, minutes=5), late)
    assert c.phone == "+1 555 0100" and c.country is None


def test_a_late_consent_change_does_not_overwrite_a_newer_flag() -> None:
    newer = event("customer.consent_changed", CID, {"consent": {"marketing": True}}, minutes=9)
    older = event("customer.consent_changed", CID, {"consent": {"marketing": False}}, minutes=3)
    c = customer(newer, older, registered(CID, minutes=1))
    assert c.consent.marketing and c.consent.processing and c.consent_recorded


def test_a_late_balance_does_not_overwrite_a_newer_one() -> None:
    def balance(amount: str, minutes: int) -> Event:
        payload = {"accountId": "ACC123", "balance": amount}
        return event("account.balance_changed", CID, payload, minutes=minutes)

    c = customer(opened(CID), balance("500.00", 30), balance("200.00", 20))
    assert c.accounts[0].balance == Decimal("500.00")


def test_a_transaction_inside_the_balance_does_not_move_it_one_after_does() -> None:
    change = {"accountId": "ACC123", "balance": "500.00"}
    c = customer(
        opened(CID, balance="100.00"),
        posted(CID, amount="30.00", minutes=40),  # after the balance: moves it
        event("account.balance_changed", CID, change, minutes=20),
        posted(CID, amount="10.00", minutes=10),  # before it, arrives late: already inside
        posted(CID, amount="5.00", minutes=20),  # at its instant: inside (booked, then reported)
    )
    assert c.accounts[0].balance == Decimal("470.00") and c.transaction_count == 3


def test_accounts_are_listed_by_opening_then_the_unopened_by_id() -> None:
    status = {"accountId": "B0", "status": "frozen"}
    c = customer(
        opened(CID, account_id="Z9", minutes=5),
        event("account.status_changed", CID, status, minutes=1),
        opened(CID, account_id="A1", minutes=7),
        posted(CID, account_id="A0", minutes=2),
    )
    assert [a.account_id for a in c.accounts] == ["Z9", "A1", "A0", "B0"]
    assert c.account("B0") is not None and c.account("B0").currency == "XXX"  # type: ignore[union-attr]
    assert c.account("A0") is not None and c.account("A0").currency == "EUR"  # type: ignore[union-attr]


def test_a_late_login_does_not_move_the_last_login_back() -> None:
    b = customer(
        login("succeeded", 10, ipCountry="DE"),
        event("customer.login", CID, {"channel": "web", "ipCountry": "RO"}, minutes=5),
    ).behaviour
    assert b.login_count == 2
    assert (b.last_login_at, b.last_login_channel, b.last_login_country) == (
        T0.replace(minute=10),
        "mobile",
        "DE",
    )


def test_a_late_sighting_keeps_the_device_order_and_its_platform_is_the_newest_named() -> None:
    b = customer(
        event("customer.device_seen", CID, {"deviceId": "dev_a", "platform": "ios"}, minutes=9),
        event("customer.device_seen", CID, {"deviceId": "dev_b"}, minutes=5),
        event("customer.device_seen", CID, {"deviceId": "dev_a", "platform": "web"}, minutes=2),
    ).behaviour
    assert [d.device_id for d in b.devices] == ["dev_a", "dev_b"]
    assert b.devices[0].platform == "ios" and b.devices[0].first_seen == T0.replace(minute=2)
    assert b.last_new_device_at == T0.replace(minute=5)


def alert_change(alert_id: str, status: str, minutes: int) -> Event:
    payload = {"alertId": alert_id, "status": status}
    return event("fraud.alert_status_changed", CID, payload, minutes=minutes)


def alert_raised(alert_id: str, minutes: int) -> Event:
    payload = {"alertId": alert_id, "transactionId": "T1", "severity": "high"}
    return event("fraud.alert_raised", CID, payload, minutes=minutes)


def test_a_status_change_before_its_alert_is_raised_is_not_lost() -> None:
    a1, a2 = new_id(), new_id()
    c = customer(
        alert_change(a1, "investigating", 5),
        alert_change(a2, "closed", 6),
        alert_raised(a1, 1),
        alert_raised(a2, 2),
    )
    assert [(a.alert_id, a.status, a.updated_at) for a in c.open_alerts] == [
        (a1, "investigating", T0.replace(minute=5))
    ]
    assert c.alert_count == 2 and [m.alert_id for m in c.alert_marks] == [a2]


def test_settling_is_final_and_open_alerts_are_listed_newest_raised_first() -> None:
    a1, a2, a3 = new_id(), new_id(), new_id()
    c = customer(
        alert_raised(a1, 1),
        alert_raised(a3, 3),
        alert_raised(a2, 2),
        alert_change(a1, "investigating", 9),
        alert_change(a1, "false_positive", 4),  # settled, though older: final
        alert_raised(a1, 1),  # a repeated raise
    )
    assert [a.alert_id for a in c.open_alerts] == [a3, a2]
    assert c.alert_count == 3


def test_an_event_keeps_the_accounts_it_does_not_change_as_the_same_objects() -> None:
    """The SQL stores write the rows of changed accounts only, found by identity (store/rows.py):
    a rule must not rebuild an account it leaves as it was."""
    change = {"accountId": "ACC123", "balance": "50.00"}
    before = customer(
        opened(CID),
        opened(CID, account_id="B2", minutes=1),
        event("account.balance_changed", CID, change, minutes=5),
    )
    inside = apply_customer_event(before, posted(CID, amount="1.00", minutes=4))  # in the balance
    assert inside.accounts[0] is before.accounts[0]
    other = apply_customer_event(before, posted(CID, account_id="B2", minutes=6))
    assert other.accounts[0] is before.accounts[0] and other.accounts[1] is not before.accounts[1]
    login = apply_customer_event(before, event("customer.login", CID, {"channel": "web"}))
    assert login.accounts is before.accounts


def test_the_hot_path_builds_accounts_and_books_with_every_field_in_place() -> None:
    """The transaction rule builds ``Account`` and ``BalanceBook`` positionally (no keyword
    handling): a field added or moved must be added or moved there too."""
    c = customer(opened(CID), *[posted(CID, minutes=1 + i) for i in range(20)])
    account = c.accounts[0]
    assert len(account) == len(Account._fields) and account == Account(*account)
    assert len(account.book) == len(BalanceBook._fields) and account.book == BalanceBook(
        *account.book
    )
    assert isinstance(account.book.recent, bytes) and isinstance(account.book.folded_cents, int)
    assert account.balance == account.book.total() == Decimal("-100.00")
