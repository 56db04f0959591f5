"""The risk model's features: a customer as the twin knows them at a moment, leak-free.

:func:`features_as_of` reads a customer's facts (:class:`~banktwin.risk.customer_facts.
CustomerFacts`, folded from the log in any order) and uses only those that occurred at or
before the moment: every window is ``(moment - w, moment]``, every "current" value the newest
at or before it. A feature as of ``T`` is the same whatever happened after ``T`` and whatever
order the past arrived in (``tests/unit/risk/test_features.py`` checks both with generated
histories). Training (:func:`banktwin.risk.twin_table.training_table`) and serving
(:func:`banktwin.risk.twin_table.features_for_customer`) call this one function, so they
cannot disagree. docs/risk-features.md lists every feature.

Values are floats (counts too), ``None`` when unknown (no bureau file, no inflow to compare
with), or text for the categorical ones. Money is in the account's currency, major units. Pure:
no I/O, no clock.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final, Literal

from banktwin.risk.customer_facts import AccountFacts, CustomerFacts, to_micros

DAY: Final = 86_400_000_000
"""A day in microseconds."""
BALANCE_DAYS: Final = 90
"""Daily balance samples read (the longest balance window)."""
DEPOSIT_TYPES: Final = frozenset({"checking", "savings", "deposit"})
DEBT_TYPES: Final = frozenset({"loan", "mortgage"})
CARD_CHANNELS: Final = frozenset({"card_present", "ecommerce"})
GAMBLING_MCC: Final = "7995"
SMALL_CHARGE: Final = 500
"""Cents under which an online charge is "small" (card testing tries cards with those)."""

FeatureKind = Literal["numeric", "categorical"]
FeatureValue = float | str | None
Features = dict[str, FeatureValue]

FEATURE_KINDS: Final[dict[str, FeatureKind]] = {
    # profile, tenure, accounts
    "tenure_days": "numeric",
    "segment": "categorical",
    "country": "categorical",
    "profile_changes_90d": "numeric",
    "accounts_open": "numeric",
    "oldest_account_days": "numeric",
    "newest_account_days": "numeric",
    "has_savings": "numeric",
    "has_credit_card": "numeric",
    "credit_facilities": "numeric",
    # balances and their volatility (daily samples at the moment's time of day)
    "checking_balance": "numeric",
    "savings_balance": "numeric",
    "liquid_balance": "numeric",
    "card_balance": "numeric",
    "loan_outstanding": "numeric",
    "liquid_balance_mean_30d": "numeric",
    "liquid_balance_std_30d": "numeric",
    "liquid_balance_min_30d": "numeric",
    "liquid_balance_std_90d": "numeric",
    "liquid_balance_change_30d": "numeric",
    "overdraft_days_30d": "numeric",
    "overdraft_days_90d": "numeric",
    "overdraft_max_30d": "numeric",
    # money in and out of the deposit accounts (transfers between them left out)
    "inflow_30d": "numeric",
    "inflow_90d": "numeric",
    "outflow_30d": "numeric",
    "outflow_90d": "numeric",
    "net_flow_30d": "numeric",
    "outflow_to_inflow_30d": "numeric",
    "largest_inflow_90d": "numeric",
    # spending
    "card_spend_7d": "numeric",
    "card_spend_30d": "numeric",
    "card_spend_count_30d": "numeric",
    "cash_withdrawal_30d": "numeric",
    "gambling_spend_90d": "numeric",
    "largest_debit_7d": "numeric",
    "largest_debit_to_mean_30d": "numeric",
    "small_online_charges_7d": "numeric",
    "foreign_transactions_30d": "numeric",
    "transactions_30d": "numeric",
    "channels_used_30d": "numeric",
    "days_since_transaction": "numeric",
    # credit bureau
    "bureau_score": "numeric",
    "bureau_delinquencies": "numeric",
    "bureau_score_change_90d": "numeric",
    "bureau_report_age_days": "numeric",
    # delinquency (credit servicing)
    "missed_payments_90d": "numeric",
    "missed_payments_365d": "numeric",
    "late_payments_365d": "numeric",
    "max_days_past_due": "numeric",
    "facilities_in_arrears": "numeric",
    "defaulted_facilities": "numeric",
    "days_since_missed_payment": "numeric",
    # loan applications
    "loan_applications_365d": "numeric",
    "loan_applied_amount_365d": "numeric",
    "loan_approvals_365d": "numeric",
    "loan_rejections_365d": "numeric",
    "days_since_loan_application": "numeric",
    # fraud signals
    "fraud_alerts_30d": "numeric",
    "fraud_alerts_90d": "numeric",
    "fraud_alerts_confirmed_365d": "numeric",
    "fraud_reports_90d": "numeric",
    "fraud_reports_365d": "numeric",
    "days_since_fraud_report": "numeric",
    # behaviour
    "logins_30d": "numeric",
    "failed_logins_30d": "numeric",
    "lockouts_90d": "numeric",
    "mobile_login_share_30d": "numeric",
    "days_since_login": "numeric",
    "known_devices": "numeric",
    "new_devices_30d": "numeric",
}
"""Every feature, in the order rows give them, with its kind."""
FEATURE_NAMES: Final = tuple(FEATURE_KINDS)


def features_as_of(facts: CustomerFacts, moment: datetime | int) -> Features:
    """The customer's features as of ``moment`` (an aware time, or epoch microseconds),
    from the facts that occurred at or before it only (see the module)."""
    at = moment if isinstance(moment, int) else to_micros(moment)
    row: Features = {}
    row.update(_profile(facts, at))
    row.update(_accounts_and_balances(facts, at))
    country = row["country"]
    row.update(_flows_and_spending(facts, at, country if isinstance(country, str) else None))
    row.update(_bureau(facts, at))
    row.update(_delinquency(facts, at))
    row.update(_loan_applications(facts, at))
    row.update(_fraud(facts, at))
    row.update(_behaviour(facts, at))
    return {name: row[name] for name in FEATURE_NAMES}


def _days(micros: int) -> float:
    return micros / DAY


def _major(cents: int | float) -> float:
    return cents / 100


def _since(times: list[int], count: int, at: int) -> float | None:
    """Days from the newest of the first ``count`` times to ``at`` (``None``: none)."""
    return None if count == 0 else _days(at - times[count - 1])


def _profile(c: CustomerFacts, at: int) -> Features:
    registered = c.registered.until(at)
    segment, country = c.segments.last(at), c.countries.last(at)
    return {
        "tenure_days": _days(at - c.registered.times[0]) if registered else None,
        "segment": (segment[1] or None) if segment else None,
        "country": (country[1] or None) if country else None,
        "profile_changes_90d": float(c.profile_changes.count(at - 90 * DAY, at)),
    }


def _kind_at(account: AccountFacts, at: int) -> str | None:
    """What an account is at ``at``: its opening's type; one not opened yet that has
    transactions is taken as a checking account; ``None``: nothing known of it yet."""
    kind = account.type_at(at)
    if kind is None and account.deltas.until(at):
        return "checking"
    return kind


def _accounts_and_balances(c: CustomerFacts, at: int) -> Features:
    checking: list[AccountFacts] = []
    liquid: list[AccountFacts] = []
    balances = {"checking": 0, "savings": 0, "card": 0, "debt": 0}
    open_count = savings = cards = facilities = 0
    opened: list[int] = []
    for account in c.accounts.values():
        kind = _kind_at(account, at)
        if kind is None:
            continue
        balance = account.balance_at(at)
        if kind in DEPOSIT_TYPES:
            liquid.append(account)
            if kind == "checking":
                checking.append(account)
                balances["checking"] += balance
            else:
                balances["savings"] += balance
        elif kind in DEBT_TYPES:
            balances["debt"] -= balance
        elif kind == "credit_card":
            balances["card"] += balance
        first = account.openings.times[0] if account.openings.until(at) else None
        if first is None or account.status_at(at) == "closed":
            continue
        opened.append(first)
        open_count += 1
        savings += kind == "savings"
        cards += kind == "credit_card"
        facilities += kind in DEBT_TYPES
    samples = [at - k * DAY for k in range(BALANCE_DAYS)]
    liquid_path = [sum(a.balance_at(s) for a in liquid) for s in samples]
    checking_path = [sum(a.balance_at(s) for a in checking) for s in samples]
    last_30 = liquid_path[:30]
    mean_30 = sum(last_30) / 30
    return {
        "accounts_open": float(open_count),
        "oldest_account_days": _days(at - min(opened)) if opened else None,
        "newest_account_days": _days(at - max(opened)) if opened else None,
        "has_savings": float(savings > 0),
        "has_credit_card": float(cards > 0),
        "credit_facilities": float(facilities),
        "checking_balance": _major(balances["checking"]),
        "savings_balance": _major(balances["savings"]),
        "liquid_balance": _major(liquid_path[0]),
        "card_balance": _major(balances["card"]),
        "loan_outstanding": _major(balances["debt"]),
        "liquid_balance_mean_30d": _major(mean_30),
        "liquid_balance_std_30d": _major(_std(last_30)),
        "liquid_balance_min_30d": _major(min(last_30)),
        "liquid_balance_std_90d": _major(_std(liquid_path)),
        "liquid_balance_change_30d": _major(liquid_path[0] - liquid_path[29]),
        "overdraft_days_30d": float(sum(b < 0 for b in checking_path[:30])),
        "overdraft_days_90d": float(sum(b < 0 for b in checking_path)),
        "overdraft_max_30d": _major(max(0, -min(checking_path[:30]))),
    }


def _std(values: list[int]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _flows_and_spending(c: CustomerFacts, at: int, home: str | None) -> Features:
    txns = c.transactions
    low, high = txns.span(at - 90 * DAY, at)
    start_30, start_7 = at - 30 * DAY, at - 7 * DAY
    deposit = {
        account_id
        for account_id, account in c.accounts.items()
        if _kind_at(account, at) in DEPOSIT_TYPES
    }
    # A transfer between two of the customer's deposit accounts is a debit and a credit of
    # the same amount at the same instant: neither side is money in or out.
    sides: dict[tuple[int, int], list[int]] = {}
    spend_7 = spend_30 = cash_30 = gambling = 0
    spend_count = count_30 = foreign = small_online = 0
    debits_30 = debit_count = largest_7 = 0
    channels: set[str] = set()
    for t, txn in zip(txns.times[low:high], txns.items[low:high], strict=True):
        if txn.account_id in deposit:
            sides.setdefault((t, txn.cents), [0, 0])[txn.credit] += 1
        if t > start_30:
            count_30 += 1
            channels.add(txn.channel)
            foreign += bool(home and txn.country and txn.country != home)
        if txn.credit:
            continue
        if txn.mcc == GAMBLING_MCC:
            gambling += txn.cents
        if t <= start_30:
            continue
        debits_30 += txn.cents
        debit_count += 1
        if t > start_7:
            largest_7 = max(largest_7, txn.cents)
            small_online += txn.channel == "ecommerce" and txn.cents < SMALL_CHARGE
        if txn.channel == "atm":
            cash_30 += txn.cents
        elif txn.card or txn.channel in CARD_CHANNELS:
            spend_30 += txn.cents
            spend_count += 1
            if t > start_7:
                spend_7 += txn.cents
    flows = {"in_30": 0, "in_90": 0, "out_30": 0, "out_90": 0}
    largest_in = 0
    for (t, amount), (debits, credits) in sides.items():
        internal = min(debits, credits)
        money_in, money_out = (credits - internal) * amount, (debits - internal) * amount
        flows["in_90"] += money_in
        flows["out_90"] += money_out
        if credits > internal:
            largest_in = max(largest_in, amount)
        if t > start_30:
            flows["in_30"] += money_in
            flows["out_30"] += money_out
    seen = txns.until(at)
    return {
        "inflow_30d": _major(flows["in_30"]),
        "inflow_90d": _major(flows["in_90"]),
        "outflow_30d": _major(flows["out_30"]),
        "outflow_90d": _major(flows["out_90"]),
        "net_flow_30d": _major(flows["in_30"] - flows["out_30"]),
        "outflow_to_inflow_30d": flows["out_30"] / flows["in_30"] if flows["in_30"] else None,
        "largest_inflow_90d": _major(largest_in),
        "card_spend_7d": _major(spend_7),
        "card_spend_30d": _major(spend_30),
        "card_spend_count_30d": float(spend_count),
        "largest_debit_7d": _major(largest_7),
        "largest_debit_to_mean_30d": largest_7 * debit_count / debits_30 if debits_30 else None,
        "small_online_charges_7d": float(small_online),
        "foreign_transactions_30d": float(foreign),
        "cash_withdrawal_30d": _major(cash_30),
        "gambling_spend_90d": _major(gambling),
        "transactions_30d": float(count_30),
        "channels_used_30d": float(len(channels)),
        "days_since_transaction": _since(txns.times, seen, at),
    }


def _bureau(c: CustomerFacts, at: int) -> Features:
    latest = c.bureau.last(at)
    if latest is None:
        return {
            "bureau_score": None,
            "bureau_delinquencies": None,
            "bureau_score_change_90d": None,
            "bureau_report_age_days": None,
        }
    reported_at, (score, delinquencies) = latest
    before = c.bureau.last(at - 90 * DAY)
    if before is None:  # the oldest report of the last 90 days
        low, _ = c.bureau.span(at - 90 * DAY, at)
        before = (c.bureau.times[low], c.bureau.items[low])
    return {
        "bureau_score": float(score),
        "bureau_delinquencies": float(delinquencies),
        "bureau_score_change_90d": float(score - before[1][0]),
        "bureau_report_age_days": _days(at - reported_at),
    }


def _delinquency(c: CustomerFacts, at: int) -> Features:
    servicing = c.servicing
    seen = servicing.until(at)
    state: dict[str, tuple[int, int]] = {}  # facility -> (time, days past due) of the newest
    defaulted: set[str] = set()
    charged_off: set[str] = set()
    missed_90 = missed_365 = late_365 = 0
    last_missed: int | None = None
    for t, fact in zip(servicing.times[:seen], servicing.items[:seen], strict=True):
        known = state.get(fact.facility_id)
        if known is None or t > known[0] or fact.days_past_due > known[1]:
            state[fact.facility_id] = (t, fact.days_past_due)
        if fact.kind == "defaulted":
            defaulted.add(fact.facility_id)
        elif fact.kind == "charged_off":
            charged_off.add(fact.facility_id)
        elif fact.kind == "missed":
            last_missed = t
            missed_365 += t > at - 365 * DAY
            missed_90 += t > at - 90 * DAY
        elif fact.kind == "paid_late":
            late_365 += t > at - 365 * DAY
    now: dict[str, int] = {}
    for facility, (t, days) in state.items():
        ageing = days > 0 and facility not in charged_off
        now[facility] = days + (at - t) // DAY if ageing else days
    in_arrears = [days for f, days in now.items() if days > 0 and f not in defaulted | charged_off]
    return {
        "missed_payments_90d": float(missed_90),
        "missed_payments_365d": float(missed_365),
        "late_payments_365d": float(late_365),
        "max_days_past_due": float(
            max((d for f, d in now.items() if f not in charged_off), default=0)
        ),
        "facilities_in_arrears": float(len(in_arrears)),
        "defaulted_facilities": float(len(defaulted | charged_off)),
        "days_since_missed_payment": None if last_missed is None else _days(at - last_missed),
    }


def _loan_applications(c: CustomerFacts, at: int) -> Features:
    year = at - 365 * DAY
    applications = approvals = rejections = 0
    amount = 0
    newest: int | None = None
    for loan in c.loans.values():
        if not loan.submitted.until(at):
            continue  # whose application it is, is known from its submission on
        first = loan.submitted.times[0]
        newest = first if newest is None else max(newest, first)
        if first > year:
            applications += 1
            amount += loan.submitted.items[0]
        decision = loan.decided.last(at)
        if decision is not None and decision[0] > year:
            approvals += decision[1] == "approved"
            rejections += decision[1] == "rejected"
    return {
        "loan_applications_365d": float(applications),
        "loan_applied_amount_365d": _major(amount),
        "loan_approvals_365d": float(approvals),
        "loan_rejections_365d": float(rejections),
        "days_since_loan_application": None if newest is None else _days(at - newest),
    }


def _fraud(c: CustomerFacts, at: int) -> Features:
    reports = c.fraud_reports
    return {
        "fraud_alerts_30d": float(c.alerts_raised.count(at - 30 * DAY, at)),
        "fraud_alerts_90d": float(c.alerts_raised.count(at - 90 * DAY, at)),
        "fraud_alerts_confirmed_365d": float(c.alerts_confirmed.count(at - 365 * DAY, at)),
        "fraud_reports_90d": float(reports.count(at - 90 * DAY, at)),
        "fraud_reports_365d": float(reports.count(at - 365 * DAY, at)),
        "days_since_fraud_report": _since(reports.times, reports.until(at), at),
    }


def _behaviour(c: CustomerFacts, at: int) -> Features:
    logins = c.logins
    low, high = logins.span(at - 90 * DAY, at)
    start_30 = at - 30 * DAY
    succeeded = failed = mobile = lockouts = 0
    for t, (outcome, channel) in zip(logins.times[low:high], logins.items[low:high], strict=True):
        if outcome == "locked":
            lockouts += 1
        if t <= start_30:
            continue
        if outcome == "succeeded":
            succeeded += 1
            mobile += channel == "mobile"
        elif outcome in ("failed", "locked"):
            failed += 1
    last_login = _newest_login(c, at)
    firsts = [t for t in c.device_first_seen.values() if t <= at]
    return {
        "logins_30d": float(succeeded),
        "failed_logins_30d": float(failed),
        "lockouts_90d": float(lockouts),
        "mobile_login_share_30d": mobile / succeeded if succeeded else None,
        "days_since_login": None if last_login is None else _days(at - last_login),
        "known_devices": float(len(firsts)),
        "new_devices_30d": float(sum(t > start_30 for t in firsts)),
    }


def _newest_login(c: CustomerFacts, at: int) -> int | None:
    """When the newest succeeded login at or before ``at`` occurred."""
    logins = c.logins
    for i in range(logins.until(at) - 1, -1, -1):
        if logins.items[i][0] == "succeeded":
            return logins.times[i]
    return None
