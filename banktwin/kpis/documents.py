"""How the KPI aggregates are kept in the key-value state store: keys and JSON documents.

Every key starts with its partition (``0003/…``), so one partition's consumer is the only
writer of its keys and a reader scans each partition's range and adds them up.

Documents written before alerts raised per hour were kept still read: totals without
``raisedSince`` (their partition counts raises from the hour after its watermark) and alerts
as ``[severity, open]`` (not in the hourly counts). A build older than that cannot read an
alert stored as ``[severity, open, hour]``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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

_encoder = msgspec.json.Encoder(decimal_format="string")
_decode = msgspec.json.decode

TOTALS = "totals"
CUSTOMER = "customer/"
ALERT = "alert/"
EVENTS = "events/"
TRANSACTIONS = "transactions/"
HISTORY = "history/"
RAISED = "raised/"


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
        }
    )


def decode_totals(raw: bytes | None) -> Totals:
    if raw is None:
        return Totals()
    doc = _decode(raw)
    mark = None if doc["watermark"] is None else datetime.fromisoformat(doc["watermark"])
    raised_since = doc.get("raisedSince")
    if raised_since is None:  # kept before alerts raised were: counted from the next hour
        raised_since = "" if mark is None else hour_of(mark + timedelta(hours=1))
    return Totals(
        doc["customers"],
        doc["facts"],
        doc["complete"],
        doc["events"],
        doc["transactions"],
        doc["openAlerts"],
        mark,
        raised_since,
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
    """``[severity, open, hour]``, or ``[severity, open]`` while it has no raise hour (as
    stored before raise hours were kept)."""
    if a.raised_hour is None:
        return _encoder.encode([a.severity, a.open])
    return _encoder.encode([a.severity, a.open, a.raised_hour])


def decode_alert(raw: bytes) -> AlertState:
    """``[severity, open, hour]`` or ``[severity, open]``; a ``null`` severity is an alert
    settled before its raise arrived."""
    severity, is_open, *hour = _decode(raw)
    return AlertState(severity, is_open, hour[0] if hour else None)


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
