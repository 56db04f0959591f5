"""The features a transaction is scored on: the contract between features and rules.

The features module produces a mapping with these names; rule conditions may use only these
names, which the rule loader checks so that a typo fails when the rules load. Each feature has a
kind: counts are ints, amounts, ratios and risks are doubles, flags are bools. CEL never mixes
int and double in arithmetic, so the rule engine hands every double feature to CEL as a float.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

FeatureKind = Literal["count", "double", "flag"]


class FeatureSpec(NamedTuple):
    name: str
    kind: FeatureKind
    description: str


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("cust_txn_count_1h", "count", "customer's transactions in the last hour"),
    FeatureSpec("cust_txn_count_1d", "count", "customer's transactions in the last day"),
    FeatureSpec("cust_txn_count_7d", "count", "customer's transactions in the last 7 days"),
    FeatureSpec("cust_txn_count_30d", "count", "customer's transactions in the last 30 days"),
    FeatureSpec("cust_amount_mean_1d", "double", "customer's mean amount over the last day"),
    FeatureSpec("cust_amount_mean_7d", "double", "customer's mean amount over the last 7 days"),
    FeatureSpec("cust_amount_mean_30d", "double", "customer's mean amount over the last 30 days"),
    FeatureSpec("amount", "double", "this transaction's amount"),
    FeatureSpec("amount_to_cust_mean_30d", "double", "amount / customer's 30-day mean amount"),
    FeatureSpec("amount_zscore_30d", "double", "z-score of amount against the customer's 30 days"),
    FeatureSpec("seconds_since_prev_txn", "double", "seconds since the previous one (-1 none)"),
    FeatureSpec("is_new_device", "flag", "device never seen for this customer"),
    FeatureSpec("is_new_channel", "flag", "channel never used by this customer"),
    FeatureSpec("is_new_country", "flag", "country never seen for this customer"),
    FeatureSpec("is_night", "flag", "local time between 00:00 and 06:00"),
    FeatureSpec("is_weekend", "flag", "Saturday or Sunday"),
    FeatureSpec("is_online", "flag", "card-not-present or online banking"),
    FeatureSpec("new_device_login_24h", "flag", "login from a new device in the last 24 hours"),
    FeatureSpec("contact_change_24h", "flag", "phone, e-mail or address changed in 24 hours"),
    FeatureSpec("failed_logins_24h", "count", "failed logins in the last 24 hours"),
    FeatureSpec(
        "tiny_online_count_1h",
        "count",
        "online debits under 5.00 in the hour before (card testing)",
    ),
    FeatureSpec("cust_fraud_reports_known", "count", "fraud reports the customer has filed"),
    FeatureSpec("card_txn_count_1h", "count", "card's transactions in the last hour"),
    FeatureSpec("card_txn_count_1d", "count", "card's transactions in the last day"),
    FeatureSpec("card_txn_count_7d", "count", "card's transactions in the last 7 days"),
    FeatureSpec("card_amount_mean_7d", "double", "card's mean amount over the last 7 days"),
    FeatureSpec("card_distance_km_prev", "double", "km from the card's previous use (-1 unknown)"),
    FeatureSpec("card_speed_kmh_prev", "double", "km/h implied by that distance (-1 unknown)"),
    FeatureSpec("card_countries_1d", "count", "distinct countries the card was used in, 1 day"),
    FeatureSpec("terminal_txn_count_1d", "count", "terminal's transactions in the last day"),
    FeatureSpec("terminal_txn_count_7d", "count", "terminal's transactions in the last 7 days"),
    FeatureSpec("terminal_txn_count_30d", "count", "terminal's transactions in the last 30 days"),
    FeatureSpec("terminal_risk_1d", "double", "share of the terminal's 1-day txns gone bad"),
    FeatureSpec("terminal_risk_7d", "double", "share of the terminal's 7-day txns gone bad"),
    FeatureSpec("terminal_risk_30d", "double", "share of the terminal's 30-day txns gone bad"),
    FeatureSpec("merchant_risk_30d", "double", "share of the merchant's 30-day txns gone bad"),
    FeatureSpec("category_risk_30d", "double", "share of the category's 30-day txns gone bad"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_KINDS: dict[str, FeatureKind] = {feature.name: feature.kind for feature in FEATURES}
