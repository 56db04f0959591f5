"""How the KPI aggregates are kept in the key-value state store: keys and JSON documents.

Every key starts with its partition (``0003/…``), so one partition's consumer is the only
writer of its keys and a reader scans each partition's range and adds them up.

Documents written before alerts raised per hour were kept still read: totals without
``raisedSince`` (their partition counts raises from the hour after its watermark) and alerts
as ``[severity, open]`` (not in the hourly counts). A build older than that cannot read an
alert stored as ``[severity, open, hour]``. Likewise, totals written before the alerts'
outcomes and the risk scores were counted read with none counted, from the hour after their
watermark (``outcomesSince``), and an alert raised by then (``[severity, open, hour]``) is
left out of the outcomes; a build older than that cannot read an alert stored as
``[severity, open, hour, verdict, verdictAt]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec

from banktwin.domain.completeness import NO_FACTS, PROFILE_FACTS, CustomerFacts
from banktwin.kpis.aggregates import (
    AlertState,
    Snapshot,
    Totals,
    TransactionKey,
    TransactionSums,
    hour_of,
)
from banktwin.kpis.outcomes import RISK_BUCKETS, RiskMark

_encoder = msgspec.json.Encoder(decimal_format="string")
_decode = msgspec.json.decode

TOTALS = "totals"
CUSTOMER = "customer/"
ALERT = "alert/"
EVENTS = "events/"
TRANSACTIONS = "transactions/"
HISTORY = "history/"
RAISED = "raised/"
RISK = "risk/"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def key(partition: int, name: str) -> str:
    """``name`` (``totals``, ``events/2026-11-30T09:41`` …) under its partition."""
    return f"{partition:04d}/{name}"


def split_key(stored: str) -> tuple[int, str]:
    """The partition and the name of a stored key."""
    partition, _, name = stored.partition("/")
    return int(partition), name


def encode_totals(t: Totals) -> bytes:
    return _encoder.encode(
        {
            "customers": t.customers,
            "facts": t.facts,
            "complete": t.complete_customers,
            "events": t.events,
            "transactions": t.transactions,
            "openAlerts": t.open_alerts,
            "watermark": t.watermark,
            "raisedSince": t.raised_since,
            "alertsRaised": t.alerts_raised,
            "outcomes": t.outcomes,
            "riskBuckets": t.risk_buckets,
            "outcomesSince": t.outcomes_since,
        }
    )


def decode_totals(raw: bytes | None) -> Totals:
    if raw is None:
        return Totals()
    doc = _decode(raw)
    mark = None if doc["watermark"] is None else datetime.fromisoformat(doc["watermark"])
    next_hour = "" if mark is None else hour_of(mark + timedelta(hours=1))
    raised_since = doc.get("raisedSince")
    if raised_since is None:  # kept before alerts raised were: counted from the next hour
        raised_since = next_hour
    outcomes_since = doc.get("outcomesSince")
    if outcomes_since is None:  # kept before outcomes and risk scores were: likewise
        outcomes_since = next_hour
    return Totals(
        doc["customers"],
        doc["facts"],
        doc["complete"],
        doc["events"],
        doc["transactions"],
        doc["openAlerts"],
        mark,
        raised_since,
        doc.get("alertsRaised", 0),
        doc.get("outcomes", {}),
        doc.get("riskBuckets", [0] * RISK_BUCKETS),
        outcomes_since,
    )


def encode_snapshot(s: Snapshot) -> bytes:
    return _encoder.encode(
        {
            "customers": s.customers,
            "facts": s.facts,
            "complete": s.complete_customers,
            "openAlerts": s.open_alerts,
        }
    )


def decode_snapshot(raw: bytes) -> Snapshot:
    doc = _decode(raw)
    return Snapshot(doc["customers"], doc["facts"], doc["complete"], doc["openAlerts"])


def encode_facts(facts: CustomerFacts) -> bytes:
    """A customer's facts: the mask alone (``13``) while no profile fact has a time, as the
    format before times were kept; ``[mask, time]`` when the five profile facts were last
    written at one time (a registration, most often); ``[mask, name, dob, email, address,
    phone]`` otherwise (times in epoch microseconds, ``null`` unknown)."""
    mask, times = facts
    if times == NO_FACTS.times:
        return str(mask).encode()
    first = times[0]
    if first is not None and times.count(first) == len(times):
        return _encoder.encode((mask, first))
    return _encoder.encode((mask, *times))


def decode_facts(raw: bytes) -> CustomerFacts:
    """Also reads a bare mask, as stored before times were kept: its times are unknown, so
    any write replaces them."""
    if not raw.startswith(b"["):
        return CustomerFacts(int(raw))
    mask, *times = _decode(raw)
    if len(times) == 1:
        times *= len(PROFILE_FACTS)
    return CustomerFacts(mask, tuple(times))


def encode_alert(a: AlertState) -> bytes:
    """``[severity, open, hour, verdict, verdictAt]`` (the verdict's time in epoch
    microseconds); an alert left out of the outcomes as stored before they were counted:
    ``[severity, open, hour]``, or ``[severity, open]`` while it has no raise hour."""
    if a.counted:
        at = None if a.verdict_at is None else _micros(a.verdict_at)
        return _encoder.encode([a.severity, a.open, a.raised_hour, a.verdict, at])
    if a.raised_hour is None:
        return _encoder.encode([a.severity, a.open])
    return _encoder.encode([a.severity, a.open, a.raised_hour])


def decode_alert(raw: bytes) -> AlertState:
    """Any of :func:`encode_alert`'s forms; a ``null`` severity is an alert settled before its
    raise arrived. A raised alert of the shorter forms was raised before outcomes were
    counted: its outcome is left out (an unraised one has counted nothing yet)."""
    severity, is_open, *rest = _decode(raw)
    if len(rest) == 3:
        hour, verdict, at = rest
        return AlertState(severity, is_open, hour, verdict, _from_micros(at))
    return AlertState(severity, is_open, rest[0] if rest else None, counted=severity is None)


def encode_risk(mark: RiskMark) -> bytes:
    """A customer's latest risk score: ``[score, scoredAt, scoreId]`` (epoch microseconds)."""
    return _encoder.encode([mark.score, _micros(mark.at), mark.score_id])


def decode_risk(raw: bytes) -> RiskMark:
    score, at, score_id = _decode(raw)
    at_time = _from_micros(at)
    assert at_time is not None
    return RiskMark(score, at_time, score_id)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_micros(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def encode_raised_counts(counts: dict[str, int]) -> bytes:
    """Alerts raised in one hour by severity: ``{"high": 2, "low": 1}``."""
    return _encoder.encode(dict(sorted(counts.items())))


def decode_raised_counts(raw: bytes | None) -> dict[str, int]:
    return {} if raw is None else dict(_decode(raw))


def encode_event_counts(counts: dict[tuple[str, str], int]) -> bytes:
    return _encoder.encode(sorted([t, s, n] for (t, s), n in counts.items()))


def decode_event_counts(raw: bytes | None) -> dict[tuple[str, str], int]:
    return {} if raw is None else {(t, s): n for t, s, n in _decode(raw)}


def encode_transaction_sums(sums: dict[TransactionKey, TransactionSums]) -> bytes:
    return _encoder.encode(sorted([*k, s.count, s.amount] for k, s in sums.items()))


def decode_transaction_sums(raw: bytes | None) -> dict[TransactionKey, TransactionSums]:
    if raw is None:
        return {}
    return {
        (c, d, cur): TransactionSums(n, Decimal(amount)) for c, d, cur, n, amount in _decode(raw)
    }
